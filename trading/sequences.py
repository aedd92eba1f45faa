"""Gap-free sequence numbers that commit in order.

``next_value`` increments a counter row inside the caller's transaction. The row stays locked (PostgreSQL)
or the database stays write-locked (SQLite) until that transaction ends, so numbers become visible in the
order they were taken: a reader that has seen number n will never later find a smaller one appear. That is
what lets a crawler follow the changes feed without skipping a record committed late.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


async def next_value(session: AsyncSession, name: str) -> int:
    result = await session.execute(
        update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    )
    value = result.scalar_one_or_none()
    if value is None:
        session.add(Counter(name=name, value=1))
        await session.flush()
        return 1
    return int(value)


async def current_value(session: AsyncSession, name: str) -> int:
    value = (await session.execute(select(Counter.value).where(Counter.name == name))).scalar_one_or_none()
    return int(value or 0)
