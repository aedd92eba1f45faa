"""The demo world: deterministic, complete, realistic, and lawful by the platform's own period rules."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notices.kinds import NOTICE_KINDS, OPENING_NOTICE_FOR_TRADE_KIND, missing_fields
from trading.accounts.credit_code import is_valid_credit_code
from trading.demo.data import (
    DEADLINE_EVENT,
    PASSWORDS,
    DemoWorld,
    NoticeSpec,
    ProjectSpec,
    build_world,
    demo_calendar,
)
from trading.demo.plans import ADVANCE_KINDS
from trading.projects.trade_code import parse_trade_code
from trading.regions import REGIONS
from trading.rules.periods import check_clarification, check_timetable, require_events
from trading.rules.procedures import PROCEDURES

TZ = ZoneInfo("Asia/Shanghai")
#: The official rows where the platform has them, the demo's estimates elsewhere (what the demo seeds).
CAL = demo_calendar()
TODAY = date(2026, 3, 10)
#: Days around the long holidays (春节, 劳动节, 国庆), a year the seed calendar does not cover, and plain days.
TODAYS = (
    date(2025, 6, 16),
    date(2026, 1, 5),
    date(2026, 2, 12),
    date(2026, 3, 10),
    date(2026, 4, 30),
    date(2026, 9, 24),
    date(2026, 10, 9),
    date(2027, 1, 28),
    date(2028, 7, 3),
)
SEALED_TENDERS = {"works_open_tender", "gp_open_tender", "land_tender"}
MONEY = re.compile(r"_fen$")


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return build_world(TODAY)


def nine_oclock(today: date) -> datetime:
    return datetime(today.year, today.month, today.day, 9, tzinfo=TZ)


def notices(world: DemoWorld) -> Iterator[tuple[ProjectSpec, int, NoticeSpec]]:
    for project in world.projects:
        for index, notice in enumerate(project.notices):
            yield project, index, notice


def opening_notices(world: DemoWorld) -> Iterator[tuple[ProjectSpec, NoticeSpec]]:
    for project, _i, notice in notices(world):
        if NOTICE_KINDS[notice.kind].opens_trade:
            yield project, notice


def timetable_in_force(project: ProjectSpec) -> dict[str, datetime]:
    """The opening notice's timetable with every published amendment applied."""
    table = dict(project.notices[0].timetable)
    for notice in project.notices:
        if notice.kind == "amendment":
            table |= {k: datetime.fromisoformat(v) for k, v in notice.changes.get("timetable", {}).items()}
    return table


# --- determinism ----------------------------------------------------------------------------------


def test_same_day_and_seed_give_the_same_world(world: DemoWorld) -> None:
    again = build_world(TODAY)
    assert again == world
    assert msgspec.json.encode(again) == msgspec.json.encode(world)


def test_another_seed_gives_another_world(world: DemoWorld) -> None:
    other = build_world(TODAY, seed=7)
    assert other != world
    assert len(other.projects) == len(world.projects)


def test_a_later_today_moves_the_dates_with_it(world: DemoWorld) -> None:
    later_day = TODAY + timedelta(days=28)
    later = build_world(later_day)
    assert [p.procedure for p in later.projects] == [p.procedure for p in world.projects]
    first = [p.notices[0].at for p in world.projects]
    moved = [p.notices[0].at for p in later.projects]
    shifts = sorted((b - a).days for a, b in zip(first, moved, strict=True))
    assert shifts[len(shifts) // 2] in range(24, 33)  # the typical trade moved by about four weeks
    assert max(n.at for _p, _i, n in notices(later)) <= nine_oclock(later_day)
    assert max(n.at for _p, _i, n in notices(later)) > max(n.at for _p, _i, n in notices(world))


# --- what is in it ------------------------------------------------------------------------------------


def test_counts_kinds_and_procedures(world: DemoWorld) -> None:
    all_notices = [n for _p, _i, n in notices(world)]
    assert len(world.projects) >= 90
    assert len(all_notices) >= 230
    # (replies to objections come only from trades the platform evaluates itself: trading/demo/evaluated.py; the
    # notices before a tender from trading/demo/plans.py; no demo opening has a disputed bid to rule on)
    assert {n.kind for n in all_notices} == set(NOTICE_KINDS) - {"objection_reply", "dispute_ruling", *ADVANCE_KINDS}
    assert {p.procedure for p in world.projects} == set(PROCEDURES)
    assert {p.trade_kind for p in world.projects} == {"works", "procurement", "land", "property"}
    titles = [n.title for n in all_notices]
    assert sum("道路" in t for t in titles) >= 10
    assert sum("学校" in t for t in titles) >= 5
    assert sum("道路" in p.name for p in world.projects) >= 10
    drafts = [n for n in all_notices if n.action == "draft"]
    assert 5 <= len(drafts) <= 12


def test_stages_cover_the_life_of_a_trade(world: DemoWorld) -> None:
    now = nine_oclock(world.today)
    upcoming = []
    for project in world.projects:
        opening = project.notices[0]
        deadline = timetable_in_force(project)[DEADLINE_EVENT[project.procedure]]
        kinds = {n.kind for n in project.notices}
        if opening.action == "publish" and now < deadline <= now + timedelta(days=30) and "termination" not in kinds:
            upcoming.append(project)
    assert len(upcoming) >= len(world.projects) * 15 // 100
    kinds_per_project = [Counter(n.kind for n in p.notices) for p in world.projects]
    assert sum(1 for k in kinds_per_project if k["amendment"]) >= 7
    assert sum(1 for k in kinds_per_project if k["termination"]) >= 6
    finished = [k for k in kinds_per_project if k["contract"]]
    assert len(finished) >= 35
    assert sum(1 for k in finished if k["candidate_publicity"]) >= 15


def test_older_trades_carry_their_later_notices_in_order(world: DemoWorld) -> None:
    order = ("opening_record", "candidate_publicity", "result", "contract")
    for project in world.projects:
        deadline = timetable_in_force(project)[DEADLINE_EVENT[project.procedure]]
        for section in project.sections:
            mine = [n for n in project.notices if n.section_codes == (section.code,) and n.kind in order]
            kinds = [n.kind for n in mine]
            assert kinds == sorted(kinds, key=order.index)
            assert all(n.at > deadline for n in mine)
            if "opening_record" in kinds:
                assert project.procedure in SEALED_TENDERS
            for n in mine:
                if n.kind == "candidate_publicity":
                    start = datetime.fromisoformat(n.fields["publicity_start"])
                    end = datetime.fromisoformat(n.fields["publicity_end"])
                    assert end - start >= timedelta(days=3)
                    assert len(n.fields["candidates"]) <= 3
                if n.kind == "contract":
                    result = next(r for r in mine if r.kind == "result")
                    signed = datetime.fromisoformat(n.fields["signed_on"])
                    assert result.at < signed <= n.at
                    assert signed - result.at <= timedelta(days=30)
                    assert n.fields["amount_fen"] == result.fields["price_fen"]
                if n.kind == "result" and project.trade_kind in ("works", "procurement"):
                    assert n.fields["price_fen"] <= (project.control_price_fen or 0)


def test_failed_tenders_and_terminations(world: DemoWorld) -> None:
    outcomes = Counter()
    for project, _i, notice in notices(world):
        if notice.kind != "termination":
            continue
        outcome = notice.fields["outcome"]
        outcomes[outcome] += 1
        procedure = PROCEDURES[project.procedure]
        act = "fail" if outcome == "failed" else "terminate"
        assert any(t.act == act for t in procedure.transitions)
        deadline = timetable_in_force(project)[DEADLINE_EVENT[project.procedure]]
        if outcome == "failed":
            assert notice.at > deadline
            assert not any(n.kind == "opening_record" for n in project.notices)
        assert notice is project.notices[-1]
    assert set(outcomes) == {"failed", "terminated"}


# --- every notice is complete and well-formed ----------------------------------------------------------


def test_every_notice_has_its_required_fields(world: DemoWorld) -> None:
    for project, _i, notice in notices(world):
        kind = NOTICE_KINDS[notice.kind]
        assert not kind.trade_kinds or project.trade_kind in kind.trade_kinds, (project.name, notice.kind)
        assert missing_fields(kind, notice.fields) == [], (project.name, notice.kind)
        for spec in kind.fields:
            value = notice.fields.get(spec.key)
            if value is None:
                continue
            if spec.type == "money":
                assert type(value) is int and value >= 0, (notice.kind, spec.key)
            elif spec.type == "bool":
                assert type(value) is bool, (notice.kind, spec.key)
            elif spec.type == "datetime":
                assert datetime.fromisoformat(value).utcoffset() == timedelta(hours=8)
            elif spec.type == "int":
                assert type(value) is int
            elif spec.type == "list":
                assert isinstance(value, list) and value
            elif spec.type == "text":
                assert isinstance(value, str) and value.strip()
        for key, value in notice.fields.items():
            if MONEY.search(key):
                assert type(value) is int


def test_opening_notices_fit_their_trade(world: DemoWorld) -> None:
    for project in world.projects:
        first = project.notices[0]
        assert first.kind == OPENING_NOTICE_FOR_TRADE_KIND[project.trade_kind]
        assert [n.kind for n in project.notices].count(first.kind) == 1
        assert PROCEDURES[project.procedure].trade_kind == project.trade_kind


def test_titles_bodies_and_sections(world: DemoWorld) -> None:
    for project, _i, notice in notices(world):
        assert 4 <= len(notice.title) <= 300
        assert 400 <= len(notice.body) <= 1500, (notice.title, len(notice.body))
        assert set(notice.section_codes) <= {s.code for s in project.sections}
        assert notice.section_codes
    for project in world.projects:
        codes = [s.code for s in project.sections]
        assert codes == [f"{i:02d}" for i in range(1, len(codes) + 1)]
        assert all(1 <= len(s.name) <= 200 for s in project.sections)
        tender = project.notices[0]
        if tender.kind == "tender":
            for heading in ("一、招标条件", "二、项目概况与招标范围", "三、投标人资格要求", "四、招标文件的获取"):
                assert heading in tender.body
            for heading in ("五、投标文件的递交", "六、发布公告的媒介", "七、联系方式"):
                assert heading in tender.body
    assert len({p.name for p in world.projects}) == len(world.projects)


def test_notices_are_in_time_order_and_none_is_in_the_future(world: DemoWorld) -> None:
    now = nine_oclock(world.today)
    for project in world.projects:
        times = [n.at for n in project.notices]
        assert times == sorted(times) and len(set(times)) == len(times)
        for index, notice in enumerate(project.notices):
            assert notice.at.utcoffset() == timedelta(0)
            assert notice.at <= now
            assert notice.action in ("publish", "draft")
            if notice.action == "draft":
                assert len(project.notices) == 1
            if NOTICE_KINDS[notice.kind].targets_notice:
                assert notice.target is not None and notice.target < index
                assert NOTICE_KINDS[project.notices[notice.target].kind].opens_trade
            else:
                assert notice.target is None
            for value in notice.timetable.values():
                assert value.utcoffset() == timedelta(0)


def test_amendments_carry_their_changes(world: DemoWorld) -> None:
    affecting = moved = 0
    for project, _i, notice in notices(world):
        if notice.kind != "amendment":
            continue
        assert notice.changes == notice.fields["changes"]
        assert set(notice.changes) <= {"timetable", "fields"} and notice.changes
        target = project.notices[notice.target]
        for key in notice.changes.get("fields", {}):
            assert key in target.fields
        for key, value in notice.changes.get("timetable", {}).items():
            assert key in target.timetable
            assert datetime.fromisoformat(value).utcoffset() == timedelta(hours=8)
        affecting += notice.fields["affects_bids"]
        moved += "timetable" in notice.changes
    assert affecting >= 4
    assert moved >= 3


# --- the statutory periods ------------------------------------------------------------------------------


def check_periods(project: ProjectSpec) -> None:
    """The rules engine accepts the timetable, and the demo keeps the brief's extra margins."""
    procedure = PROCEDURES[project.procedure]
    notice = project.notices[0]
    at, table = notice.at, notice.timetable
    require_events(procedure, table)
    assert check_timetable(procedure, {**table, "notice_published": at}, CAL, TZ) == [], project.name
    deadline = table[DEADLINE_EVENT[project.procedure]]
    assert deadline > at
    if "documents_issued" in table:
        assert table["documents_issued"] == at
    p = project.procedure
    if p in SEALED_TENDERS:
        assert table["bid_deadline"] - at >= timedelta(days=25)
        assert table["opening"] == table["bid_deadline"]
        assert table["documents_sale_start"] == at
        assert table["documents_sale_end"] - at >= timedelta(days=14)
        assert table["documents_sale_end"] < table["bid_deadline"]
    if p == "gp_open_tender":
        assert table["notice_period_end"] - at >= timedelta(days=14)
    if p in ("gp_competitive_negotiation", "gp_request_for_quotation"):
        assert table["bid_deadline"] - at >= timedelta(days=10)
    if p == "gp_competitive_consultation":
        assert table["bid_deadline"] - at >= timedelta(days=14)
    if p == "gp_single_source":
        assert table["notice_period_end"] - at >= timedelta(days=14)
    for key in ("listing_start", "auction_start", "bid_deadline"):
        if project.trade_kind == "land" and key in table:
            assert table[key] - at >= timedelta(days=25)
    if "listing_end" in table:
        assert table["listing_end"] - table["listing_start"] >= timedelta(days=21)
    if p == "property_transfer":
        assert table["disclosure_end"] - at >= timedelta(days=35)
    for key in ("bid_deadline", "opening", "listing_start", "listing_end", "auction_start", "disclosure_end"):
        if key in table:
            local = table[key].astimezone(TZ)
            assert (local.hour, local.minute) in ((9, 0), (9, 30)), (project.name, key)
            assert local.weekday() < 5 and CAL.is_working_day(local.date()), (project.name, key)


def check_amendments(project: ProjectSpec) -> None:
    procedure = PROCEDURES[project.procedure]
    table = dict(project.notices[0].timetable) | {"notice_published": project.notices[0].at}
    for notice in project.notices[1:]:
        if notice.kind != "amendment":
            continue
        changed = {k: datetime.fromisoformat(v) for k, v in notice.changes.get("timetable", {}).items()}
        table |= changed
        assert check_timetable(procedure, table, CAL, TZ) == []
        deadline = table[DEADLINE_EVENT[project.procedure]]
        assert notice.at < deadline
        if notice.fields["affects_bids"]:
            assert deadline - notice.at >= timedelta(days=16)
            check_clarification(procedure, notice.at, deadline, CAL, TZ, affects_bids=True)
        else:
            assert not changed


@pytest.mark.parametrize("today", TODAYS, ids=str)
def test_timetables_keep_the_statutory_periods(today: date) -> None:
    world = build_world(today)
    now = nine_oclock(today)
    for project in world.projects:
        check_periods(project)
        check_amendments(project)
        assert all(n.at <= now for n in project.notices)


@settings(max_examples=15, deadline=None)
@given(today=st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 12, 31)), seed=st.integers(0, 10_000))
def test_any_day_and_seed_gives_a_lawful_world(today: date, seed: int) -> None:
    world = build_world(today, seed)
    assert len(world.projects) >= 90
    for project in world.projects:
        check_periods(project)
        check_amendments(project)
    # The other checks hold for any world, not just the fixture's.
    test_notices_are_in_time_order_and_none_is_in_the_future(world)
    test_every_notice_has_its_required_fields(world)
    test_titles_bodies_and_sections(world)
    test_older_trades_carry_their_later_notices_in_order(world)
    test_money_adds_up(world)
    test_organisations(world)
    test_trade_codes(world)


# --- money ------------------------------------------------------------------------------------------------


def test_money_adds_up(world: DemoWorld) -> None:
    for project in world.projects:
        if project.trade_kind in ("works", "procurement"):
            assert project.budget_fen and project.control_price_fen
            assert sum(f.amount_fen for f in project.funding) == project.budget_fen
            assert project.control_price_fen <= project.budget_fen
            assert sum(s.estimated_price_fen or 0 for s in project.sections) == project.control_price_fen
            assert all(
                f.kind in ("fiscal", "special_bond", "self_raised", "bank_loan", "other") for f in project.funding
            )
            assert all(f.amount_fen > 0 and f.description for f in project.funding)
        else:
            assert project.funding == () and project.budget_fen is None


def test_amounts_are_realistic(world: DemoWorld) -> None:
    wan = 1_000_000  # fen in 1万元
    for project in world.projects:
        control = project.control_price_fen or 0
        if project.trade_kind == "works" and "道路" in project.name and "学校" not in project.name:
            assert 300 * wan <= control <= 8_000 * wan, project.name
        if project.trade_kind == "works" and "学校" in project.name:
            assert 1_000 * wan <= control <= 12_000 * wan, project.name
        if project.trade_kind == "procurement" and "设备" in project.name:
            assert 50 * wan <= (project.budget_fen or 0) <= 800 * wan, project.name
        if project.trade_kind == "land":
            fields = project.notices[0].fields
            assert 2_000 * wan <= fields["starting_price_fen"] <= 50_000 * wan
            assert fields["deposit_fen"] < fields["starting_price_fen"]
            assert 1.0 <= fields["plot_ratio_min"] < fields["plot_ratio_max"] <= 2.5
            tenure = {"城镇住宅用地": 70, "商服用地": 40, "工业用地": 50}[fields["land_use"]]
            assert fields["tenure_years"] == tenure
            assert re.fullmatch(r"\w+国土[挂拍招]〔20\d\d〕\d+号", fields["parcel_no"])
            assert fields["area_m2"] > 0


# --- organisations, people, places, codes ------------------------------------------------------------------


def test_organisations(world: DemoWorld) -> None:
    keys = [o.key for o in world.organisations]
    assert len(keys) == len(set(keys))
    codes = [o.credit_code for o in world.organisations]
    assert len(codes) == len(set(codes))
    for org in world.organisations:
        assert is_valid_credit_code(org.credit_code), org.name
        assert org.credit_code[2:8] == org.region_code
        assert org.region_code in REGIONS
        assert org.kinds and set(org.kinds) <= {"tenderer", "agent", "bidder", "transferor"}
        assert org.address and org.contact_name and org.contact_phone
    bidders = [o for o in world.organisations if "bidder" in o.kinds]
    assert len(bidders) >= 40
    by_key = {o.key: o for o in world.organisations}
    for project in world.projects:
        assert project.tenderer_key in by_key
        assert project.agent_key is None or "agent" in by_key[project.agent_key].kinds
    names = {o.name for o in world.organisations}
    assert {"常德市交通运输局", "湖南省人民医院", "澧县自来水公司"} <= names


def test_places_and_centres(world: DemoWorld) -> None:
    centres = {c.code: c for c in world.centres}
    assert {c.region_code for c in world.centres} >= {"430000", "430100", "430700", "431200"}
    assert len(world.centres) >= 6
    for project in world.projects:
        assert re.fullmatch(r"\d{6}", project.region_code) and project.region_code in REGIONS
        centre = centres[project.centre_code]
        assert centre.region_code == "430000" or project.region_code[:4] == centre.region_code[:4]
    regions = Counter(p.region_code[:4] for p in world.projects)
    assert regions["4307"] >= 30  # 常德 carries the demo
    assert {"4301", "4312"} <= set(regions)


def test_trade_codes(world: DemoWorld) -> None:
    codes = [p.trade_code for p in world.projects]
    assert len(codes) == len(set(codes))
    for project in world.projects:
        code = parse_trade_code(project.trade_code)
        assert code.region_code == project.region_code
        assert code.trade_kind == project.trade_kind
        assert code.year == project.notices[0].at.astimezone(TZ).year


def test_people(world: DemoWorld) -> None:
    usernames = [p.username for p in world.people]
    assert len(usernames) == len(set(usernames))
    centres = {c.code for c in world.centres}
    orgs = {o.key: o for o in world.organisations}
    roles = Counter(r for p in world.people for r in p.roles)
    assert roles["admin"] == 1
    assert roles["staff"] == 2 * len(centres)
    assert roles["opener"] == 3 and roles["evaluator"] == 5 and roles["supervisor"] >= 1
    assert roles["bidder"] >= 10
    for person in world.people:
        assert re.fullmatch(r"[a-z0-9_.-]{3,64}", person.username)
        assert len(person.password) >= 10 and person.password in PASSWORDS.values()
        assert re.search(r"[\u4e00-\u9fff]", person.display_name)
        if {"staff", "supervisor"} & set(person.roles):
            assert person.centre_code in centres
        if "bidder" in person.roles:
            assert person.org_key is not None and "bidder" in orgs[person.org_key].kinds
    assert any(p.username == "cd_staff1" for p in world.people)


@pytest.mark.parametrize(
    ("term", "kw", "starts", "ends"),
    [
        # N days from commencement (the working day after signing: 1–5 May are holidays) end on the Nth day.
        ("480日历天（自开工令载明的开工日期起算）", {"days": 480}, date(2026, 5, 6), date(2027, 8, 28)),
        # N years end the day before the anniversary, however many leap days lie between.
        ("70年（自交付土地之日起算）", {"years": 70}, date(2026, 5, 6), date(2096, 5, 5)),
        ("一年", {}, date(2026, 5, 6), date(2027, 5, 5)),
        ("三年，合同一年一签，考核合格后续签", {}, date(2026, 5, 6), date(2029, 5, 5)),
        # "Within N days after signing" counts from the signing day.
        ("合同签订后240日内提交经审查通过的成果", {}, date(2026, 4, 30), date(2026, 12, 26)),
        # A term that ends with an event the contract cannot date.
        ("自产权交易合同生效之日起至股权变更登记完成之日止", {}, date(2026, 5, 6), date(2026, 8, 3)),
    ],
)
def test_a_demo_contracts_term_runs_the_dates_its_words_say(term, kw, starts, ends):
    from trading.demo.data import _term_dates

    assert _term_dates(term, date(2026, 4, 30), **kw) == (starts, ends)
