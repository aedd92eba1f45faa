"""The clock: one source of "now" for every rule that depends on time.

In production it is the database's clock, shared by every worker; tests and reproducible demo seeds use a
fixed clock they can move.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


class Clock(Protocol):
    async def now(self, session: AsyncSession | AsyncConnection) -> datetime: ...

    def column(self, dialect: str) -> ColumnElement[Any]:
        """The clock as a column, to be read beside a query's own columns (a round trip saved) and turned into
        the time by :func:`read`."""
        ...


def read(value: datetime | str) -> datetime:
    """The time a clock column gave: a timestamp with its zone (PostgreSQL) or ISO text (SQLite's clock, a
    fixed clock's), in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.astimezone(UTC)


class DatabaseClock:
    """The database server's wall clock (``clock_timestamp()`` on PostgreSQL), in UTC."""

    async def now(self, session: AsyncSession | AsyncConnection) -> datetime:
        dialect = session.dialect if isinstance(session, AsyncConnection) else session.bind.dialect
        return read((await session.execute(select(self.column(dialect.name)))).scalar_one())

    def column(self, dialect: str) -> ColumnElement[Any]:
        if dialect == "postgresql":
            return func.clock_timestamp()
        return func.strftime("%Y-%m-%d %H:%M:%f", "now")


class FixedClock:
    """A clock that says what it is told; :meth:`advance` moves it."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    async def now(self, session: AsyncSession | AsyncConnection) -> datetime:
        return self.at

    def column(self, dialect: str) -> ColumnElement[Any]:
        return literal(self.at.isoformat())

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def clock_from_setting(value: str) -> Clock:
    if value == "system":
        return DatabaseClock()
    return FixedClock(datetime.fromisoformat(value))
