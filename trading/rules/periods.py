"""Statutory period checks on a timetable, and the earliest lawful deadline after a clarification.

Day counting: dates are local dates in the centre's time zone (Asia/Shanghai). A calendar-day
period counts ``(end_date - start_date).days`` — the start day is not counted (《民法典》第二百零一条)
— plus one when the rule counts both ends (``count="inclusive"``). A working-day period counts the
working days on the :class:`~trading.rules.calendar.WorkCalendar` in the same range. A deadline
that the platform computes and that falls on a non-working day rolls to the next working day
(87号令 §85), keeping its time of day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

from trading.errors import RuleViolation
from trading.rules.calendar import WorkCalendar
from trading.rules.procedures import EVENTS, PeriodRule, Procedure, message

ViolationKind = Literal["too_short", "too_long", "reversed", "not_same_time"]

#: Violation kind -> the RuleViolation code raise_first uses.
CODES: dict[str, str] = {
    "too_short": "period_too_short",
    "too_long": "period_too_long",
    "reversed": "period_reversed",
    "not_same_time": "events_not_simultaneous",
}


def local_date(dt: datetime, tz: ZoneInfo) -> date:
    """The calendar date of ``dt`` in ``tz``; a naive datetime is refused (it names no instant)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()}: timetable times must carry a time zone")
    return dt.astimezone(tz).date()


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    rule: PeriodRule
    start: datetime | None
    end: datetime | None
    #: days or working days measured between the two events (None for a same-time rule)
    actual: int | None
    kind: ViolationKind = "too_short"


def measure(rule: PeriodRule, start: datetime, end: datetime, calendar: WorkCalendar, tz: ZoneInfo) -> int:
    """Days or working days from ``start`` to ``end`` as ``rule`` counts them (calendar days go negative)."""
    first, last = local_date(start, tz), local_date(end, tz)
    inclusive = rule.count == "inclusive"
    if rule.unit == "days":
        return (last - first).days + (1 if inclusive else 0)
    if rule.unit == "working_days":
        return calendar.working_days_between(first, last, inclusive_start=inclusive)
    raise ValueError(f"rule {rule.code} ({rule.unit}) has no length to measure")


def _check(rule: PeriodRule, start: datetime, end: datetime, calendar: WorkCalendar, tz: ZoneInfo) -> Violation | None:
    if rule.unit == "same_time":
        if start != end:
            return Violation(rule=rule, start=start, end=end, actual=None, kind="not_same_time")
        return None
    actual = measure(rule, start, end, calendar, tz)
    if end < start:
        return Violation(rule=rule, start=start, end=end, actual=actual, kind="reversed")
    if rule.minimum is not None and actual < rule.minimum:
        return Violation(rule=rule, start=start, end=end, actual=actual, kind="too_short")
    if rule.maximum is not None and actual > rule.maximum:
        return Violation(rule=rule, start=start, end=end, actual=actual, kind="too_long")
    return None


def check_timetable(
    procedure: Procedure, timetable: Mapping[str, datetime], calendar: WorkCalendar, tz: ZoneInfo
) -> list[Violation]:
    """Every period rule of ``procedure`` that the timetable breaks, in the procedure's order.

    Only rules whose two events are both present are checked; use :func:`require_events` first to
    insist on the events a notice must carry.
    """
    return check_periods(procedure.periods, timetable, calendar, tz)


def check_periods(
    rules: Sequence[PeriodRule], timetable: Mapping[str, datetime], calendar: WorkCalendar, tz: ZoneInfo
) -> list[Violation]:
    """Every rule of ``rules`` that the timetable breaks, in order (rules missing an event are skipped)."""
    violations = []
    for rule in rules:
        start, end = timetable.get(rule.start), timetable.get(rule.end)
        if start is None or end is None:
            continue
        violation = _check(rule, start, end, calendar, tz)
        if violation is not None:
            violations.append(violation)
    return violations


def require_events(procedure: Procedure, timetable: Mapping[str, datetime | None]) -> None:
    """Refuse a timetable that lacks any event the procedure's opening notice must carry."""
    require_event_keys(procedure.required_events, timetable)


def require_event_keys(keys: Sequence[str], timetable: Mapping[str, datetime | None]) -> None:
    """Refuse a timetable that lacks any of ``keys``, naming the missing events."""
    missing = [key for key in keys if timetable.get(key) is None]
    if not missing:
        return
    names_zh = "、".join(EVENTS.get(key, (key, key))[0] for key in missing)
    names_en = ", ".join(EVENTS.get(key, (key, key))[1] for key in missing)
    raise RuleViolation(
        f"交易时间安排不完整，缺少：{names_zh}",
        f"The timetable is incomplete; missing: {names_en}",
        code="timetable_incomplete",
        details={"missing": missing},
    )


def violation_error(violation: Violation) -> RuleViolation:
    """The refusal for one violation, naming its rule and source."""
    rule = violation.rule
    if violation.kind == "reversed":
        start_zh, start_en = EVENTS.get(rule.start, (rule.start, rule.start))
        end_zh, end_en = EVENTS.get(rule.end, (rule.end, rule.end))
        zh = f"「{end_zh}」不得早于「{start_zh}」（{rule.source}）"
        en = f"The {end_en} must not be before the {start_en} ({rule.source_en})"
    else:
        zh, en = message(rule)
    return RuleViolation(
        zh,
        en,
        code=CODES[violation.kind],
        rule=rule.rule,
        details={
            "rule_code": rule.code,
            "actual": violation.actual,
            "minimum": rule.minimum,
            "maximum": rule.maximum,
            "unit": rule.unit,
            "count": rule.count,
            "start_event": rule.start,
            "end_event": rule.end,
            "start": violation.start.isoformat() if violation.start else None,
            "end": violation.end.isoformat() if violation.end else None,
            "configurable": rule.configurable,
        },
    )


def raise_first(violations: Sequence[Violation]) -> None:
    """Raise the refusal for the first violation, if any."""
    if violations:
        raise violation_error(violations[0])


def earliest_lawful_deadline(
    procedure: Procedure, change_at: datetime, deadline: datetime, calendar: WorkCalendar, tz: ZoneInfo
) -> datetime:
    """The earliest deadline at or after ``deadline`` leaving the clarification minimum after ``change_at``.

    An already-lawful deadline is returned unchanged (even if it falls on a non-working day: that
    was the tenderer's choice). Otherwise the new deadline keeps ``deadline``'s local time of day
    and is rolled onto the next working day (87号令 §85). A procedure with no clarification rule
    returns ``deadline``.
    """
    rule = procedure.clarification
    if rule is None or rule.minimum is None:
        return deadline
    if measure(rule, change_at, deadline, calendar, tz) >= rule.minimum:
        return deadline
    local_deadline = deadline.astimezone(tz)
    change_day = local_date(change_at, tz)
    day = max(local_deadline.date(), change_day)
    while _days_from(rule, change_day, day, calendar) < rule.minimum:
        day += timedelta(days=1)
    day = calendar.next_working_day_on_or_after(day)
    return datetime.combine(day, local_deadline.time(), tzinfo=tz)


def _days_from(rule: PeriodRule, first: date, last: date, calendar: WorkCalendar) -> int:
    inclusive = rule.count == "inclusive"
    if rule.unit == "working_days":
        return calendar.working_days_between(first, last, inclusive_start=inclusive)
    return (last - first).days + (1 if inclusive else 0)


def format_local(dt: datetime, tz: ZoneInfo) -> str:
    """``2026-03-20 09:00`` in the centre's time zone, as messages show a time."""
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def check_clarification(
    procedure: Procedure,
    change_at: datetime,
    deadline: datetime,
    calendar: WorkCalendar,
    tz: ZoneInfo,
    *,
    affects_bids: bool,
) -> None:
    """Refuse a change that affects bids when the deadline leaves less than the statutory minimum.

    The refusal carries the earliest lawful deadline (``details["earliest_lawful_deadline"]``, ISO 8601
    with the centre's offset) so the caller can offer it.
    """
    rule = procedure.clarification
    if not affects_bids or rule is None:
        return
    earliest = earliest_lawful_deadline(procedure, change_at, deadline, calendar, tz)
    if earliest == deadline:
        return
    zh, en = message(rule)
    shown = format_local(earliest, tz)
    raise RuleViolation(
        f"{zh}。最早的合法截止时间：{shown}",
        f"{en}. Earliest lawful deadline: {shown}",
        code="deadline_must_move",
        rule=rule.rule,
        details={
            "rule_code": rule.code,
            "earliest_lawful_deadline": earliest.astimezone(tz).isoformat(),
            "deadline": deadline.astimezone(tz).isoformat(),
            "change_at": change_at.astimezone(tz).isoformat(),
            "minimum": rule.minimum,
            "unit": rule.unit,
        },
    )
