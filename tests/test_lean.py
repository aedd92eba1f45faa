"""trading.db.Lean: a hot path's statement run straight on the driver (PostgreSQL) or through SQLAlchemy
(SQLite) behaves as SQLAlchemy would — inside the session's transaction, or on its own without one; its
errors are SQLAlchemy's; a lost connection is an outage (503), and the pool replaces it."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from trading.accounts.models import TradingCentre
from trading.db import (
    DatabaseUnreachable,
    Lean,
    is_database_outage,
    make_engine,
    make_sessionmaker,
    without_transaction,
)
from trading.settings import Settings

_CENTRES = TradingCentre.__table__
_BY_CODE = Lean(select(_CENTRES.c.id, _CENTRES.c.name).where(_CENTRES.c.code == bindparam("code")))
_INSERT = Lean(
    insert(_CENTRES)
    .values(code=bindparam("code"), name=bindparam("name"), region_code=bindparam("region_code"))
    .returning(_CENTRES.c.id)
)
# A literal in the statement (here the 1) is bound from the statement itself.
_COUNT = Lean(select(func.count().label("n")).select_from(_CENTRES).where(_CENTRES.c.id >= 1))


def _centre(code: str) -> dict[str, object]:
    return {"code": code, "name": f"中心 {code}", "region_code": "430000"}


@pytest.mark.asyncio
async def test_rows_come_back_as_mappings_of_plain_values(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            await session.execute(insert(_CENTRES), [_centre("L1")])
            await session.commit()
            conn = await session.connection()
            row = await _BY_CODE.first(conn, {"code": "L1"})
            assert row is not None and row["name"] == "中心 L1"
            assert await _BY_CODE.first(conn, {"code": "none"}) is None
            assert (await _COUNT.first(conn, {}))["n"] >= 1
            with pytest.raises((KeyError, StatementError)):  # a parameter left out is a bug, not a NULL
                await _BY_CODE.rows(conn, {})
    finally:
        await engine.dispose()


@pytest.mark.asyncio
async def test_it_runs_inside_the_sessions_transaction_and_on_its_own_without_one(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        factory = make_sessionmaker(engine)
        async with factory() as session:  # begun by the statement itself: rolled back with the session
            await _INSERT.rows(await session.connection(), _centre("T1"))
            await session.rollback()
        async with factory() as session:
            conn = await session.connection()
            await session.execute(text("SELECT 1"))
            await _INSERT.rows(conn, _centre("T2"))  # in the transaction SQLAlchemy began
            await session.rollback()
        async with factory() as session:  # autocommit: it stands alone
            await _INSERT.rows(await without_transaction(session), _centre("T3"))
            await session.rollback()
        async with factory() as session:
            codes = set(await session.scalars(select(_CENTRES.c.code).where(_CENTRES.c.code.like("T%"))))
        assert codes == {"T3"}
    finally:
        await engine.dispose()


@pytest.mark.asyncio
async def test_a_refused_statement_raises_sqlalchemys_error_without_its_values(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            conn = await session.connection()
            await _INSERT.rows(conn, _centre("U1"))
            with pytest.raises(IntegrityError) as refused:
                await _INSERT.rows(conn, _centre("U1"))
            assert not is_database_outage(refused.value)
            assert "中心 U1" not in str(refused.value)
            await session.rollback()
    finally:
        await engine.dispose()


_INSERT_MANY = Lean(
    insert(_CENTRES).values(code=bindparam("code"), name=bindparam("name"), region_code=bindparam("region_code"))
)


@pytest.mark.asyncio
async def test_a_batch_of_rows_goes_in_with_the_transaction_or_not_at_all(settings: Settings) -> None:
    engine = make_engine(settings)
    insert_many = _INSERT_MANY.copy_many
    try:
        factory = make_sessionmaker(engine)
        async with factory() as session:
            await session.execute(_CENTRES.delete().where(_CENTRES.c.code.regexp_match("^[MNR]")))
            await insert_many(await session.connection(), [_centre(f"M{i}") for i in range(50)])
            await insert_many(await session.connection(), [])  # nothing to do
            await session.commit()
        async with factory() as session:  # a duplicate anywhere in the batch: refused, and nothing of it stays
            conn = await session.connection()
            with pytest.raises(IntegrityError) as refused:
                await insert_many(conn, [_centre("N1"), _centre("N2"), _centre("M7")])
            assert "中心 M7" not in str(refused.value)
            await session.rollback()
        async with factory() as session:  # rolled back with its session
            await insert_many(await session.connection(), [_centre("R1")])
            await session.rollback()
        async with factory() as session:
            codes = set(await session.scalars(select(_CENTRES.c.code).where(_CENTRES.c.code.regexp_match("^[MNR]"))))
        assert codes == {f"M{i}" for i in range(50)}
    finally:
        await engine.dispose()


@pytest.mark.asyncio
async def test_a_lost_connection_is_an_outage_and_the_pool_replaces_it(settings: Settings, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("a connection to lose: PostgreSQL's")
    engine = make_engine(settings, pool_size=1, overflow=0)
    try:
        factory = make_sessionmaker(engine)
        killer = await asyncpg.connect(engine.url.set(drivername="postgresql").render_as_string(False))
        async with factory() as session:
            conn = await without_transaction(session)
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
            await killer.execute("SELECT pg_terminate_backend($1)", pid)
            with pytest.raises(DatabaseUnreachable) as lost:
                await _COUNT.rows(conn, {})
            assert is_database_outage(lost.value)
        await killer.close()
        async with factory() as session:  # the pool's next connection is a new one, and works
            conn = await without_transaction(session)
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
            assert (await _COUNT.first(conn, {}))["n"] >= 0
    finally:
        await engine.dispose()
