"""HTTP API for the rules: procedure kinds with their periods (public), and the working-day calendar."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import FromPath, JSONBody, Parameter

from trading.accounts.schemas import Strict
from trading.errors import InvalidInput, NotFound
from trading.input_checks import check_date, iso_day
from trading.rules import services
from trading.rules.calendar import CalendarGap
from trading.rules.procedures import PROCEDURES
from trading.web import DB, make_act


class CalendarDayIn(Strict):
    kind: Literal["holiday", "workday", "normal"]
    name: Annotated[str, msgspec.Meta(max_length=50)] = ""


class CalendarDayRead(msgspec.Struct):
    day: FromPath[date]
    kind: str
    name: str


class CalendarYearRead(msgspec.Struct):
    year: int
    #: Official days off listed for the year (weekend days inside a holiday block included).
    holidays: int
    #: Make-up working days (调休上班).
    workdays: int


class ProcedureController(Controller):
    path = "/api/procedures"
    tags = ["rules"]

    @get("/", operation_id="listProcedures")
    async def list_procedures(self) -> list[dict[str, Any]]:
        """Every procedure kind: states, transitions, statutory periods and their sources (public)."""
        return [msgspec.to_builtins(p) for p in PROCEDURES.values()]

    @get("/{key:str}", operation_id="getProcedure")
    async def get_procedure(self, key: FromPath[str]) -> dict[str, Any]:
        """One procedure kind (public)."""
        if key not in PROCEDURES:
            raise NotFound("交易方式不存在", "No such procedure", code="procedure_not_found")
        return msgspec.to_builtins(PROCEDURES[key])


class CalendarController(Controller):
    path = "/api/calendar"
    tags = ["rules"]

    @get("/", operation_id="listCalendarDays")
    async def list_days(
        self, db: DB, year: int | None = Parameter(default=None, ge=2000, le=2100)
    ) -> list[CalendarDayRead]:
        """Holidays and make-up working days (public); a year the calendar does not hold answers 404."""
        rows = await services.list_days(db, year)
        if year is not None and not any(r.kind == "holiday" for r in rows):
            raise CalendarGap(year).as_not_found()
        return [CalendarDayRead(day=r.day, kind=r.kind, name=r.name) for r in rows]

    @get("/years", operation_id="listCalendarYears")
    async def list_years(self, db: DB) -> list[CalendarYearRead]:
        """The years whose holiday arrangement the calendar holds (public); working days elsewhere are refused."""
        counts = await services.year_counts(db)
        return [CalendarYearRead(year=y, holidays=h, workdays=w) for y, (h, w) in sorted(counts.items()) if h]

    # (The day is taken as text and read here: a date the router cannot read, such as 2026-02-30, would
    # otherwise be a bare 404 for a page that does not exist.)
    @put("/{day:str}", operation_id="setCalendarDay")
    async def set_day(
        self,
        request: Request,
        db: DB,
        day: Annotated[str, Parameter(description="The date, e.g. 2027-02-06", schema_extra={"format": "date"})],
        data: JSONBody[CalendarDayIn],
    ) -> CalendarDayRead:
        """Mark a date as holiday, make-up working day or normal (the admin; last year to the year after next)."""
        when = _calendar_date(day)
        await services.set_day(db, await make_act(request, db), when, data.kind, data.name)
        return CalendarDayRead(day=when, kind=data.kind, name=data.name)


def _calendar_date(text: str) -> date:
    """A calendar day as written in the path: YYYY-MM-DD, a date that exists."""
    try:
        day = iso_day(text)
    except ValueError:
        raise InvalidInput(
            f"日期 {text[:40]} 无效：须为存在的日期，写作 2027-02-06 这样的形式",
            f"{text[:40]!r} is not a date: write an existing date as YYYY-MM-DD, such as 2027-02-06",
            code="invalid_date",
        ) from None
    check_date("day", day)  # (2000–2199, as every date the platform takes)
    return day
