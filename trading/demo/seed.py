"""Write the demo world (trading.demo.data) into a database through the platform's own services.

Every notice goes through the same drafting and publishing path as a real one — the statutory periods are
checked, versions and audit entries are written — with the clock set to the moment the notice was
published. Seeding is deterministic for a given day, and does nothing if the database already holds data.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.progress import Progress
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notices import services as notice_services
from notices.kinds import NOTICE_KINDS
from notices.models import Notice
from notices.schemas import NoticeDraftCreate
from trading.accounts import schemas as acc
from trading.accounts.auth import actor_of
from trading.accounts.models import Organisation, Person
from trading.accounts.services import create_centre, create_organisation, create_person
from trading.clock import Clock, clock_from_setting
from trading.context import Act
from trading.db import make_engine, make_sessionmaker
from trading.demo import documents, history
from trading.demo.ceremony import Bidding, name_committee, prepare
from trading.demo.data import (
    ESTIMATED,
    PASSWORDS,
    DemoWorld,
    NoticeSpec,
    PersonSpec,
    ProjectSpec,
    build_world,
    demo_people,
    estimated_days_off,
)
from trading.demo.evaluated import expert_pool
from trading.demo.passwords import shared_hashes
from trading.demo.payments import seed_payments
from trading.demo.plans import seed_plans
from trading.demo.sealed import seed_sealed
from trading.funds import contracts
from trading.funds.schemas import ContractIn, ContractPartyIn, ContractTermIn
from trading.projects.models import Section
from trading.projects.schemas import FundingSourceIn, ProjectCreate, SectionIn
from trading.projects.services import create_project
from trading.rules.services import load_calendar, set_day
from trading.settings import Settings

DEMO_NOTE = """
湖南省公共资源交易平台（演示）已启动 / The demo portal is running:

    {url}

演示账号 / demo sign-ins (portal /login, or POST /api/tokens for an API token):
{logins}
按 Ctrl+C 停止 / press Ctrl+C to stop.
"""

_ROLE_LABELS = {
    "admin": "系统管理员 admin",
    "staff": "常德市交易中心工作人员 staff",
    "supervisor": "监督人员 supervisor（监督预警 /supervision，审计记录 /audit）",
    "opener": "开标人 opener",
    "evaluator": "评标专家 evaluator",
    "bidder": "投标人 bidder",
    "expert_keeper": "专家库管理员 expert_keeper（省评标专家库）",
}


def demo_logins() -> str:
    """One sign-in per role (the 常德 centre's staff and supervisor), for the demo banner."""
    lines, seen = [], set()
    for p in demo_people():
        role = p.roles[0]
        if role in seen or (role in ("staff", "supervisor") and p.centre_code != "CD"):
            continue
        seen.add(role)
        lines.append(f"    {p.username + ' / ' + p.password:<48} {_ROLE_LABELS.get(role, role)}")
    return "\n".join(lines) + "\n"


SHANGHAI = ZoneInfo("Asia/Shanghai")
#: The procedures whose bids are sealed and opened in a ceremony with a published opening record.
SEALED_TENDERS = ("works_open_tender", "gp_open_tender", "land_tender")


async def seed_demo(settings: Settings, *, clock: Clock | None = None) -> str:
    """Seed the demo world unless the database already holds notices; returns a one-line summary.

    The world is built around the platform clock's "now" (*clock*, else the one the settings name), read
    once: the notices, the sealed sections' deadlines and the payments all take that one moment, so a
    fixed clock seeds the same world on any day the seed runs."""
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            existing = await session.scalar(select(func.count()).select_from(Notice))
            if existing:
                return f"数据库已有 {existing} 条公告，跳过演示数据 / database already holds {existing} notices"
            now = await (clock or clock_from_setting(settings.clock)).now(session)
        world = build_world(now.astimezone(SHANGHAI).date())
        estimated = await _fill_calendar_gaps(make_sessionmaker(engine), world, now)
        key_dir = Path(settings.blob_dir).parent / "demo-openers"
        counts, bidding = await _write(make_sessionmaker(engine), world, settings, now, key_dir)
        paid = await seed_payments(make_sessionmaker(engine), now.astimezone(SHANGHAI).date())
        sealed = await seed_sealed(bidding, now, key_dir)
        planned = await seed_plans(bidding, now)
    finally:
        await engine.dispose()
    warning = ""
    if estimated:
        years = "、".join(str(y) for y in estimated)
        warning = (
            f"\n注意：工作日历中没有 {years} 年的国务院节假日安排，演示已填入估算的放假日期（名称带“{ESTIMATED}”），"
            f"正式使用前须由管理员按国务院办公厅通知改正。\n"
            f"Note: the working-day calendar held no State Council arrangement for {years}; the demo entered "
            "estimated days off (named …演示估算), which an administrator must correct from the official notice."
        )
    return (
        f"已写入演示数据 / seeded: {counts['projects']} 个项目, "
        f"{counts['published']} 条已发布公告, {counts['drafts']} 份草稿, {paid} 笔支付\n{planned}\n{sealed}{warning}"
    )


async def _fill_calendar_gaps(sessionmaker, world: DemoWorld, now: datetime) -> list[int]:  # type: ignore[no-untyped-def]
    """Give each year the demo's trades reach, and the platform's calendar lacks, the demo's estimate of its
    days off (every working-day period in such a year is refused otherwise). Returns the years filled."""
    moments = [now] + [moment for p in world.projects for n in p.notices for moment in (n.at, *n.timetable.values())]
    first = min(moments).astimezone(SHANGHAI).date()
    last = (max(moments) + timedelta(days=60)).astimezone(SHANGHAI).date()  # evaluation and award periods
    async with sessionmaker() as session:
        calendar = await load_calendar(session)
        missing = [y for y in range(first.year, last.year + 1) if y not in calendar.years]
        act = Act(actor=None, address="demo-seed", at=now)
        for year in missing:
            for day, kind, name in estimated_days_off(year):
                await set_day(session, act, day, kind, name)
        await session.commit()
    return missing


def bidder_accounts(world: DemoWorld) -> list[PersonSpec]:
    """A bidder account for each organisation that bids in the world's sealed tenders and has none: every bid is
    sealed and handed in by a person of its bidder."""
    have = {p.org_key for p in world.people}
    keys = sorted(
        {
            row["bidder_key"]
            for p in world.projects
            for n in p.notices
            if n.kind == "opening_record"
            for row in n.fields["bids"]
        }
        - have
    )
    contacts = {o.key: o.contact_name for o in world.organisations}
    return [
        PersonSpec(
            username="bidder_" + key.replace("-", "_"),
            display_name=contacts[key],
            roles=("bidder",),
            org_key=key,
            password=PASSWORDS["bidder"],
        )
        for key in keys
    ]


async def _write(  # type: ignore[no-untyped-def]
    sessionmaker, world: DemoWorld, settings: Settings, now: datetime, key_dir: Path
) -> tuple[dict[str, int], Bidding]:
    first_at = min(n.at for p in world.projects for n in p.notices)
    setup = Act(actor=None, address="demo-seed", at=first_at)
    async with sessionmaker() as session:
        centres = {}
        for c in world.centres:
            centre = await create_centre(
                session, setup, acc.CentreCreate(code=c.code, name=c.name, region_code=c.region_code)
            )
            centres[c.code] = centre.id
        orgs = {}
        for o in world.organisations:
            org = await create_organisation(
                session,
                setup,
                acc.OrganisationCreate(
                    name=o.name,
                    credit_code=o.credit_code,
                    kinds=list(o.kinds),
                    region_code=o.region_code,
                    address=o.address,
                    contact_name=o.contact_name,
                    contact_phone=o.contact_phone,
                ),
            )
            orgs[o.key] = org.id
        staff_by_centre: dict[str, Person] = {}
        hashed = shared_hashes(settings)
        for p in (*world.people, *bidder_accounts(world)):
            person = await create_person(
                session,
                setup,
                acc.PersonCreate(
                    username=p.username,
                    display_name=p.display_name,
                    password=p.password,
                    roles=list(p.roles),
                    centre_id=centres.get(p.centre_code) if p.centre_code else None,
                    organisation_id=orgs.get(p.org_key) if p.org_key else None,
                ),
                settings,
                hashed=hashed,
            )
            if "staff" in p.roles and p.centre_code and p.centre_code not in staff_by_centre:
                staff_by_centre[p.centre_code] = person
        await session.commit()
    # The keys and the experts are in place before the first trade: openers and bidders register their keys,
    # the expert pool is filled.
    bidding = await prepare(sessionmaker, settings, now, first_at, key_dir)
    await expert_pool(sessionmaker, settings, first_at)
    contacts = {o.key: o.contact_name for o in world.organisations}

    counts = {"projects": 0, "published": 0, "drafts": 0}
    tz = ZoneInfo(settings.time_zone)
    with Progress(transient=True) as progress:
        task = progress.add_task("写入演示项目 / seeding projects", total=len(world.projects))
        for spec in sorted(world.projects, key=lambda p: p.notices[0].at):
            async with sessionmaker() as session:
                staff = staff_by_centre[spec.centre_code]
                await _write_project(session, spec, staff, orgs, tz, counts, bidding, contacts)
                await session.commit()
            counts["projects"] += 1
            progress.advance(task)
    return counts, bidding


async def _write_project(
    session: AsyncSession,
    spec: ProjectSpec,
    staff: Person,
    orgs: dict[str, int],
    tz: ZoneInfo,
    counts: dict[str, int],
    bidding: Bidding,
    contacts: dict[str, str],
) -> None:
    actor = actor_of(staff)
    created_at = spec.notices[0].at
    project = await create_project(
        session,
        Act(actor=actor, address="demo-seed", at=created_at),
        ProjectCreate(
            name=spec.name,
            trade_kind=spec.trade_kind,
            procedure=spec.procedure,  # type: ignore[arg-type]
            region_code=spec.region_code,
            tenderer_id=orgs[spec.tenderer_key],
            agent_id=orgs[spec.agent_key] if spec.agent_key else None,
            description=spec.description,
            budget_fen=spec.budget_fen,
            control_price_fen=spec.control_price_fen,
            funding_sources=[
                FundingSourceIn(kind=f.kind, amount_fen=f.amount_fen, description=f.description)  # type: ignore[arg-type]
                for f in spec.funding
            ],
            sections=[
                SectionIn(code=s.code, name=s.name, estimated_price_fen=s.estimated_price_fen) for s in spec.sections
            ],
        ),
    )
    section_ids = {s.code: s.id for s in await session.scalars(select(Section).where(Section.project_id == project.id))}
    sealed = spec.procedure in SEALED_TENDERS
    trade = _SealedTrade(spec, section_ids, orgs, contacts) if sealed else None
    notice_ids: list[int | None] = []
    for n in spec.notices:
        act = Act(actor=actor, address="demo-seed", at=n.at)
        if trade is not None and n.kind in trade.ON_THE_PLATFORM:
            # The platform publishes these from its own records; the acts behind them run in their own sessions.
            await session.commit()
            counts["published"] += await trade.take(bidding, staff, n)
            notice_ids.append(None)
            continue
        if n.kind == "contract":
            # As staff do: the contract is recorded, checked against the award, and the platform publishes it.
            await session.flush()
            notice_ids.append(await _record_contract(session, act, spec, n, section_ids, orgs))
            counts["published"] += 1
            continue
        fields = dict(n.fields)
        if n.kind == "amendment" and n.changes:
            fields["changes"] = n.changes
        target = notice_ids[n.target] if n.target is not None else None
        draft = await notice_services.create_draft(
            session,
            act,
            NoticeDraftCreate(
                project_id=project.id,
                kind=n.kind,
                title=n.title,
                body=n.body,
                fields=fields,
                timetable=dict(n.timetable),
                section_ids=[section_ids[c] for c in n.section_codes],
                target_notice_id=target,
            ),
        )
        notice_ids.append(draft.id)
        if sealed and NOTICE_KINDS[n.kind].opens_trade:
            await name_committee(session, bidding, act, draft.id)
        if documents.DOCUMENTED.get(spec.procedure) == n.kind:
            await documents.attach_documents(session, act, draft.id, bidding.state.blobs)
        if n.action == "publish":
            await notice_services.publish(session, act, draft.id, tz=tz)
            counts["published"] += 1
        else:
            counts["drafts"] += 1


async def _record_contract(
    session: AsyncSession,
    act: Act,
    spec: ProjectSpec,
    n: NoticeSpec,
    section_ids: dict[str, int],
    orgs: dict[str, int],
) -> int:
    """Record the contract of *n* (a contract notice of the world) through trading.funds.contracts; its notice id."""
    f = n.fields
    keys = {p["role"]: p["org_key"] for p in f["parties"]}
    tenderer = await session.get(Organisation, orgs[keys["甲方"]])
    contractor = await session.get(Organisation, orgs[keys["乙方"]])
    assert tenderer is not None and contractor is not None
    contract = await contracts.record_contract(
        session,
        act,
        section_ids[n.section_codes[0]],
        ContractIn(
            tenderer=ContractPartyIn(name=tenderer.name, credit_code=tenderer.credit_code),
            contractor=ContractPartyIn(name=contractor.name, credit_code=contractor.credit_code),
            amount_fen=f["amount_fen"],
            currency="CNY",
            signed_on=datetime.fromisoformat(f["signed_on"]).date(),
            term=ContractTermIn(
                starts_on=date.fromisoformat(f["starts_on"]),
                ends_on=date.fromisoformat(f["ends_on"]),
                description=f["term"],
            ),
            document_sha256=f["document_sha256"],
            notes=f["notes"],
        ),
    )
    return contract.notice_id


class _SealedTrade:
    """A sealed tender of the world taken through the platform (trading.demo.history): its opening records,
    candidates and results are the platform's, made at the moments the world gives them."""

    ON_THE_PLATFORM = frozenset({"opening_record", "candidate_publicity", "result"})

    def __init__(
        self, spec: ProjectSpec, section_ids: dict[str, int], orgs: dict[str, int], contacts: dict[str, str]
    ) -> None:
        self.spec, self.section_ids, self.orgs, self.contacts = spec, section_ids, orgs, contacts
        self.records = {n.section_codes[0]: n for n in spec.notices if n.kind == "opening_record"}
        self.bids: dict[str, dict[str, int]] = {}
        self.publicised: dict[str, NoticeSpec] = {}

    async def take(self, bidding: Bidding, staff: Person, n: NoticeSpec) -> int:
        """The acts behind the world's notice *n*; returns how many notices the platform published."""
        (code,) = n.section_codes
        section_id, record = self.section_ids[code], self.records[code]
        if n.kind == "opening_record":
            if not self.bids:  # every section's bids before the first opening closes them all
                self.bids = await history.before_deadline(
                    bidding, staff, self.section_ids, self.orgs, list(self.records.values()), self.spec
                )
            await history.open_record(bidding, staff, section_id, n)
            return 1
        if n.kind == "candidate_publicity":
            ranked = [c["bidder_key"] for c in n.fields["candidates"]]
            await history.evaluate(
                bidding,
                staff,
                section_id,
                record,
                ranked,
                self.bids[code],
                n.at - timedelta(hours=1),
                self.spec.trade_kind,
            )
            people = history.leaders(n, self.bids[code], self.contacts)
            await history.publish_candidates(bidding, staff, section_id, n.at, people)
            self.publicised[code] = n
            return 1
        published = 1
        if code not in self.publicised:
            # The world publishes no candidates here (a procurement); the platform awards only after them.
            at = record.at + timedelta(hours=3)
            ranked = [n.fields["winner_key"]]
            await history.evaluate(
                bidding,
                staff,
                section_id,
                record,
                ranked,
                self.bids[code],
                at - timedelta(minutes=30),
                self.spec.trade_kind,
            )
            people = history.leaders(None, self.bids[code], self.contacts)
            await history.publish_candidates(bidding, staff, section_id, at, people)
            published += 1
        await history.publish_result(bidding, staff, section_id, n.at)
        return published
