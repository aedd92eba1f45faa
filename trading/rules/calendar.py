"""The working-day calendar (工作日历): Monday to Friday, less official days off, plus make-up working days.

A period "in working days" (工作日) must be counted on this calendar, never as calendar days. The table
behind it is kept by staff (:class:`trading.rules.models.CalendarDay`); this module only does the
arithmetic, on plain dates, so the bidder's client and the server agree.

A year whose holiday arrangement has not been entered has no answer: counting its days as plain
Monday–Friday would quietly call 春节 and 国庆 working days, and let an unlawfully short period through. So
any question about a date in such a year raises :class:`CalendarGap`, which names the year.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from trading.errors import NotFound, RuleViolation

HOLIDAY = "holiday"
WORKDAY = "workday"
KINDS = (HOLIDAY, WORKDAY)

_ONE_DAY = timedelta(days=1)


def _require_date(value: object, name: str) -> date:
    # datetime is a subclass of date: passing one is almost always a forgotten local_date() call,
    # and comparing it with the calendar's dates would quietly be wrong near midnight.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a datetime.date, not {type(value).__name__}")
    return value


def _weekdays_through(d: date) -> int:
    """Number of Mondays–Fridays from a fixed epoch Monday (0001-01-01) up to and including ``d``."""
    n = d.toordinal()  # 0001-01-01 is a Monday and has ordinal 1
    weeks, rest = divmod(n, 7)
    return weeks * 5 + min(rest, 5)


class CalendarGap(RuleViolation):
    """The calendar holds no holiday arrangement for a year that a working-day question reaches."""

    code = "calendar_year_missing"

    def __init__(self, year: int) -> None:
        super().__init__(
            f"工作日历中没有{year}年的节假日安排，无法按工作日计算期限；"
            f"请管理员按国务院办公厅{year}年部分节假日安排的通知录入（PUT /api/calendar/{{日期}}）",
            f"The working-day calendar has no holiday arrangement for {year}, so no period in working days can be "
            f"counted there; an administrator must enter the State Council's {year} arrangement "
            "(PUT /api/calendar/{day})",
            rule="87号令 §85",
            details={"year": year},
        )
        self.year = year

    def as_not_found(self) -> NotFound:
        """The same message, as the answer to someone asking for the year's calendar."""
        return NotFound(self.message_zh, self.message_en, code=self.code, details=self.details)


class WorkCalendar:
    """Working days (工作日): Mon–Fri unless an official day off; Sat/Sun only if a make-up day (调休上班).

    ``holidays`` are the official days off (they may fall on any weekday; listing the weekend days
    inside a holiday block is allowed and harmless); ``workdays`` are the make-up working days.
    A date may not be both. ``years`` are the years whose arrangement the calendar holds; by default the
    years with at least one official day off (every real year has 元旦). A date outside them raises
    :class:`CalendarGap`.
    """

    __slots__ = ("_holidays", "_workdays", "_years")

    def __init__(
        self, holidays: Iterable[date] = (), workdays: Iterable[date] = (), *, years: Iterable[int] | None = None
    ) -> None:
        hol = frozenset(_require_date(d, "holiday") for d in holidays)
        work = frozenset(_require_date(d, "workday") for d in workdays)
        both = hol & work
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates listed both as holiday and as make-up workday: {listed}")
        self._holidays = hol
        self._workdays = work
        self._years = frozenset(years) if years is not None else frozenset(d.year for d in hol)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[date, str]]) -> WorkCalendar:
        """Build from ``(date, kind)`` pairs, kind ``"holiday"`` or ``"workday"`` (the staff table's rows)."""
        holidays: list[date] = []
        workdays: list[date] = []
        for day, kind in rows:
            if kind == HOLIDAY:
                holidays.append(day)
            elif kind == WORKDAY:
                workdays.append(day)
            else:
                raise ValueError(f"unknown calendar day kind {kind!r} for {day}: expected one of {KINDS}")
        return cls(holidays, workdays)

    @property
    def holidays(self) -> frozenset[date]:
        return self._holidays

    @property
    def workdays(self) -> frozenset[date]:
        return self._workdays

    @property
    def years(self) -> frozenset[int]:
        """The years whose holiday arrangement the calendar holds."""
        return self._years

    def covers(self, d: date) -> bool:
        """True when the calendar holds ``d``'s year (else working-day questions about it raise)."""
        return _require_date(d, "d").year in self._years

    def _require_covered(self, first: date, last: date) -> None:
        for year in range(first.year, last.year + 1):
            if year not in self._years:
                raise CalendarGap(year)

    def is_working_day(self, d: date) -> bool:
        _require_date(d, "d")
        self._require_covered(d, d)
        if d in self._holidays:
            return False
        if d in self._workdays:
            return True
        return d.weekday() < 5

    def next_working_day_on_or_after(self, d: date) -> date:
        """``d`` itself if it is a working day, else the first working day after it (87号令 §85 rolling)."""
        _require_date(d, "d")
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly after ``d``; ``n == 0`` returns ``d`` unchanged."""
        _require_date(d, "d")
        if n < 0:
            raise ValueError("n must be >= 0")
        while n:
            d += _ONE_DAY
            if self.is_working_day(d):
                n -= 1
        return d

    def working_days_between(self, start: date, end: date, *, inclusive_start: bool = False) -> int:
        """Working days ``d`` with ``start < d <= end`` (``start <= d <= end`` when ``inclusive_start``).

        Returns 0 when the range is empty (``end`` before ``start``). Runs in time proportional to the
        size of the table, not the length of the range.
        """
        _require_date(start, "start")
        _require_date(end, "end")
        first = start if inclusive_start else start + _ONE_DAY
        if end < first:
            return 0
        self._require_covered(first, end)
        count = _weekdays_through(end) - _weekdays_through(first - _ONE_DAY)
        for h in self._holidays:
            if first <= h <= end and h.weekday() < 5:
                count -= 1
        for w in self._workdays:
            if first <= w <= end and w.weekday() >= 5:
                count += 1
        return count

    def __repr__(self) -> str:
        years = ", ".join(str(y) for y in sorted(self._years)) or "none"
        return f"WorkCalendar({len(self._holidays)} holidays, {len(self._workdays)} make-up workdays; years {years})"
