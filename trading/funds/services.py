"""Recording payments, and reading a project's fund usage and the regional and yearly summaries.

A payment is checked before it is stored: a positive amount in CNY, not dated in the future, under a
published contract (or, for a land or property price, a published result). Payments that take the total past
the contract amount need a stated reason, and are flagged; so are payments to anyone but the contractor.
Each flag is also an alert for supervisors. Every payment is an entry in the transparency log.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notices.models import Notice, NoticeVersion
from trading.accounts.credit_code import validate_credit_code
from trading.accounts.services import require_same_centre, require_staff
from trading.audit.services import record
from trading.context import Act, Actor
from trading.errors import InvalidInput, NotFound, RuleViolation
from trading.funds import schemas
from trading.funds.models import Payment, SupervisionAlert
from trading.log import entries as log_entries
from trading.log import services as log
from trading.projects.models import FundingSource, Project
from trading.projects.schemas import FUNDING_KIND_NAMES, TRADE_KIND_NAMES
from trading.regions_sql import within_region

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _project(session: AsyncSession, project_id: int) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound("项目不存在", "No such project", code="project_not_found")
    return project


async def published_fields(session: AsyncSession, project_id: int, kind: str) -> list[tuple[Notice, dict[str, Any]]]:
    """The current published fields of the project's notices of *kind*, oldest first."""
    rows = (
        await session.execute(
            select(Notice, NoticeVersion.document)
            .join(
                NoticeVersion,
                (NoticeVersion.notice_id == Notice.id) & (NoticeVersion.version == Notice.current_version),
            )
            .where(Notice.project_id == project_id, Notice.kind == kind, Notice.status == "published")
            .order_by(Notice.first_published_at, Notice.id)
        )
    ).all()
    return [(notice, json.loads(document).get("fields") or {}) for notice, document in rows]


async def contracts_of(session: AsyncSession, project_id: int) -> list[schemas.ContractFacts]:
    """The project's published contracts (one per section under contract)."""
    out = []
    for notice, fields in await published_fields(session, project_id, "contract"):
        if not isinstance(fields.get("amount_fen"), int):
            continue
        contractor = next(
            (p for p in fields.get("parties") or [] if isinstance(p, dict) and p.get("role") == "乙方"), {}
        )
        out.append(
            schemas.ContractFacts(
                notice_id=notice.id,
                title=notice.title,
                section_ids=list(notice.section_ids),
                amount_fen=fields["amount_fen"],
                contractor=str(contractor.get("name", "")),
                contractor_credit_code=str(contractor.get("credit_code", "")),
                signed_on=fields.get("signed_on"),
            )
        )
    return out


async def award_amount(session: AsyncSession, project_id: int) -> int | None:
    """The awarded amount: the sum over the project's result notices (one per section)."""
    prices = [f.get("price_fen") for _, f in await published_fields(session, project_id, "result")]
    prices = [p for p in prices if isinstance(p, int)]
    return sum(prices) if prices else None


def _staff_of(act: Act, project: Project) -> Actor:
    actor = require_staff(act, "登记支付", "record payments")
    require_same_centre(actor, project.centre_id)
    return actor


def read(p: Payment) -> schemas.PaymentRead:
    return schemas.PaymentRead(
        id=p.id,
        project_id=p.project_id,
        contract_notice_id=p.contract_notice_id,
        kind=p.kind,
        paid_on=p.paid_on,
        amount_fen=p.amount_fen,
        currency=p.currency,
        payer=p.payer,
        payee=p.payee,
        payee_credit_code=p.payee_credit_code,
        purpose=p.purpose,
        milestone=p.milestone,
        evidence_sha256=p.evidence_sha256,
        flags=list(p.flags),
        recorded_at=p.recorded_at,
    )


async def _paid(session: AsyncSession, project_id: int, kind: str, contract_notice_id: int | None = None) -> int:
    query = select(Payment.amount_fen).where(Payment.project_id == project_id, Payment.kind == kind)
    if contract_notice_id is not None:
        query = query.where(Payment.contract_notice_id == contract_notice_id)
    return sum(await session.scalars(query))


async def record_payment(session: AsyncSession, act: Act, project_id: int, data: schemas.PaymentIn) -> Payment:
    project = await _project(session, project_id)
    actor = _staff_of(act, project)
    if data.currency != "CNY":
        raise InvalidInput(
            f"币种须为人民币（CNY），不是 {data.currency}",
            f"The currency must be CNY, not {data.currency}",
            code="bad_currency",
        )
    today = act.at.astimezone(SHANGHAI).date()
    if data.paid_on > today:
        raise InvalidInput(
            f"支付日期 {data.paid_on} 晚于今天，请登记已经发生的支付",
            f"The payment date {data.paid_on} is in the future: record payments once made",
            code="future_payment",
        )
    payee_code = validate_credit_code(data.payee_credit_code) if data.payee_credit_code else ""
    flags: list[str] = []
    alerts: list[tuple[str, str, str, dict[str, Any]]] = []
    contract_notice_id = None
    if data.kind == "payment":
        contract = _which_contract(await contracts_of(session, project_id), data.contract_notice_id)
        contract_notice_id = contract.notice_id
        paid = await _paid(session, project_id, "payment", contract.notice_id)
        if paid + data.amount_fen > contract.amount_fen:
            details = {
                "contract_fen": contract.amount_fen,
                "paid_fen": paid,
                "remaining_fen": contract.amount_fen - paid,
            }
            if not data.over_contract_reason.strip():
                raise RuleViolation(
                    f"本笔支付后累计支付将超过合同金额（尚可支付 {(contract.amount_fen - paid) / 100:,.2f} 元）；"
                    "如确需超付（如经批准的变更、结算），请填写原因，系统将提示监督人员",
                    "This payment takes the total past the contract amount; give the reason (an approved variation or "
                    "final account) to record it, and supervisors will be alerted",
                    code="over_contract",
                    details=details,
                )
            flags.append("over_contract")
            alerts.append(
                (
                    "over_contract",
                    f"累计支付超过合同金额：{(paid + data.amount_fen) / 100:,.2f} 元 > "
                    f"{contract.amount_fen / 100:,.2f} 元。"
                    f"原因：{data.over_contract_reason.strip()}",
                    f"Payments exceed the contract amount ({paid + data.amount_fen} > {contract.amount_fen} fen)",
                    details,
                )
            )
        same_payee = (payee_code and payee_code == contract.contractor_credit_code) or (
            data.payee.strip() == contract.contractor.strip()
        )
        if not same_payee:
            flags.append("payee_not_contractor")
            alerts.append(
                (
                    "payee_not_contractor",
                    f"收款人「{data.payee}」不是合同乙方「{contract.contractor}」",
                    f"The payee {data.payee!r} is not the contractor {contract.contractor!r}",
                    {"payee": data.payee, "contractor": contract.contractor},
                )
            )
    else:
        price = await award_amount(session, project_id)
        if price is None:
            raise RuleViolation(
                "该项目尚未公布成交结果，不能登记价款收缴",
                "No result is published for this project: collections follow a published price",
                code="no_result",
            )
        collected = await _paid(session, project_id, "collection")
        if collected + data.amount_fen > price:
            raise RuleViolation(
                f"累计收缴将超过成交价款（尚余 {(price - collected) / 100:,.2f} 元）",
                "The collections would exceed the transfer price",
                code="over_price",
                details={"price_fen": price, "collected_fen": collected},
            )
    payment = Payment(
        project_id=project_id,
        contract_notice_id=contract_notice_id,
        kind=data.kind,
        paid_on=data.paid_on,
        amount_fen=data.amount_fen,
        currency=data.currency,
        payer=data.payer,
        payee=data.payee,
        payee_credit_code=payee_code,
        purpose=data.purpose,
        milestone=data.milestone,
        evidence_sha256=data.evidence_sha256,
        flags=flags,
        note=data.over_contract_reason.strip(),
        recorded_by=actor.person_id,
        recorded_at=act.at,
    )
    session.add(payment)
    await session.flush()
    for kind, zh, en, details in alerts:
        await raise_alert(
            session,
            kind=kind,
            project_id=project_id,
            subject_type="payment",
            subject_id=payment.id,
            message_zh=f"{project.name}：{zh}",
            message_en=en,
            details=details,
            at=act.at,
        )
    public = msgspec.to_builtins(read(payment))
    await log.append(
        session,
        event_key=f"payment:{payment.id}",
        kind="payment",
        document=log_entries.payment(trade_code=project.trade_code, public=public),
        at=act.at,
    )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="payment.record",
        subject_type="project",
        subject_id=project_id,
        after=public,
    )
    return payment


def _which_contract(contracts: list[schemas.ContractFacts], notice_id: int | None) -> schemas.ContractFacts:
    if not contracts:
        raise RuleViolation(
            "该项目尚未公示合同，不能登记合同价款支付",
            "No contract is published for this project: payments follow a published contract",
            code="no_contract",
            rule="法 §46",
        )
    if notice_id is None and len(contracts) == 1:
        return contracts[0]
    for contract in contracts:
        if contract.notice_id == notice_id:
            return contract
    raise InvalidInput(
        "请用 contract_notice_id 指明是哪一份合同的价款（该项目各标段分别签订合同）",
        "Say which contract this pays (contract_notice_id): the project has one per section",
        code="which_contract",
        details={"contracts": [{"notice_id": c.notice_id, "title": c.title} for c in contracts]},
    )


async def project_funds(session: AsyncSession, project_id: int) -> schemas.FundsRead:
    """A project's fund usage, as everyone reads it (a draft project has none to show: 404)."""
    project = await _project(session, project_id)
    if project.state == "draft":
        raise NotFound("项目不存在", "No such project", code="project_not_found")
    funding = list(
        await session.scalars(
            select(FundingSource).where(FundingSource.project_id == project_id).order_by(FundingSource.id)
        )
    )
    payments = list(
        await session.scalars(
            select(Payment).where(Payment.project_id == project_id).order_by(Payment.paid_on, Payment.id)
        )
    )
    contracts = await contracts_of(session, project_id)
    contract_fen = sum(c.amount_fen for c in contracts) if contracts else None
    award = await award_amount(session, project_id)
    kind = "collection" if project.trade_kind in ("land", "property") else "payment"
    paid = sum(p.amount_fen for p in payments if p.kind == kind)
    base = award if kind == "collection" else contract_fen
    return schemas.FundsRead(
        project_id=project.id,
        trade_code=project.trade_code,
        name=project.name,
        trade_kind=project.trade_kind,
        funding=[
            schemas.SourceRead(
                kind=f.kind,
                kind_zh=FUNDING_KIND_NAMES.get(f.kind, (f.kind,))[0],
                description=f.description,
                amount_fen=f.amount_fen,
            )
            for f in funding
        ],
        funding_total_fen=sum(f.amount_fen for f in funding),
        budget_fen=project.budget_fen,
        control_price_fen=project.control_price_fen,
        award_fen=award,
        contracts=contracts,
        contract_fen=contract_fen,
        payments=[read(p) for p in payments],
        paid_fen=paid,
        disbursed=round(paid / base, 4) if base else None,
    )


#: Trade kinds that bring money in (a land price, a property's transfer price) rather than spend project funds.
REVENUE_KINDS = ("land", "property")


async def summary(session: AsyncSession, *, year: int | None, region_code: str | None) -> schemas.SummaryRead:
    """Totals by trade kind and by funding source: funding, contracted and paid — of published projects only
    (a draft is nobody's business but its centre's)."""
    query = select(Project).where(Project.state != "draft")
    if region_code:
        query = query.where(within_region(Project.region_code, region_code))
    projects = [
        p for p in await session.scalars(query) if year is None or p.created_at.astimezone(SHANGHAI).year == year
    ]
    ids = [p.id for p in projects]
    sources = list(await session.scalars(select(FundingSource).where(FundingSource.project_id.in_(ids or [0]))))
    paid_by_project: dict[int, int] = defaultdict(int)
    collected_by_project: dict[int, int] = defaultdict(int)
    for p in await session.scalars(select(Payment).where(Payment.project_id.in_(ids or [0]))):
        into = paid_by_project if p.kind == "payment" else collected_by_project
        into[p.project_id] += p.amount_fen
    contracted: dict[int, int] = {}
    for project in projects:
        contracts = await contracts_of(session, project.id)
        if contracts:
            contracted[project.id] = sum(c.amount_fen for c in contracts)
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    funding_by_project: dict[int, int] = defaultdict(int)
    for s in sources:
        funding_by_project[s.project_id] += s.amount_fen
    for project in projects:
        row = by_kind[project.trade_kind]
        row[0] += 1
        row[1] += funding_by_project[project.id]
        row[2] += contracted.get(project.id, 0)
        row[3] += paid_by_project[project.id]
        row[4] += collected_by_project[project.id]
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    seen: dict[str, set[int]] = defaultdict(set)
    for s in sources:
        row = by_source[s.kind]
        seen[s.kind].add(s.project_id)
        row[1] += s.amount_fen
        # Contracted and paid amounts are shared out over a project's sources in proportion to their amounts.
        share = s.amount_fen / funding_by_project[s.project_id] if funding_by_project[s.project_id] else 0
        row[2] += round(contracted.get(s.project_id, 0) * share)
        row[3] += round(paid_by_project[s.project_id] * share)
    for kind, projects_with in seen.items():
        by_source[kind][0] = len(projects_with)

    def rows(table: dict[str, list[int]], names: dict[str, tuple[str, str]]) -> list[schemas.SummaryRow]:
        return [
            schemas.SummaryRow(
                key=k,
                name_zh=names.get(k, (k,))[0],
                projects=v[0],
                funding_fen=v[1],
                contracted_fen=v[2],
                paid_fen=v[3],
                collected_fen=v[4],
                spends=k not in REVENUE_KINDS,
            )
            for k, v in sorted(table.items(), key=lambda kv: -kv[1][1])
        ]

    return schemas.SummaryRead(
        year=year,
        region_code=region_code,
        by_trade_kind=rows(by_kind, TRADE_KIND_NAMES),
        by_funding_source=rows(by_source, FUNDING_KIND_NAMES),
        totals={
            "projects": len(projects),
            "funding_fen": sum(funding_by_project.values()),
            "contracted_fen": sum(contracted.values()),
            "paid_fen": sum(paid_by_project.values()),
            "collected_fen": sum(collected_by_project.values()),
        },
    )


async def raise_alert(
    session: AsyncSession,
    *,
    kind: str,
    project_id: int,
    subject_type: str,
    subject_id: int,
    message_zh: str,
    message_en: str,
    details: dict[str, Any],
    at: datetime,
) -> int | None:
    """Raise an alert unless one of *kind* is already raised on the subject; returns its id, or None.

    One conditional statement on the unique (kind, subject) index, so two workers raising it at once store one.
    """
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(SupervisionAlert)
        .values(
            kind=kind,
            project_id=project_id,
            subject_type=subject_type,
            subject_id=subject_id,
            message_zh=message_zh,
            message_en=message_en,
            details=details,
            created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["kind", "subject_type", "subject_id"])
        .returning(SupervisionAlert.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def raise_found_alert(
    session: AsyncSession, *, action: str, address: str, noted: dict[str, Any], **alert: Any
) -> int | None:
    """:func:`raise_alert` for what the platform found by itself (the scheduler's looks, the opening job), with
    its audit record — *action* on the alert's subject, by nobody, from *address*, *noted* beside the alert's id —
    written only by the worker whose alert it is; returns the alert's id, or None when another raised it."""
    alert_id = await raise_alert(session, **alert)
    if alert_id is not None:
        await record(
            session,
            actor=None,
            address=address,
            at=alert["at"],
            action=action,
            subject_type=alert["subject_type"],
            subject_id=alert["subject_id"],
            details={"alert_id": alert_id, **noted},
        )
    return alert_id


async def alerts(session: AsyncSession, viewer: Actor, *, open_only: bool) -> list[SupervisionAlert]:
    """The alerts of the viewer's centre (the admin: every centre's), newest first."""
    query = select(SupervisionAlert).order_by(SupervisionAlert.created_at.desc(), SupervisionAlert.id.desc())
    if not viewer.has_role("admin"):
        query = query.join(Project, Project.id == SupervisionAlert.project_id).where(
            Project.centre_id == viewer.centre_id
        )
    if open_only:
        query = query.where(SupervisionAlert.acknowledged_at.is_(None))
    return list(await session.scalars(query.limit(500)))


#: Alerts that only the act they ask for answers (it marks them as seen), not a click: kind → what to do.
ANSWERED_BY_AN_ACT = {
    "bid_disputed": (
        "此预警在开标大厅作出裁定后自动标记为已阅",
        "Rule on the bid in the opening hall: the ruling marks this alert as seen",
    ),
}


async def acknowledge(session: AsyncSession, act: Act, alert_id: int) -> SupervisionAlert:
    alert = await session.get(SupervisionAlert, alert_id)
    if alert is None:
        raise NotFound("没有这条预警", "No such alert", code="alert_not_found")
    assert act.actor is not None
    require_same_centre(act.actor, await centre_of_alert(session, alert_id) or 0)
    if alert.acknowledged_at is None and alert.kind in ANSWERED_BY_AN_ACT:
        zh, en = ANSWERED_BY_AN_ACT[alert.kind]
        raise RuleViolation(zh, en, code="answered_by_an_act")
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = act.at, act.actor.person_id
        await record(
            session,
            actor=act.actor,
            address=act.address,
            at=act.at,
            action="alert.acknowledge",
            subject_type="alert",
            subject_id=alert.id,
        )
    return alert


async def centre_of_alert(session: AsyncSession, alert_id: int) -> int | None:
    """The trading centre whose project an alert is about (None when there is no such alert)."""
    return await session.scalar(
        select(Project.centre_id)
        .join(SupervisionAlert, SupervisionAlert.project_id == Project.id)
        .where(SupervisionAlert.id == alert_id)
    )
