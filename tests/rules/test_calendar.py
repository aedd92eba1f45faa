"""The working-day calendar and its 2026/2027 seed rows."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.rules.calendar import CalendarGap, WorkCalendar
from trading.rules.holidays import PROVISIONAL_2027, SEED, SEED_2026, seed_calendar

CAL = seed_calendar()
#: The seed calendar, with 2025 and 2028 declared as plain years: for the arithmetic's properties near the edges.
WIDE = WorkCalendar(CAL.holidays, CAL.workdays, years=range(2025, 2029))

dates = st.dates(min_value=date(2025, 11, 1), max_value=date(2028, 2, 1))


# --- the 2026 Spring Festival (2月15日–23日 off; 2月14日 Sat and 2月28日 Sat worked) ----------------


def test_spring_festival_2026_days_off_and_make_up_saturdays():
    assert CAL.is_working_day(date(2026, 2, 13))  # Friday before
    assert CAL.is_working_day(date(2026, 2, 14))  # Saturday, make-up working day
    for day in range(15, 24):
        assert not CAL.is_working_day(date(2026, 2, day)), day
    assert CAL.is_working_day(date(2026, 2, 24))
    assert not CAL.is_working_day(date(2026, 2, 21))  # Saturday inside the block
    assert CAL.is_working_day(date(2026, 2, 28))  # Saturday, make-up working day
    assert not CAL.is_working_day(date(2026, 3, 1))  # an ordinary Sunday


def test_working_days_across_spring_festival_count_the_make_up_saturdays():
    # Feb 14 (Sat, make-up) + Feb 24, 25, 26, 27
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 27)) == 5
    # ... and Feb 28 (Sat, make-up) too
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 27), inclusive_start=True) == 6
    # The naive count would be 10 weekdays.
    naive = sum(1 for i in range(1, 15) if (date(2026, 2, 13) + timedelta(days=i)).weekday() < 5)
    assert naive == 10


def test_add_working_days_over_spring_festival():
    assert CAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert CAL.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert CAL.add_working_days(date(2026, 2, 12), 5) == date(2026, 2, 26)


# --- the 2026 National Day (9月20日 Sun worked; 9月25–27日 中秋; 10月1–7日 off; 10月10日 Sat worked) ---


def test_national_day_2026():
    assert CAL.is_working_day(date(2026, 9, 20))  # Sunday, make-up working day
    for d in (date(2026, 9, 25), date(2026, 10, 1), date(2026, 10, 5), date(2026, 10, 7)):
        assert not CAL.is_working_day(d), d
    assert CAL.is_working_day(date(2026, 10, 8))
    assert CAL.is_working_day(date(2026, 10, 10))  # Saturday, make-up working day
    assert not CAL.is_working_day(date(2026, 10, 11))
    # Oct 8, 9, 10 (Sat, make-up), 12
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert CAL.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_a_deadline_on_a_holiday_rolls_to_the_next_working_day():
    assert CAL.next_working_day_on_or_after(date(2026, 10, 3)) == date(2026, 10, 8)
    assert CAL.next_working_day_on_or_after(date(2026, 2, 15)) == date(2026, 2, 24)
    assert CAL.next_working_day_on_or_after(date(2026, 10, 9)) == date(2026, 10, 9)
    assert CAL.next_working_day_on_or_after(date(2026, 10, 10)) == date(2026, 10, 10)  # make-up Saturday
    assert CAL.next_working_day_on_or_after(date(2026, 3, 7)) == date(2026, 3, 9)  # ordinary weekend


# --- plain weekends --------------------------------------------------------------------------------


def test_add_working_days_across_weekends():
    plain = WorkCalendar(years=[2026])
    friday = date(2026, 3, 6)
    assert plain.add_working_days(friday, 0) == friday
    assert plain.add_working_days(friday, 1) == date(2026, 3, 9)
    assert plain.add_working_days(friday, 5) == date(2026, 3, 13)
    assert plain.add_working_days(friday, 6) == date(2026, 3, 16)
    saturday = date(2026, 3, 7)
    assert plain.add_working_days(saturday, 0) == saturday  # n == 0 returns d even on a day off
    assert plain.add_working_days(saturday, 1) == date(2026, 3, 9)


def test_working_days_between_edges():
    plain = WorkCalendar(years=[2026])
    monday = date(2026, 3, 2)
    assert plain.working_days_between(monday, monday) == 0
    assert plain.working_days_between(monday, monday, inclusive_start=True) == 1
    assert plain.working_days_between(monday, monday - timedelta(days=3)) == 0
    assert plain.working_days_between(monday, date(2026, 3, 8)) == 4
    assert plain.working_days_between(monday, date(2026, 3, 8), inclusive_start=True) == 5


def test_refusals():
    with pytest.raises(ValueError, match="both"):
        WorkCalendar([date(2026, 2, 14)], [date(2026, 2, 14)])
    with pytest.raises(ValueError, match="kind"):
        WorkCalendar.from_rows([(date(2026, 1, 1), "festival")])
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 1, 5), -1)
    with pytest.raises(TypeError):
        CAL.is_working_day(datetime(2026, 1, 5, 9, 0))  # type: ignore[arg-type]


def test_from_rows_matches_constructor():
    cal = WorkCalendar.from_rows([(date(2026, 5, 1), "holiday"), (date(2026, 5, 9), "workday")])
    assert cal.holidays == frozenset({date(2026, 5, 1)})
    assert cal.workdays == frozenset({date(2026, 5, 9)})
    assert not cal.is_working_day(date(2026, 5, 1))
    assert cal.is_working_day(date(2026, 5, 9))


def test_covers_only_years_with_rows():
    assert CAL.covers(date(2026, 6, 1))
    assert CAL.covers(date(2027, 6, 1))
    assert not CAL.covers(date(2028, 6, 1))


# --- properties ------------------------------------------------------------------------------------


def _brute_force_between(cal: WorkCalendar, start: date, end: date, inclusive: bool) -> int:
    first = start if inclusive else start + timedelta(days=1)
    n, d = 0, first
    while d <= end:
        n += cal.is_working_day(d)
        d += timedelta(days=1)
    return n


@given(dates, dates, st.booleans())
def test_working_days_between_matches_a_day_by_day_count(a, b, inclusive):
    assert WIDE.working_days_between(a, b, inclusive_start=inclusive) == _brute_force_between(WIDE, a, b, inclusive)


@given(dates, st.integers(min_value=0, max_value=60))
def test_add_working_days_lands_on_the_nth_working_day(d, n):
    result = WIDE.add_working_days(d, n)
    assert WIDE.working_days_between(d, result) == n
    if n:
        assert WIDE.is_working_day(result)
        assert WIDE.working_days_between(d, result - timedelta(days=1)) == n - 1


@given(dates)
def test_next_working_day_is_the_first_one(d):
    result = WIDE.next_working_day_on_or_after(d)
    assert WIDE.is_working_day(result)
    assert WIDE.working_days_between(d, result - timedelta(days=1), inclusive_start=True) == 0


# --- a year the calendar does not hold -------------------------------------------------------------


def test_a_year_without_its_arrangement_is_refused_not_counted_as_plain_weekdays():
    """2028's 春节 falls on 26 January: counted as Monday–Friday, its working days would all be wrong."""
    with pytest.raises(CalendarGap) as caught:
        CAL.is_working_day(date(2028, 1, 26))
    assert caught.value.year == 2028 and caught.value.code == "calendar_year_missing"
    assert "2028年" in caught.value.message_zh and "2028" in caught.value.message_en
    assert caught.value.status_code == 422 and caught.value.rule == "87号令 §85"
    with pytest.raises(CalendarGap):
        CAL.working_days_between(date(2027, 12, 20), date(2028, 1, 10))  # a range reaching into it
    with pytest.raises(CalendarGap):
        CAL.add_working_days(date(2027, 12, 28), 5)  # arithmetic walking into it
    with pytest.raises(CalendarGap):
        CAL.next_working_day_on_or_after(date(2028, 2, 1))
    with pytest.raises(CalendarGap) as before:
        CAL.working_days_between(date(2025, 12, 1), date(2026, 1, 10))
    assert before.value.year == 2025
    # An empty range asks nothing of any year; a covered one answers.
    assert CAL.working_days_between(date(2028, 3, 1), date(2028, 2, 1)) == 0
    assert CAL.working_days_between(date(2027, 12, 24), date(2027, 12, 31)) == 5
    assert CAL.years == {2026, 2027}


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_every_question_outside_the_held_years_raises(d):
    if CAL.covers(d):
        CAL.is_working_day(d)
        return
    with pytest.raises(CalendarGap):
        CAL.is_working_day(d)
    with pytest.raises(CalendarGap):
        CAL.working_days_between(d, d, inclusive_start=True)


# --- seed rows -------------------------------------------------------------------------------------


def test_seed_rows_are_unique_and_well_formed():
    days = [d for d, _kind, _name in SEED]
    assert len(days) == len(set(days))
    for d, kind, name in SEED:
        assert kind in ("holiday", "workday")
        assert name
        if kind == "workday":
            assert d.weekday() >= 5, f"make-up working day {d} is not a weekend day"


def test_seed_2026_matches_the_state_council_notice():
    holidays = Counter(name for _d, kind, name in SEED_2026 if kind == "holiday")
    assert holidays == {"元旦": 3, "春节": 9, "清明节": 3, "劳动节": 5, "端午节": 3, "中秋节": 3, "国庆节": 7}
    workdays = sorted(d for d, kind, _n in SEED_2026 if kind == "workday")
    assert workdays == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]


def test_2027_is_flagged_provisional_and_errs_towards_days_off():
    assert PROVISIONAL_2027 is True
    assert not [d for d, kind, _n in SEED if d.year == 2027 and kind == "workday"]
    assert not CAL.is_working_day(date(2027, 2, 5))  # 除夕
    assert not CAL.is_working_day(date(2027, 10, 7))
