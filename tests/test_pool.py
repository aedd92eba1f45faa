"""The app's connection pool as the settings shape it (PostgreSQL; configured, never connected here)."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import BACKENDS, PG_ADMIN_URL
from trading.db import make_engine
from trading.settings import Settings

pytestmark = pytest.mark.asyncio


async def test_pool_overflow_is_a_checked_setting_the_engine_takes() -> None:
    """``pool_overflow``: 0 holds a worker to its pool (the default), -1 lets it open as many again in a burst;
    anything else below 0 is refused when the settings are read."""
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"  # never connected: the pool is only configured
    for overflow, expected in ((-1, 7), (0, 0), (3, 3)):
        engine = make_engine(Settings(database_url=url, pool_size=7, pool_overflow=overflow))
        assert engine.sync_engine.pool._max_overflow == expected  # type: ignore[attr-defined]
        await engine.dispose()
    assert Settings().pool_overflow == 0
    with pytest.raises(ValueError, match="pool_overflow"):
        Settings(pool_overflow=-2)


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL is not among the test engines")
async def test_an_old_connection_is_replaced_only_when_the_pool_is_idle(monkeypatch) -> None:
    """A connection older than MAX_CONNECTION_AGE is replaced when it is next taken after lying idle, never while
    the pool is busy: a deadline storm keeps its warm connections (SQLAlchemy's pool_recycle replaced them all at
    once, whatever the load)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from trading import db as db_module

    monkeypatch.setattr(db_module, "IDLE_PING_AFTER", 0.3)
    monkeypatch.setattr(db_module, "MAX_CONNECTION_AGE", 0.5)
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    engine = make_engine(Settings(database_url=url, pool_size=1))

    async def backend() -> int:
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()

    try:
        first = await backend()
        for _ in range(10):  # busy: taken again at once, past its age
            await asyncio.sleep(0.1)
            assert await backend() == first
        await asyncio.sleep(0.4)  # idle, and old: replaced
        second = await backend()
        assert second != first
        await asyncio.sleep(0.35)  # idle, but young: pinged and kept
        assert await backend() == second
    finally:
        await engine.dispose()
