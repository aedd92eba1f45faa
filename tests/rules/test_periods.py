"""Statutory periods on timetables, and the earliest lawful deadline after a clarification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.errors import RuleViolation
from trading.rules.calendar import WorkCalendar
from trading.rules.holidays import seed_calendar
from trading.rules.periods import (
    check_clarification,
    check_timetable,
    earliest_lawful_deadline,
    local_date,
    raise_first,
    require_events,
)
from trading.rules.procedures import PROCEDURES

TZ = ZoneInfo("Asia/Shanghai")
CAL = seed_calendar()
WORKS = PROCEDURES["works_open_tender"]
GP = PROCEDURES["gp_open_tender"]
LISTING = PROCEDURES["land_listing"]


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def works_timetable(**changes: datetime) -> dict[str, datetime]:
    timetable = {
        "notice_published": at(2026, 3, 2, 8, 30),
        "documents_issued": at(2026, 3, 2),
        "documents_sale_start": at(2026, 3, 2),
        "documents_sale_end": at(2026, 3, 6, 17),
        "bid_deadline": at(2026, 3, 22),
        "opening": at(2026, 3, 22),
    }
    return timetable | changes


def codes(violations) -> list[str]:
    return [v.rule.code for v in violations]


# --- local dates --------------------------------------------------------------------------------------


def test_local_date_uses_the_centre_time_zone():
    late_utc = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)  # 01:00 on 5 March in Beijing
    assert local_date(late_utc, TZ).isoformat() == "2026-03-05"
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 3, 4, 17, 0), TZ)


# --- works: 法 §24, 条例 §16, 法 §34 --------------------------------------------------------------------


def test_a_20_day_works_tender_is_accepted():
    assert check_timetable(WORKS, works_timetable(), CAL, TZ) == []
    raise_first([])


def test_a_19_day_works_tender_is_refused_naming_law_24():
    timetable = works_timetable(bid_deadline=at(2026, 3, 21), opening=at(2026, 3, 21))
    violations = check_timetable(WORKS, timetable, CAL, TZ)
    assert codes(violations) == ["law24_documents_to_deadline"]
    assert violations[0].actual == 19
    with pytest.raises(RuleViolation) as info:
        raise_first(violations)
    err = info.value
    assert err.code == "period_too_short"
    assert err.rule == "法 §24"
    assert err.message_zh == "自招标文件发出之日起至投标截止不得少于20日（《招标投标法》第二十四条）"
    assert "Tendering and Bidding Law, Art. 24" in err.message_en
    assert err.details["rule_code"] == "law24_documents_to_deadline"
    assert err.details["actual"] == 19
    assert err.details["minimum"] == 20
    assert err.details["unit"] == "days"


def test_time_of_day_does_not_change_the_day_count():
    # Issued late on 2 March, deadline early on 22 March: still 20 days (the start day is not counted).
    timetable = works_timetable(
        documents_issued=at(2026, 3, 2, 23, 59),
        bid_deadline=at(2026, 3, 22, 0, 1),
        opening=at(2026, 3, 22, 0, 1),
    )
    assert check_timetable(WORKS, timetable, CAL, TZ) == []


def test_days_are_counted_in_beijing_time_not_utc():
    # 2 March 01:00 Beijing is 1 March in UTC; counting in UTC would wrongly give 21 days.
    issued = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
    deadline = at(2026, 3, 21)
    timetable = works_timetable(documents_issued=issued, bid_deadline=deadline, opening=deadline)
    assert codes(check_timetable(WORKS, timetable, CAL, TZ)) == ["law24_documents_to_deadline"]


def test_documents_on_sale_for_5_days_counting_both_ends():
    ok = works_timetable(documents_sale_start=at(2026, 3, 2), documents_sale_end=at(2026, 3, 6, 17))
    assert check_timetable(WORKS, ok, CAL, TZ) == []
    short = works_timetable(documents_sale_start=at(2026, 3, 2), documents_sale_end=at(2026, 3, 5, 17))
    violations = check_timetable(WORKS, short, CAL, TZ)
    assert codes(violations) == ["reg16_documents_on_sale"]
    assert violations[0].actual == 4


def test_opening_must_be_at_the_bid_deadline():
    timetable = works_timetable(opening=at(2026, 3, 22, 9, 30))
    violations = check_timetable(WORKS, timetable, CAL, TZ)
    assert codes(violations) == ["law34_opening_at_deadline"]
    with pytest.raises(RuleViolation) as info:
        raise_first(violations)
    assert info.value.rule == "法 §34"
    assert info.value.code == "events_not_simultaneous"
    assert "《招标投标法》第三十四条" in info.value.message_zh


def test_the_same_instant_in_another_offset_is_the_same_time():
    deadline = at(2026, 3, 22)
    timetable = works_timetable(bid_deadline=deadline, opening=deadline.astimezone(UTC))
    assert check_timetable(WORKS, timetable, CAL, TZ) == []


def test_an_end_before_its_start_is_refused_clearly():
    timetable = works_timetable(documents_sale_start=at(2026, 3, 10), documents_sale_end=at(2026, 3, 9))
    violations = check_timetable(WORKS, timetable, CAL, TZ)
    assert [v.kind for v in violations] == ["reversed"]
    with pytest.raises(RuleViolation) as info:
        raise_first(violations)
    assert info.value.code == "period_reversed"
    assert info.value.message_zh == "「文件获取截止」不得早于「文件获取开始」（《招标投标法实施条例》第十六条）"
    assert "must not be before" in info.value.message_en


def test_rules_with_a_missing_event_are_skipped_and_require_events_names_them():
    timetable = works_timetable()
    del timetable["opening"]
    del timetable["documents_sale_end"]
    assert check_timetable(WORKS, timetable, CAL, TZ) == []
    with pytest.raises(RuleViolation) as info:
        require_events(WORKS, timetable)
    err = info.value
    assert err.code == "timetable_incomplete"
    assert err.details["missing"] == ["documents_sale_end", "opening"]
    assert "文件获取截止" in err.message_zh and "开标" in err.message_zh
    assert "opening" in err.message_en
    require_events(WORKS, works_timetable())


def test_every_violation_is_listed_in_rule_order():
    timetable = works_timetable(
        documents_sale_end=at(2026, 3, 3), bid_deadline=at(2026, 3, 10), opening=at(2026, 3, 10, 10)
    )
    assert codes(check_timetable(WORKS, timetable, CAL, TZ)) == [
        "law24_documents_to_deadline",
        "reg16_documents_on_sale",
        "law34_opening_at_deadline",
    ]


# --- government procurement: 5 working days over a holiday week ------------------------------------------


def gp_timetable(**changes: datetime) -> dict[str, datetime]:
    timetable = {
        "notice_published": at(2026, 9, 29, 10),
        "notice_period_end": at(2026, 10, 12, 17),
        "documents_issued": at(2026, 9, 29, 10),
        "documents_sale_start": at(2026, 9, 29),
        "documents_sale_end": at(2026, 10, 12, 17),
        "bid_deadline": at(2026, 10, 20),
        "opening": at(2026, 10, 20),
    }
    return timetable | changes


def test_gp_notice_period_of_5_working_days_over_national_day():
    # Published Tue 29 Sep: 30 Sep, 8 Oct, 9 Oct, 10 Oct (make-up Saturday), 12 Oct.
    assert check_timetable(GP, gp_timetable(), CAL, TZ) == []
    short = check_timetable(GP, gp_timetable(notice_period_end=at(2026, 10, 10, 17)), CAL, TZ)
    assert codes(short) == ["mof87_16_notice_period"]
    assert short[0].actual == 4
    # Five calendar days would end on 4 October, in the middle of the holiday: 1 working day.
    naive = check_timetable(GP, gp_timetable(notice_period_end=at(2026, 10, 4, 17)), CAL, TZ)
    assert naive[0].actual == 1
    with pytest.raises(RuleViolation) as info:
        raise_first(naive)
    assert info.value.rule == "87号令 §16"
    assert info.value.details["unit"] == "working_days"


def test_gp_documents_available_5_working_days_counting_the_first_day():
    # 29 Sep, 30 Sep, 8 Oct, 9 Oct: four working days only.
    short = check_timetable(GP, gp_timetable(documents_sale_end=at(2026, 10, 9, 17)), CAL, TZ)
    assert codes(short) == ["mof87_18_documents_available"]
    assert short[0].actual == 4
    # ... and 10 Oct, a make-up Saturday, makes five.
    assert check_timetable(GP, gp_timetable(documents_sale_end=at(2026, 10, 10, 12)), CAL, TZ) == []


def test_gp_twenty_days_to_the_deadline():
    short = check_timetable(GP, gp_timetable(bid_deadline=at(2026, 10, 18), opening=at(2026, 10, 18)), CAL, TZ)
    assert codes(short) == ["gpl35_documents_to_deadline"]


def test_single_source_publicity():
    ss = PROCEDURES["gp_single_source"]
    # Published Thu 12 Feb 2026: 13 Feb, 14 Feb (make-up Saturday), 24, 25, 26 Feb.
    timetable = {"notice_published": at(2026, 2, 12, 10), "notice_period_end": at(2026, 2, 26, 17)}
    assert check_timetable(ss, timetable, CAL, TZ) == []
    timetable["notice_period_end"] = at(2026, 2, 25, 17)
    with pytest.raises(RuleViolation) as info:
        raise_first(check_timetable(ss, timetable, CAL, TZ))
    assert info.value.rule == "采购条例 §38"


def test_negotiation_three_working_days():
    neg = PROCEDURES["gp_competitive_negotiation"]
    # Issued Fri 6 Mar: 9, 10, 11 March.
    assert check_timetable(neg, {"documents_issued": at(2026, 3, 6), "bid_deadline": at(2026, 3, 11)}, CAL, TZ) == []
    short = check_timetable(neg, {"documents_issued": at(2026, 3, 6), "bid_deadline": at(2026, 3, 10)}, CAL, TZ)
    assert short[0].actual == 2
    assert short[0].rule.configurable


# --- land listing: 10 working days ----------------------------------------------------------------------


def listing_timetable(**changes: datetime) -> dict[str, datetime]:
    timetable = {
        "notice_published": at(2026, 4, 1, 10),
        "listing_start": at(2026, 4, 27),
        "listing_end": at(2026, 5, 12, 15),
    }
    return timetable | changes


def test_listing_lasts_10_working_days_over_labour_day():
    # 27–30 Apr (4), 6–8 May (3), 9 May make-up Saturday (1), 11–12 May (2).
    assert check_timetable(LISTING, listing_timetable(), CAL, TZ) == []
    short = check_timetable(LISTING, listing_timetable(listing_end=at(2026, 5, 11, 15)), CAL, TZ)
    assert codes(short) == ["mlr39_listing_period"]
    assert short[0].actual == 9


def test_land_notice_20_days_before_the_listing_starts():
    short = check_timetable(LISTING, listing_timetable(notice_published=at(2026, 4, 8, 10)), CAL, TZ)
    assert codes(short) == ["mlr39_notice_20_days"]
    assert short[0].actual == 19


def test_property_disclosure_20_working_days():
    pt = PROCEDURES["property_transfer"]
    # Published Mon 2 Mar 2026: 20 working days later is Mon 30 Mar.
    ok = {"notice_published": at(2026, 3, 2), "disclosure_end": at(2026, 3, 30, 17)}
    assert check_timetable(pt, ok, CAL, TZ) == []
    short = {"notice_published": at(2026, 3, 2), "disclosure_end": at(2026, 3, 27, 17)}
    assert check_timetable(pt, short, CAL, TZ)[0].actual == 19


# --- clarifications and the earliest lawful deadline -----------------------------------------------------


def test_earliest_lawful_deadline_keeps_the_time_of_day():
    change = at(2026, 3, 5, 14)
    assert earliest_lawful_deadline(WORKS, change, at(2026, 3, 10, 9), CAL, TZ) == at(2026, 3, 20, 9)
    assert earliest_lawful_deadline(WORKS, change, at(2026, 3, 10, 14, 30), CAL, TZ) == at(2026, 3, 20, 14, 30)


def test_earliest_lawful_deadline_rolls_onto_a_working_day():
    # 16 Sep + 15 days = 1 October, National Day: rolls to Thursday 8 October.
    result = earliest_lawful_deadline(WORKS, at(2026, 9, 16, 10), at(2026, 9, 25, 9, 30), CAL, TZ)
    assert result == at(2026, 10, 8, 9, 30)
    # 7 Mar (Sat) + 15 = 22 Mar (Sun): rolls to Monday 23 March.
    assert earliest_lawful_deadline(WORKS, at(2026, 3, 7, 10), at(2026, 3, 12), CAL, TZ) == at(2026, 3, 23)
    # 30 Jan + 15 = 14 Feb, a make-up Saturday: a working day, no roll.
    assert earliest_lawful_deadline(WORKS, at(2026, 1, 30, 10), at(2026, 2, 2), CAL, TZ) == at(2026, 2, 14)


def test_a_lawful_deadline_is_returned_unchanged():
    deadline = at(2026, 3, 25, 9)
    assert earliest_lawful_deadline(WORKS, at(2026, 3, 5, 14), deadline, CAL, TZ) is deadline
    exactly = at(2026, 3, 20, 9)
    assert earliest_lawful_deadline(WORKS, at(2026, 3, 5, 23, 59), exactly, CAL, TZ) is exactly
    no_rule = PROCEDURES["land_auction"]
    early = at(2026, 3, 6)
    assert earliest_lawful_deadline(no_rule, at(2026, 3, 5), early, CAL, TZ) is early


def test_the_change_date_is_taken_in_beijing_time():
    change = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)  # 5 March 01:00 in Beijing
    result = earliest_lawful_deadline(WORKS, change, at(2026, 3, 10, 9), CAL, TZ)
    assert result == at(2026, 3, 20, 9)
    assert result.utcoffset() == timedelta(hours=8)


def test_a_change_after_the_deadline_moves_it_too():
    assert earliest_lawful_deadline(WORKS, at(2026, 3, 12), at(2026, 3, 10), CAL, TZ) == at(2026, 3, 27)


def test_check_clarification_refuses_with_the_earliest_lawful_deadline():
    with pytest.raises(RuleViolation) as info:
        check_clarification(WORKS, at(2026, 3, 5, 14), at(2026, 3, 10, 9), CAL, TZ, affects_bids=True)
    err = info.value
    assert err.code == "deadline_must_move"
    assert err.rule == "法 §23"
    assert err.message_zh == (
        "澄清或者修改可能影响投标文件编制的，应当在投标截止时间至少15日前发出；否则应当顺延投标截止时间"
        "（《招标投标法》第二十三条、《招标投标法实施条例》第二十一条）。最早的合法截止时间：2026-03-20 09:00"
    )
    assert err.message_en.endswith("Earliest lawful deadline: 2026-03-20 09:00")
    assert err.details["earliest_lawful_deadline"] == "2026-03-20T09:00:00+08:00"


def test_check_clarification_for_procurement_names_order_87():
    with pytest.raises(RuleViolation) as info:
        check_clarification(GP, at(2026, 9, 16, 10), at(2026, 9, 25, 9, 30), CAL, TZ, affects_bids=True)
    assert info.value.rule == "87号令 §27"
    assert info.value.details["earliest_lawful_deadline"] == "2026-10-08T09:30:00+08:00"


def test_check_clarification_lets_harmless_or_timely_changes_through():
    check_clarification(WORKS, at(2026, 3, 5, 14), at(2026, 3, 10, 9), CAL, TZ, affects_bids=False)
    check_clarification(WORKS, at(2026, 3, 5, 14), at(2026, 3, 20, 9), CAL, TZ, affects_bids=True)
    check_clarification(PROCEDURES["land_listing"], at(2026, 3, 5), at(2026, 3, 6), CAL, TZ, affects_bids=True)


instants = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 11, 30), timezones=st.just(TZ))
#: The seed calendar with 2025 and 2028 declared plain, so the properties can run up to the years' edges.
WIDE = WorkCalendar(CAL.holidays, CAL.workdays, years=range(2025, 2029))


@given(instants, st.integers(min_value=-30, max_value=60))
def test_earliest_lawful_deadline_properties(change, offset_days):
    deadline = change + timedelta(days=offset_days)
    result = earliest_lawful_deadline(WORKS, change, deadline, WIDE, TZ)
    assert result >= deadline
    assert (local_date(result, TZ) - local_date(change, TZ)).days >= 15
    if result != deadline:
        assert result.astimezone(TZ).time() == deadline.astimezone(TZ).time()
        assert WIDE.is_working_day(local_date(result, TZ))
        # Nothing earlier would do: the day before is either too soon or not a working day.
        before = local_date(result, TZ) - timedelta(days=1)
        assert (before - local_date(change, TZ)).days < 15 or not WIDE.is_working_day(before)


def test_a_plain_calendar_without_holidays_still_counts_weekends():
    plain = WorkCalendar(years=[2026])
    gp = gp_timetable(notice_published=at(2026, 3, 6, 10), notice_period_end=at(2026, 3, 12, 17))
    violations = check_timetable(GP, gp, plain, TZ)
    assert "mof87_16_notice_period" in codes(violations)
