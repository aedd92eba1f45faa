"""The seeded demo world obeys the rules the platform enforces: every contradiction between a demo trade and a rule
(a period too short, a bid over the control price, a land sale to a lower offer, a notice naming another district
or another tenderer, a payment beyond its contract, road experts on a land panel …) is listed, all of them at once.

Where the platform has the rule as code, the check calls it (the period rules, the fields a notice must carry, the
trade kinds a notice fits, the regions); the rest read what the platform published and recorded."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from evaluation.models import CandidatePublicity, EvaluationPlan
from evaluation.panel import panel_experts
from evaluation.sheets import opened_bids
from notices.kinds import NOTICE_KINDS, missing_fields
from notices.models import Notice
from notices.reads import notice_fields
from tests.demo_snapshot import seeded_demo
from trading.accounts.models import Organisation
from trading.errors import RuleViolation
from trading.funds.models import Contract, Payment
from trading.funds.services import published_fields
from trading.projects.models import Project, Section
from trading.regions import REGIONS, is_within
from trading.rules.periods import check_clarification, check_timetable, message, require_events
from trading.rules.procedures import get_procedure
from trading.rules.services import load_calendar

pytestmark = pytest.mark.asyncio

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: The expert fields fit to evaluate each kind of trade: no road experts on a land or a procurement panel.
FIELDS_OF = {
    "works": {"市政", "道路", "桥梁", "房屋建筑", "水利"},
    "procurement": {"政府采购"},
    "land": {"土地"},
}
#: The price formula each kind of trade is scored by: a purchase rewards the cheaper bid (87号令 §55 for
#: procurement), a sale of land the higher one.
FORMULA_OF = {"procurement": {"lowest"}, "land": {"highest"}, "works": {"lowest", "average"}}
#: Region names as a notice writes them: counties and cities (a county named 城区 or the like would mislead).
NAMED_REGIONS = {r.name: r.code for r in REGIONS.values() if r.level in ("city", "county")}
#: The fields of an opening notice that say where the trade is.
WHERE_FIELDS = ("project_overview", "location")
#: The field of each opening notice that names whoever puts the trade out.
CONTACT_FIELD = {"works": "tenderer_contact", "procurement": "tenderer_contact", "land": "transferor_contact"}


def regions_named(text: str) -> set[str]:
    """The codes of the regions *text* names; a county's name inside a longer name it belongs to counts once."""
    found = {code for name, code in NAMED_REGIONS.items() if name in text}
    # 津市市 contains 津市: keep only names not inside a longer one that was found.
    names = {REGIONS[c].name for c in found}
    return {c for c in found if not any(REGIONS[c].name != n and REGIONS[c].name in n for n in names)}


async def contradictions(session) -> list[str]:  # type: ignore[no-untyped-def]
    problems: list[str] = []
    calendar = await load_calendar(session)
    projects = {p.id: p for p in await session.scalars(select(Project))}
    orgs = {o.id: o for o in await session.scalars(select(Organisation))}
    sections = list(await session.scalars(select(Section)))
    sections_of: dict[int, list[Section]] = defaultdict(list)
    for s in sections:
        sections_of[s.project_id].append(s)
    notices = list(await session.scalars(select(Notice).order_by(Notice.id)))
    # (an opening record keeps its fields in its published document only)
    fields_of = {n.id: await notice_fields(session, n) for n in notices}
    published = [n for n in notices if n.status == "published"]
    opening_fields: dict[int, dict] = {}

    for n in notices:
        p = projects[n.project_id]
        where = f"{p.name} · {n.title}（公告 {n.id}）"
        kind = NOTICE_KINDS[n.kind]
        if kind.trade_kinds and p.trade_kind not in kind.trade_kinds:
            problems.append(f"{where}：「{kind.name_zh}」不适用于{p.trade_kind}交易")
        if n.region_code != p.region_code:
            problems.append(f"{where}：公告的行政区划 {n.region_code} 与项目的 {p.region_code} 不同")
        # The title names the project (a land notice may name it by its parcel).
        parcel = fields_of[n.id].get("parcel_no") or opening_fields.get(p.id, {}).get("parcel_no")
        if p.name not in n.title and not (parcel and parcel in n.title):
            problems.append(f"{where}：标题未写明项目名称「{p.name}」")
        texts = [n.title] + [str(fields_of[n.id].get(k, "")) for k in WHERE_FIELDS]
        for text in texts:
            for code in regions_named(text):
                if not is_within(p.region_code, code):
                    problems.append(
                        f"{where}：写的是{REGIONS[code].name}（{code}），项目却在{REGIONS[p.region_code].name}"
                        f"（{p.region_code}）：「{text[:60]}」"
                    )
        if n.status != "published":
            continue
        missing = missing_fields(kind, fields_of[n.id])
        if missing:
            problems.append(f"{where}：缺少必备字段 {', '.join(f.key for f in missing)}")
        if kind.opens_trade:
            opening_fields[p.id] = fields_of[n.id]
            procedure = get_procedure(p.procedure)
            timetable = {k: datetime.fromisoformat(v) for k, v in (n.timetable or {}).items()}
            timetable["notice_published"] = n.first_published_at
            try:
                require_events(procedure, timetable)
            except RuleViolation as exc:
                problems.append(f"{where}：{exc.message_zh}")
            for v in check_timetable(procedure, timetable, calendar, SHANGHAI):
                problems.append(f"{where}：{message(v.rule)[0]}（{v.kind}, {v.actual}）")
            tenderer = orgs[p.tenderer_id].name
            field = CONTACT_FIELD.get(p.trade_kind)
            named = fields_of[n.id].get(field, "") if field else fields_of[n.id].get("transferor_name", "")
            if tenderer not in str(named):
                problems.append(f"{where}：公告所列招标人/出让人「{named}」不是项目的「{tenderer}」")

    # Changes that affect bids leave the statutory time before the deadline in force (法 §23, 87号令 §27).
    for n in published:
        if n.kind != "amendment" or not fields_of[n.id].get("affects_bids"):
            continue
        p = projects[n.project_id]
        for s in sections_of[p.id]:
            if s.deadline_at is None or s.deadline_at <= n.first_published_at:
                continue
            try:
                check_clarification(
                    get_procedure(p.procedure),
                    n.first_published_at,
                    s.deadline_at,
                    calendar,
                    SHANGHAI,
                    affects_bids=True,
                )
            except RuleViolation as exc:
                problems.append(f"{p.name} · {n.title}：{exc.message_zh}")

    results: dict[int, list[dict]] = defaultdict(list)
    for p in projects.values():
        for _notice, fields in await published_fields(session, p.id, "result"):
            results[p.id].append(fields)

    for p in projects.values():
        opening = opening_fields.get(p.id, {})
        awards = [f["price_fen"] for f in results[p.id] if isinstance(f.get("price_fen"), int)]
        if p.trade_kind in ("works", "procurement"):
            ceiling = opening.get("ceiling_price_fen") or p.control_price_fen
            if p.control_price_fen and p.budget_fen and p.control_price_fen > p.budget_fen:
                problems.append(f"{p.name}：最高限价 {p.control_price_fen} 高于预算 {p.budget_fen}")
            for s in sections_of[p.id]:
                cap = s.estimated_price_fen or ceiling
                if s.estimated_price_fen and ceiling and s.estimated_price_fen > ceiling:
                    problems.append(f"{p.name}{s.name}：标段估算价高于项目最高限价")
                for bid in await opened_bids(session, s.id):
                    price = int(bid.form["total_price_fen"])
                    if cap and price > cap:
                        problems.append(f"{p.name}{s.name}：{bid.bidder}报价 {price} 高于最高投标限价 {cap}")
            for price in awards:
                if ceiling and price > ceiling:
                    problems.append(f"{p.name}：中标（成交）价 {price} 高于最高限价 {ceiling}")
            if p.budget_fen and sum(awards) > p.budget_fen:
                problems.append(f"{p.name}：中标（成交）金额合计 {sum(awards)} 超出预算 {p.budget_fen}")
        elif p.trade_kind == "land":
            floor = opening.get("starting_price_fen")
            for price in awards:
                if floor and price < floor:
                    problems.append(f"{p.name}：成交价 {price} 低于起始价 {floor}")
            for s in sections_of[p.id]:
                bids = await opened_bids(session, s.id)
                winners = [f.get("winner") for f in results[p.id]]
                if bids and winners:
                    best = max(bids, key=lambda b: int(b.form["total_price_fen"]))
                    if best.bidder not in winners:
                        problems.append(f"{p.name}：出让给了 {winners[0]}，而最高报价是 {best.bidder} 的")
        elif p.trade_kind == "property":
            floor = opening.get("listing_price_fen")
            for price in awards:
                if floor and price < floor:
                    problems.append(f"{p.name}：成交价 {price} 低于挂牌价 {floor}")

    # Contracts: with the project's tenderer, within the award, signed within 30 days of it (法 §46), and the
    # payments against each within its amount.
    contract_rows = {c.notice_id: c for c in await session.scalars(select(Contract))}
    paid: dict[int, int] = defaultdict(int)
    for pay in await session.scalars(select(Payment)):
        if pay.contract_notice_id is not None:
            paid[pay.contract_notice_id] += pay.amount_fen
    for n in published:
        if n.kind != "contract":
            continue
        p = projects[n.project_id]
        fields = fields_of[n.id]
        amount = fields.get("amount_fen")
        first = next((x for x in fields.get("parties") or [] if x.get("role") == "甲方"), {})
        if first.get("name") != orgs[p.tenderer_id].name:
            problems.append(f"{p.name} · {n.title}：合同甲方「{first.get('name')}」不是项目的招标人")
        if isinstance(amount, int) and paid[n.id] > amount:
            problems.append(f"{p.name} · {n.title}：累计支付 {paid[n.id]} 超过合同金额 {amount}")
        if (
            p.budget_fen
            and isinstance(amount, int)
            and p.trade_kind in ("works", "procurement")
            and amount > p.budget_fen
        ):
            problems.append(f"{p.name} · {n.title}：合同金额 {amount} 超出预算 {p.budget_fen}")
        row = contract_rows.get(n.id)
        if row is not None and row.late:
            problems.append(f"{p.name} · {n.title}：中标通知后超过30日才订立合同")

    # The platform's evaluations: the panel from the trade's field, the plan's price formula fit for the trade,
    # the candidates in publicity for at least three days before the award (条例 §54).
    plans = {r.section_id: r.plan for r in await session.scalars(select(EvaluationPlan))}
    for s in sections:
        p = projects[s.project_id]
        fit = FIELDS_OF.get(p.trade_kind, set())
        for expert in await panel_experts(session, s.id):
            if not fit & set(expert.specialities):
                problems.append(
                    f"{p.name}{s.name}：评标专家{expert.name}（{'、'.join(expert.specialities)}）不是本行业专家"
                )
        plan = plans.get(s.id)
        if plan and plan.get("price_formula"):
            formula = plan["price_formula"].get("kind", "lowest")
            if formula not in FORMULA_OF.get(p.trade_kind, {formula}):
                problems.append(f"{p.name}{s.name}：{p.trade_kind}交易的评标办法按「{formula}」计价格分")
    for row in await session.scalars(select(CandidatePublicity)):
        s = next(x for x in sections if x.id == row.section_id)
        p = projects[s.project_id]
        if row.ends_at - row.starts_at < timedelta(days=3):
            problems.append(f"{p.name}{s.name}：中标候选人公示不足3日")
        awarded = [
            n
            for n in published
            if n.kind == "result" and s.id in (n.section_ids or []) and n.first_published_at < row.ends_at
        ]
        if awarded:
            problems.append(f"{p.name}{s.name}：公示期未满即公告结果")
    return problems


async def test_the_demo_world_contradicts_none_of_the_platforms_rules(app, settings, clock):
    clock.set(datetime(2026, 11, 21, 3, tzinfo=UTC))
    await seeded_demo(app, settings, clock)
    async with app.state.sessionmaker() as session:
        problems = await contradictions(session)
    assert not problems, f"{len(problems)} 处与平台规则矛盾 / contradictions:\n" + "\n".join(problems)


async def test_the_checks_find_a_contradiction_planted_in_the_world(app, settings, clock):
    """The checks can fail: a road awarded above its control price in another district, named by a notice of
    another tenderer, is caught on every count."""
    clock.set(datetime(2026, 11, 21, 3, tzinfo=UTC))
    await seeded_demo(app, settings, clock)
    async with app.state.sessionmaker() as session:
        project = await session.scalar(select(Project).where(Project.name == "常德市鼎城区德山大道东延线道路工程"))
        project.control_price_fen = 39_500_000_00
        project.budget_fen = 40_000_000_00
        tender = await session.scalar(select(Notice).where(Notice.project_id == project.id, Notice.kind == "tender"))
        tender.fields = {
            **tender.fields,
            "project_overview": "位于常德市武陵区。",
            "tenderer_contact": "常德市交通运输局",
        }
        with session.no_autoflush:  # nothing planted reaches the database
            problems = await contradictions(session)
        await session.rollback()
    text = "\n".join(problems)
    assert "高于最高限价" in text and "超出预算" in text and "写的是武陵区" in text and "不是项目的" in text, text
