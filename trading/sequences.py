"""Gap-free sequence numbers that commit in order.

``next_value`` increments a counter row inside the caller's transaction. The row stays locked (PostgreSQL)
or the database stays write-locked (SQLite) until that transaction ends, so numbers become visible in the
order they were taken: a reader that has seen number n will never later find a smaller one appear. That is
what lets a crawler follow the changes feed without skipping a record committed late.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


_NEXT = text(
    "INSERT INTO counters (name, value) VALUES (:name, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
)


async def next_value(session: AsyncSession, name: str) -> int:
    """Take the next number of counter *name* (starting at 1), in the caller's transaction.

    One upsert statement, the same SQL on PostgreSQL and SQLite, so even the very first use races safely.
    """
    return int((await session.execute(_NEXT, {"name": name})).scalar_one())


async def current_value(session: AsyncSession, name: str) -> int:
    value = (await session.execute(select(Counter.value).where(Counter.name == name))).scalar_one_or_none()
    return int(value or 0)
