"""Seed rows for the working-day calendar: official days off and make-up working days for 2026 and 2027.

These rows seed the staff-editable table (:class:`trading.rules.models.CalendarDay`); after seeding,
the table, not this module, is the truth.

2026 — from 《国务院办公厅关于2026年部分节假日安排的通知》, dated 4 November 2025 (published by
Xinhua the same day and on www.gov.cn, zhengce/content/202511/content_7047090.htm):

- 元旦: 1月1日（周四）至3日（周六）放假调休，共3天；1月4日（周日）上班。
- 春节: 2月15日（腊月二十八、周日）至23日（正月初七、周一）放假调休，共9天；
  2月14日（周六）、2月28日（周六）上班。
- 清明节: 4月4日（周六）至6日（周一）放假，共3天。
- 劳动节: 5月1日（周五）至5日（周二）放假调休，共5天；5月9日（周六）上班。
- 端午节: 6月19日（周五）至21日（周日）放假，共3天。
- 中秋节: 9月25日（周五）至27日（周日）放假，共3天。
- 国庆节: 10月1日（周四）至7日（周三）放假调休，共7天；9月20日（周日）、10月10日（周六）上班。

2027 — PROVISIONAL. No State Council notice for 2027 could be found when this table was written.
**Staff must correct these rows when 《国务院办公厅关于2027年部分节假日安排的通知》 is published.**
The rows are derived from 《全国年节及纪念日放假办法》 as amended in November 2024 (元旦 1 day;
春节 4 days from 除夕; 清明 1; 劳动节 2; 端午 1; 中秋 1; 国庆 3; a holiday falling on a Saturday or
Sunday is made up on a following working day) and from the pattern the notices follow since then
(春节 8 days from 除夕, 劳动节 5 days, 国庆 7 days from 1 October, the other festivals joined to the
weekend). The 2027 lunar dates (除夕 2月5日 Fri, 清明 4月5日 Mon, 端午 6月9日 Wed, 中秋 9月15日 Wed)
were checked with a lunar-calendar library.

The provisional rows deliberately list **no make-up working days**: the notice will add some
weekend days as working days (likely candidates: one or two weekend days around 2月5日–12日 for
春节, 5月8日 Sat for 劳动节, 9月26日 Sun and 10月9日 Sat for 国庆, by analogy with 2021 and 2026),
but guessing one wrongly would count a real day off as a working day and could let an unlawfully
short period through. Leaving them out can only make a period look shorter than it is, never longer.
"""

from __future__ import annotations

from datetime import date, timedelta

from trading.rules.calendar import HOLIDAY, WORKDAY, WorkCalendar

#: True while the 2027 rows are derived rather than copied from the State Council notice.
PROVISIONAL_2027 = True


def _block(first: date, last: date, name: str) -> tuple[tuple[date, str, str], ...]:
    days = (last - first).days + 1
    return tuple((first + timedelta(days=i), HOLIDAY, name) for i in range(days))


def _workday(d: date, name: str) -> tuple[tuple[date, str, str], ...]:
    return ((d, WORKDAY, name),)


SEED_2026: tuple[tuple[date, str, str], ...] = (
    *_block(date(2026, 1, 1), date(2026, 1, 3), "元旦"),
    *_workday(date(2026, 1, 4), "元旦"),
    *_workday(date(2026, 2, 14), "春节"),
    *_block(date(2026, 2, 15), date(2026, 2, 23), "春节"),
    *_workday(date(2026, 2, 28), "春节"),
    *_block(date(2026, 4, 4), date(2026, 4, 6), "清明节"),
    *_block(date(2026, 5, 1), date(2026, 5, 5), "劳动节"),
    *_workday(date(2026, 5, 9), "劳动节"),
    *_block(date(2026, 6, 19), date(2026, 6, 21), "端午节"),
    *_workday(date(2026, 9, 20), "国庆节"),
    *_block(date(2026, 9, 25), date(2026, 9, 27), "中秋节"),
    *_block(date(2026, 10, 1), date(2026, 10, 7), "国庆节"),
    *_workday(date(2026, 10, 10), "国庆节"),
)

SEED_2027_PROVISIONAL: tuple[tuple[date, str, str], ...] = (
    *_block(date(2027, 1, 1), date(2027, 1, 3), "元旦"),
    *_block(date(2027, 2, 5), date(2027, 2, 12), "春节"),
    *_block(date(2027, 4, 3), date(2027, 4, 5), "清明节"),
    *_block(date(2027, 5, 1), date(2027, 5, 5), "劳动节"),
    *_block(date(2027, 6, 9), date(2027, 6, 9), "端午节"),
    *_block(date(2027, 9, 15), date(2027, 9, 15), "中秋节"),
    *_block(date(2027, 10, 1), date(2027, 10, 7), "国庆节"),
)

#: (date, kind "holiday" | "workday", festival name) — every official day off, weekend days inside
#: a holiday block included, and every make-up working day.
SEED: tuple[tuple[date, str, str], ...] = SEED_2026 + SEED_2027_PROVISIONAL


def seed_calendar() -> WorkCalendar:
    """The calendar the seed rows describe (for tests and for a platform whose table is still empty)."""
    return WorkCalendar.from_rows((day, kind) for day, kind, _name in SEED)
