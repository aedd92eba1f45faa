"""The clock: one source of "now" for every rule that depends on time.

In production it is the database's clock, shared by every worker; tests and reproducible demo seeds use a
fixed clock they can move.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


class Clock(Protocol):
    async def now(self, session: AsyncSession) -> datetime: ...


class DatabaseClock:
    """The database server's wall clock (``clock_timestamp()`` on PostgreSQL), in UTC."""

    async def now(self, session: AsyncSession) -> datetime:
        if session.bind.dialect.name == "postgresql":
            value = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
            return value.astimezone(UTC)
        raw = (await session.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))).scalar_one()
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)


class FixedClock:
    """A clock that says what it is told; :meth:`advance` moves it."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    async def now(self, session: AsyncSession) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def clock_from_setting(value: str) -> Clock:
    if value == "system":
        return DatabaseClock()
    return FixedClock(datetime.fromisoformat(value))
