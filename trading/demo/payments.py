"""Demo payments: the projects under contract get their advance and progress payments (and land transfers
their instalments), recorded through the real service so they are checked, logged and charted."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from notices.models import Notice
from trading.accounts.auth import actor_of
from trading.accounts.models import Organisation, Person, TradingCentre
from trading.context import Act
from trading.funds import schemas, services
from trading.projects.models import Project

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: (days after signing, share of the contract, milestone)
WORKS_SCHEDULE = (
    (10, 0.20, "预付款"),
    (75, 0.25, "第一期进度款"),
    (150, 0.25, "第二期进度款"),
    (240, 0.15, "第三期进度款"),
)
LAND_SCHEDULE = ((30, 0.50, "首期出让价款"), (120, 0.50, "剩余出让价款"))
#: One demo project pays a labour subcontractor directly, past the contractor: supervisors are alerted.
ODD_PROJECT_INDEX = 3


@dataclass(frozen=True)
class Plan:
    contract_notice_id: int | None
    start: datetime
    base_fen: int
    schedule: tuple[tuple[int, float, str], ...]
    payer: str
    payee: str


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10, 0), SHANGHAI)


async def _plans(session, project: Project, tenderer: Organisation) -> list[Plan]:  # type: ignore[no-untyped-def]
    if project.trade_kind in ("land", "property"):
        price = await services.award_amount(session, project.id)
        start = await session.scalar(
            select(Notice.first_published_at).where(Notice.project_id == project.id, Notice.kind == "result")
        )
        if price is None or start is None:
            return []
        return [Plan(None, start, price, LAND_SCHEDULE, "竞得人", "县级财政国库（土地出让收入）")]
    contracts = [c for c in await services.contracts_of(session, project.id) if c.signed_on]
    return [
        Plan(
            c.notice_id,
            # (a recorded contract's signing date is a date: the day in Shanghai)
            datetime.combine(date.fromisoformat((c.signed_on or "")[:10]), time(), tzinfo=SHANGHAI),
            c.amount_fen,
            WORKS_SCHEDULE,
            tenderer.name,
            c.contractor,
        )
        for c in contracts
    ]


async def seed_payments(sessionmaker, today: date) -> int:  # type: ignore[no-untyped-def]
    recorded = 0
    async with sessionmaker() as session:
        projects = list(
            await session.scalars(
                select(Project)
                .where(Project.id.in_(select(Notice.project_id).where(Notice.kind.in_(("contract", "result")))))
                .order_by(Project.id)
            )
        )
        for n, project in enumerate(projects):
            centre = await session.get(TradingCentre, project.centre_id)
            staff = await session.scalar(select(Person).where(Person.username == f"{centre.code.lower()}_staff1"))
            tenderer = await session.get(Organisation, project.tenderer_id)
            if staff is None or tenderer is None:
                continue
            for plan in await _plans(session, project, tenderer):
                signed = plan.start.astimezone(SHANGHAI).date()
                for i, (days, share, milestone) in enumerate(plan.schedule):
                    day = signed + timedelta(days=days)
                    if day > today:
                        break
                    odd = plan.contract_notice_id is not None and n == ODD_PROJECT_INDEX and i == 1
                    voucher = f"demo-voucher:{project.trade_code}:{plan.contract_notice_id}:{i}"
                    data = schemas.PaymentIn(
                        kind="payment" if plan.contract_notice_id else "collection",
                        paid_on=day,
                        amount_fen=round(plan.base_fen * share),
                        currency="CNY",
                        payer=plan.payer,
                        payee="湖南某劳务分包有限公司" if odd else plan.payee,
                        purpose=f"{project.name}{milestone}",
                        milestone=milestone,
                        evidence_sha256=hashlib.sha256(voucher.encode()).hexdigest(),
                        contract_notice_id=plan.contract_notice_id,
                    )
                    act = Act(actor=actor_of(staff), address="demo-seed", at=_at(day))
                    await services.record_payment(session, act, project.id, data)
                    recorded += 1
        await session.commit()
    return recorded
