"""Sealed-bid road trades taken through the platform's own evaluation, one at each stage after the opening:
under evaluation, in its candidate publicity with an objection answered, awarded, and under contract with
payments. Every step goes through the services the API uses (bids sealed and receipted, the opening by two
openers, the expert draw, the panel's score sheets, the report, the publicity, the objection and its reply,
the award with its letters, the contract and the payments), at past times on the demo clock, so the portal,
the OCDS releases and the transparency log show them as a member of the public would find them."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from evaluation import award, draws, experts, plans, publicity, reports, sheets
from evaluation import schemas as ev
from evaluation.panel import panel_experts
from trading.accounts import services as accounts
from trading.accounts.auth import actor_of
from trading.accounts.models import Organisation, Person
from trading.accounts.schemas import PersonCreate
from trading.context import Act
from trading.demo.ceremony import Bidder, Bidding, open_section, submit_bid
from trading.demo.passwords import shared_hashes
from trading.demo.roads import DANYANG, DESHAN, LIUYEHU, QUALITY, TAOLIN, Road
from trading.funds import contracts
from trading.funds import schemas as funds_schemas
from trading.funds import services as funds
from trading.projects.models import Project, Section

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXPERT_PASSWORD = "demo-expert-2026"

PLAN = ev.PlanIn(
    method="comprehensive",
    price_formula=ev.PriceFormulaIn(kind="average", full=Decimal(40), discount=Decimal("0.03")),
    criteria=[
        ev.CriterionIn(key="construction_plan", name="施工组织设计", max_points=Decimal(30)),
        ev.CriterionIn(key="quality_safety", name="质量安全与文明施工措施", max_points=Decimal(15)),
        ev.CriterionIn(key="project_team", name="项目管理机构", max_points=Decimal(5)),
        ev.CriterionIn(key="credit", name="企业信誉与业绩", max_points=Decimal(10), group="commercial"),
    ],
    tie_rules=["lower_price", "higher_technical"],
)
#: A procurement's plan: the price scored lowest-first, as 87号令 §55 requires of comprehensive scoring.
PROCUREMENT_PLAN = ev.PlanIn(
    method="comprehensive",
    price_formula=ev.PriceFormulaIn(kind="lowest", full=Decimal(30)),
    criteria=[
        ev.CriterionIn(key="technical_response", name="技术参数响应", max_points=Decimal(35)),
        ev.CriterionIn(key="service_plan", name="实施及售后服务方案", max_points=Decimal(20)),
        ev.CriterionIn(key="credit", name="供应商业绩与信誉", max_points=Decimal(15), group="commercial"),
    ],
    tie_rules=["lower_price", "higher_technical"],
)
#: A land tender's plan: a sale, so the higher offer scores more (高价优先), beside the development plan.
LAND_PLAN = ev.PlanIn(
    method="comprehensive",
    price_formula=ev.PriceFormulaIn(kind="highest", full=Decimal(70)),
    criteria=[
        ev.CriterionIn(key="development_plan", name="开发建设方案", max_points=Decimal(20)),
        ev.CriterionIn(key="credit", name="竞买人资信", max_points=Decimal(10), group="commercial"),
    ],
    tie_rules=["higher_technical", "earlier_submission"],
)
#: The evaluation plan each kind of trade is scored by.
PLANS = {"works": PLAN, "procurement": PROCUREMENT_PLAN, "land": LAND_PLAN}
STAGES = {"evaluating": "评标中", "publicity": "公示中", "awarded": "已定标", "contracted": "履约中"}
LEADERS = ["周志刚", "李卫东", "黄建军", "谭国庆"]


@dataclass(frozen=True)
class Trade:
    road: Road
    stage: str  # evaluating | publicity | awarded | contracted
    deadline: datetime
    #: Each bid's price, all below the road's control price; the award stays within its budget.
    prices: tuple[int, ...]
    #: Each bid's construction period, within the one the tender documents set.
    days: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.road.name


def trades(now: datetime) -> list[Trade]:
    def day(days: int) -> datetime:
        return (now - timedelta(days=days)).astimezone(SHANGHAI).replace(hour=9, minute=30, second=0, microsecond=0)

    return [
        Trade(DESHAN, "contracted", day(130), (52_380_000_00, 51_640_500_00, 53_120_000_00), (360, 340, 350)),
        Trade(DANYANG, "awarded", day(34), (18_760_000_00, 18_420_000_00, 18_990_800_00), (240, 220, 230)),
        Trade(LIUYEHU, "publicity", day(5), (27_450_000_00, 27_980_000_00, 26_880_600_00), (300, 280, 290)),
        Trade(TAOLIN, "evaluating", day(2), (9_860_000_00, 9_712_300_00, 9_945_000_00), (210, 200, 190)),
    ]


async def seed_evaluated(bidding: Bidding, staff: Person, now: datetime, make_section) -> str:  # type: ignore[no-untyped-def]
    """*make_section* is trading.demo.sealed.section: a road tender published with its committee."""
    rng = random.Random(20261121)
    sessionmaker, bidders = bidding.sessionmaker, _road_bidders(bidding)
    done = []
    for trade in trades(now):
        section_id = await make_section(bidding, staff, trade.road, trade.deadline)
        await _before_deadline(sessionmaker, staff, section_id, trade.deadline - timedelta(days=20))
        for i, (price, days) in enumerate(zip(trade.prices, trade.days, strict=True)):
            await submit_bid(
                bidding,
                bidders[i],
                section_id,
                {"total_price_fen": price, "duration_days": days, "quality": QUALITY},
                trade.deadline - timedelta(hours=30 - i),
                documents=f"施工组织设计：工期{days}日历天，质量{QUALITY}。\n",
            )
        opened = trade.deadline + timedelta(minutes=1)
        await open_section(bidding, staff, section_id, opened, opened + timedelta(minutes=4))
        at = trade.deadline + timedelta(hours=2)
        async with sessionmaker() as session:
            await draws.run(session, _act(staff, at), section_id)
            await session.commit()
        await _score(sessionmaker, rng, section_id, at + timedelta(hours=1), partial=trade.stage == "evaluating")
        if trade.stage != "evaluating":
            await _publish(sessionmaker, staff, bidders, section_id, trade, now)
        done.append(f"{trade.name}（{STAGES[trade.stage]}）")
    return "平台评标演示：" + "；".join(done)


def _road_bidders(bidding: Bidding) -> list[Bidder]:
    """The first demo bidder logins (by account), who bid for the road trades."""
    return sorted(bidding.bidders.values(), key=lambda b: b.person.id)[:4]


def _act(person: Person, at: datetime) -> Act:
    return Act(actor=actor_of(person), address="demo-seed", at=at)


#: The province's expert pool as the demo keeps it: (name, specialities, unit), each with an evaluator account
#: (expert1 … in this order). Every panel is drawn from the experts of its trade's field (trading.demo.data).
EXPERTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    *(
        (name, ("市政", "道路") if n % 3 else ("市政", "道路", "桥梁"), unit)
        for n, (name, unit) in enumerate(
            (
                ("严文斌", "中南大学"),
                ("彭立新", "长沙理工大学"),
                ("龚晓燕", "湖南省交通规划勘察设计院"),
                ("贺建平", "常德市市政设计院"),
                ("曾庆华", "湖南大学"),
                ("邓红梅", "中南大学"),
                ("罗振宇", "长沙理工大学"),
                ("石光明", "湖南省交通规划勘察设计院"),
                ("胡秀英", "常德市市政设计院"),
            ),
            start=1,
        )
    ),
    ("谭志远", ("房屋建筑",), "湖南省建筑设计院"),
    ("刘春华", ("房屋建筑",), "湖南大学"),
    ("陈立军", ("房屋建筑",), "常德市建筑设计院"),
    ("许丽萍", ("房屋建筑",), "湖南建工集团"),
    ("孙建国", ("房屋建筑",), "长沙理工大学"),
    ("何水生", ("水利",), "湖南省水利水电勘测设计研究总院"),
    ("钟卫红", ("水利",), "长沙理工大学"),
    ("杨德胜", ("水利",), "常德市水利水电勘测设计院"),
    ("熊玉梅", ("水利",), "湖南农业大学"),
    ("聂长青", ("水利",), "湖南水利水电职业技术学院"),
    ("汪敏", ("政府采购",), "湖南省政府采购中心"),
    ("苏晓东", ("政府采购",), "中南大学湘雅医院"),
    ("唐婷", ("政府采购",), "湖南师范大学"),
    ("毛建华", ("政府采购",), "国防科技大学"),
    ("范丽君", ("政府采购",), "湖南省教育装备管理中心"),
    ("廖国平", ("土地",), "湖南省国土资源规划院"),
    ("蒋红霞", ("土地",), "湖南师范大学"),
    ("黎明", ("土地",), "湖南省土地估价师协会"),
    ("袁志强", ("土地",), "常德市自然资源调查规划院"),
    ("段秋菊", ("土地",), "湖南农业大学"),
)


async def expert_pool(sessionmaker, settings, at: datetime) -> None:  # type: ignore[no-untyped-def]
    """The experts of :data:`EXPERTS`, each with an evaluator account."""
    async with sessionmaker() as session:
        people = {p.username: p for p in await session.scalars(select(Person).where(Person.username.like("expert%")))}
        admin = await session.scalar(select(Person).where(Person.username == "admin"))
        keeper = await session.scalar(select(Person).where(Person.username == "expert_keeper"))
        hashed = shared_hashes(settings)
        for n, (name, specialities, unit) in enumerate(EXPERTS, start=1):
            username = f"expert{n}"
            if username not in people:
                people[username] = await accounts.create_person(
                    session,
                    _act(admin, at),
                    PersonCreate(username=username, display_name=name, password=EXPERT_PASSWORD, roles=["evaluator"]),
                    settings,
                    hashed=hashed,
                )
            await experts.create(
                session,
                _act(keeper or admin, at),
                ev.ExpertIn(
                    name=people[username].display_name,
                    specialities=list(specialities),
                    region_code="430700",
                    organisation_name=unit,
                    person_id=people[username].id,
                ),
            )
        await session.commit()


async def _before_deadline(sessionmaker, staff: Person, section_id: int, at: datetime) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        await plans.set_plan(session, _act(staff, at), section_id, PLAN)
        await draws.commit(session, _act(staff, at), section_id, ev.DrawIn(count=5, specialities=["道路"]), 5)
        await session.commit()


async def _score(sessionmaker, rng: random.Random, section_id: int, at: datetime, *, partial: bool) -> None:  # type: ignore[no-untyped-def]
    """Each drawn expert fills in a sheet; a bidder's standing shows through every evaluator's points."""
    async with sessionmaker() as session:
        panel = await panel_experts(session, section_id)
        bids = await sheets.opened_bids(session, section_id)
        people = {
            p.id: p for p in await session.scalars(select(Person).where(Person.id.in_([e.person_id for e in panel])))
        }
    strength = {b.bid_id: rng.uniform(0.72, 0.95) for b in bids}
    for n, expert in enumerate(panel[:2] if partial else panel):
        entries = []
        for b in bids:
            scores = {}
            for c in PLAN.criteria:
                share = min(1.0, max(0.5, strength[b.bid_id] + rng.uniform(-0.06, 0.06)))
                scores[c.key] = (c.max_points * Decimal(str(share))).quantize(Decimal("0.5"))
            entries.append(ev.SheetEntryIn(bid_id=b.bid_id, qualified=True, scores=scores))
        async with sessionmaker() as session:
            await sheets.save(
                session,
                _act(people[expert.person_id], at + timedelta(minutes=40 * n)),
                section_id,
                ev.SheetIn(entries=entries, submit=True),
            )
            await session.commit()


async def _publish(sessionmaker, staff: Person, bidders, section_id: int, trade: Trade, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """The report, the candidates, an objection answered, and — when the trade is that far — the award, the
    contract and its payments."""
    report_at = trade.deadline + timedelta(days=1, hours=1)
    async with sessionmaker() as session:
        row = await reports.make(session, _act(staff, report_at), section_id)
        ranked = row.report["candidates"]
        await session.commit()
    publicity_at = report_at + timedelta(days=1)
    async with sessionmaker() as session:
        await publicity.publish_candidates(
            session,
            _act(staff, publicity_at),
            section_id,
            ev.PublicityIn(
                candidates=[
                    ev.PublicityCandidateIn(
                        bid_id=bid_id,
                        project_leader=LEADERS[i],
                        certificate=f"湘143{1_306_080_0 + bid_id:08d}",
                        qualifications="市政公用工程施工总承包一级资质，安全生产许可证有效，近五年有类似道路工程业绩",
                    )
                    for i, bid_id in enumerate(ranked)
                ]
            ),
        )
        await session.commit()
    # The third-ranked bidder objects on the first day; staff answer the next.
    objector = await _bidder_for(sessionmaker, bidders, section_id, ranked[-1])
    objected_at = publicity_at + timedelta(hours=20)
    async with sessionmaker() as session:
        objection = await publicity.file_objection(
            session,
            _act(objector, objected_at),
            section_id,
            ev.ObjectionIn(
                subject="第一中标候选人项目负责人在建项目情况",
                text="我单位认为第一中标候选人拟派项目负责人目前另有在建项目，不符合招标文件关于项目负责人的要求，请予核查。",
            ),
        )
        await session.commit()
    async with sessionmaker() as session:
        await publicity.reply_objection(
            session,
            _act(staff, objected_at + timedelta(hours=26)),
            objection.id,
            ev.ObjectionReplyIn(
                outcome="dismissed",
                reply="经向建设主管部门核实，第一中标候选人拟派项目负责人原承担项目已于本项目投标截止前竣工验收，"
                "目前无在建项目，符合招标文件要求。异议不成立，公示继续。",
            ),
        )
        await session.commit()
    if trade.stage == "publicity":
        return
    async with sessionmaker() as session:
        ends = (await publicity.publicity_view(session, section_id))["ends_at"]
    award_at = datetime.fromisoformat(ends) + timedelta(hours=2)
    async with sessionmaker() as session:
        result = await award.publish_result(session, _act(staff, award_at), section_id, ev.AwardIn())
        await session.commit()
    if trade.stage == "awarded":
        return
    signed = (award_at + timedelta(days=12)).astimezone(SHANGHAI)
    async with sessionmaker() as session:
        section = await session.get(Section, section_id)
        project = await session.get(Project, section.project_id)
        tenderer = await session.get(Organisation, project.tenderer_id)
        report = (await reports.report_of(session, section_id)).report
        winner = next(r for r in report["ranking"] if r["bid_id"] == result["winner_bid_id"])
        opened = {b.bid_id: b for b in await sheets.opened_bids(session, section_id)}
        days = int(opened[winner["bid_id"]].form["duration_days"])
        contract = await contracts.record_contract(
            session,
            _act(staff, signed + timedelta(hours=3)),
            section_id,
            funds_schemas.ContractIn(
                tenderer=funds_schemas.ContractPartyIn(name=tenderer.name, credit_code=tenderer.credit_code),
                contractor=funds_schemas.ContractPartyIn(name=winner["bidder"], credit_code=winner["credit_code"]),
                amount_fen=winner["price_fen"],
                currency="CNY",
                signed_on=signed.date(),
                term=funds_schemas.ContractTermIn(
                    starts_on=signed.date() + timedelta(days=7),
                    ends_on=signed.date() + timedelta(days=7 + days),
                    description=f"工期{days}日历天，自开工令载明的开工日期起算",
                ),
                document_sha256=hashlib.sha256(f"{trade.name} 施工合同".encode()).hexdigest(),
                performance_place=trade.road.place,
            ),
        )
        await session.commit()
        notice_id, amount = contract.notice_id, contract.amount_fen
    for days, share, milestone in (
        (10, 0.20, "预付款"),
        (60, 0.25, "第一期进度款（路基工程）"),
        (100, 0.20, "第二期进度款（排水管网）"),
    ):
        paid_on = (signed + timedelta(days=days)).date()
        if paid_on >= now.astimezone(SHANGHAI).date():
            break
        async with sessionmaker() as session:
            await funds.record_payment(
                session,
                _act(staff, datetime.combine(paid_on, datetime.min.time(), SHANGHAI) + timedelta(hours=15)),
                project.id,
                funds_schemas.PaymentIn(
                    kind="payment",
                    paid_on=paid_on,
                    amount_fen=int(amount * share),
                    currency="CNY",
                    payer=tenderer.name,
                    payee=winner["bidder"],
                    payee_credit_code=winner["credit_code"],
                    purpose=f"{trade.name}合同价款",
                    milestone=milestone,
                    evidence_sha256=hashlib.sha256(f"{trade.name} {milestone}".encode()).hexdigest(),
                    contract_notice_id=notice_id,
                ),
            )
            await session.commit()


async def _bidder_for(sessionmaker, bidders, section_id: int, bid_id: int) -> Person:  # type: ignore[no-untyped-def]
    from bidding.models import Bid

    async with sessionmaker() as session:
        bid = await session.get(Bid, bid_id)
    return next(b.person for b in bidders if b.person.organisation_id == bid.organisation_id)
