"""trading.db.warm_pool: a server worker opens its pool at startup and prepares and plans the deadline storm's
statements on every connection — writing nothing — so that the first storm after a restart meets it warm."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.bidding.harness import make_bidder, open_section, seal, submit_file, table_counts
from tests.factories import build_world
from trading import db as db_module
from trading.db import WARM_RUNS, make_engine, warm_pool
from trading.settings import Settings

pytestmark = pytest.mark.asyncio

#: PostgreSQL's own view of a session's prepared statements, with how often each was planned afresh (custom) and
#: how often it ran on the plan kept (generic).
_PREPARED = text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")


async def test_each_connection_has_the_storms_statements_planned_and_nothing_is_written(
    app, client, clock, settings: Settings, tmp_path, backend
) -> None:
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1)
    assert (await submit_file(client, bidder, section, seal(section, bidder, tmp_path / "a"))).status_code == 201
    counts = await table_counts(app)
    hot = [lean for lean in db_module._HOT]
    assert len(hot) >= 4  # the token, the bidder and the section read, the acceptance (with and without inline)

    engine = make_engine(settings, pool_size=3)
    try:
        warmed = await warm_pool(engine)
        if backend == "sqlite":
            assert warmed == 0  # no pool of prepared statements to warm
            return
        assert warmed == 3
        assert await table_counts(app) == counts  # the placeholders named no row: nothing written

        # Each of the three connections — taken at once, so three different ones — has each statement prepared,
        # run WARM_RUNS times, and past its first five (custom) plans.
        connections = [await engine.connect() for _ in range(3)]
        try:
            backends = set()
            for conn in connections:
                backends.add((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                prepared = {r.statement: r for r in await conn.execute(_PREPARED)}
                for lean in hot:
                    assert lean._sql in prepared, lean._sql[:80]
                    row = prepared[lean._sql]
                    assert row.generic_plans + row.custom_plans >= WARM_RUNS
                    assert row.custom_plans <= 5
            assert len(backends) == 3
        finally:
            for conn in connections:
                await conn.close()
    finally:
        await engine.dispose()

    # A bid after the warming goes through as before (the app's own pool, which the placeholders never touched).
    other = await make_bidder(app, client, clock.at, 2)
    assert (await submit_file(client, other, section, seal(section, other, tmp_path / "b"))).status_code == 201


async def test_a_database_that_cannot_be_reached_leaves_the_worker_to_start_cold(monkeypatch) -> None:
    """The warming is bounded: with no database to reach, it gives up and the worker starts (its requests are
    answered 503 until the database is back, as without it)."""
    monkeypatch.setattr(db_module, "WARM_TIMEOUT", 5.0)
    engine = make_engine(Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=2))
    try:
        assert await warm_pool(engine) == 0
    finally:
        await engine.dispose()
