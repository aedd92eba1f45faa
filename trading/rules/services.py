"""The working-day calendar in the database: loading it for the rules, and the admin keeping it (it feeds
every centre's statutory periods, so no centre's staff may change it)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from trading.audit.services import record
from trading.context import Act
from trading.errors import InvalidInput
from trading.rules.calendar import WorkCalendar
from trading.rules.models import CalendarDay


async def load_calendar(session: AsyncSession) -> WorkCalendar:
    rows = (await session.execute(select(CalendarDay.day, CalendarDay.kind))).all()
    return WorkCalendar.from_rows([(r.day, r.kind) for r in rows])


async def year_counts(session: AsyncSession) -> dict[int, tuple[int, int]]:
    """For each year with rows: (official days off, make-up working days)."""
    counts: dict[int, list[int]] = {}
    for day, kind in (await session.execute(select(CalendarDay.day, CalendarDay.kind))).all():
        counts.setdefault(day.year, [0, 0])[0 if kind == "holiday" else 1] += 1
    return {year: (h, w) for year, (h, w) in counts.items()}


async def list_days(session: AsyncSession, year: int | None) -> list[CalendarDay]:
    query = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        query = query.where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
    return list(await session.scalars(query))


async def set_day(session: AsyncSession, act: Act, day: date, kind: str, name: str) -> CalendarDay | None:
    """Mark *day* as a holiday, a make-up working day, or (kind "normal") back to the weekday rule."""
    this_year = act.at.year
    if not this_year - 1 <= day.year <= this_year + 2:
        raise InvalidInput(
            f"工作日历只能维护 {this_year - 1}—{this_year + 2} 年的日期",
            f"The calendar can be kept for {this_year - 1} to {this_year + 2} only",
            code="calendar_day_out_of_range",
            details={"earliest_year": this_year - 1, "latest_year": this_year + 2},
        )
    if kind not in ("holiday", "workday", "normal"):
        raise InvalidInput(
            "日期类型应为 holiday、workday 或 normal",
            "kind must be holiday, workday or normal",
            code="bad_calendar_kind",
        )
    row = await session.get(CalendarDay, day)
    before = {"day": day.isoformat(), "kind": row.kind, "name": row.name} if row else None
    if kind == "normal":
        if row is not None:
            await session.delete(row)
        after = None
        result = None
    else:
        if row is None:
            row = CalendarDay(day=day, kind=kind, name=name)
            session.add(row)
        row.kind, row.name = kind, name
        row.updated_at = act.at
        row.updated_by = act.actor.person_id if act.actor else None
        after = {"day": day.isoformat(), "kind": kind, "name": name}
        result = row
    await session.flush()
    await record(
        session,
        actor=act.actor,
        address=act.address,
        at=act.at,
        action="calendar.set",
        subject_type="calendar_day",
        subject_id=day.isoformat(),
        before=before,
        after=after,
    )
    return result
