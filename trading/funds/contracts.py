"""Contracts (合同): staff record the contract signed after the award, the platform checks it against the
award and publishes its contract publicity notice (合同公示); supervisors hear of contracts signed late and
of awards left without one.

The tenderer and the winner sign within 30 days of the award notice, on the terms of the tender documents
and the winning bid, and sign no other agreement that departs from them (法 §46, 采购法 §46); the contract
is published (采购条例 §50, 20号令 §41). The platform counts the 30 days in calendar days (Shanghai) from the
day the section's result notice was first published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from notices import services as notice_services
from notices.models import Notice
from notices.schemas import NoticeDraftCreate
from trading.accounts.credit_code import validate_credit_code
from trading.accounts.models import Organisation
from trading.accounts.services import require_same_centre, require_staff
from trading.audit.services import record
from trading.context import Act
from trading.errors import Conflict, InvalidInput, NotFound, RuleViolation
from trading.funds import schemas
from trading.funds.models import Contract, SupervisionAlert
from trading.funds.services import published_fields, raise_alert, raise_found_alert
from trading.projects.models import Project, Section
from trading.projects.services import section_and_project
from trading.rules.procedures import get_procedure

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: Days after the award notice within which the contract is signed (法 §46, 采购法 §46).
CONTRACT_DAYS = 30
CONTRACT_RULE = "法 §46, 采购法 §46"
#: The states a section takes its contract in: a tender or procurement once awarded (the contract moves it on to
#: "contracted"), a land or property transfer once sold (its transfer contract leaves it sold).
CONTRACTABLE = frozenset({"awarded", "sold"})


#: Where a transfer's contract date comes from: its confirmation of the sale, as its result notice states it.
TRANSFER_RULE = "成交确认书"


def contract_due(awarded_on: date) -> date:
    """The last day on which the contract may be signed for an award notice published on *awarded_on*."""
    return awarded_on + timedelta(days=CONTRACT_DAYS)


@dataclass(frozen=True)
class Award:
    """A section's award: its published result notice (中标/成交结果公告) and that notice's fields."""

    notice: Notice
    fields: dict[str, Any]

    @property
    def awarded_on(self) -> date:
        assert self.notice.first_published_at is not None
        return self.notice.first_published_at.astimezone(SHANGHAI).date()

    def due_on(self, state: str) -> date | None:
        """The last day for the contract: a tender's or a procurement's 30 days after the award notice (法 §46,
        采购法 §46); a transfer's the day its confirmation of the sale (成交确认书) fixes, as its result notice
        states it (``contract_due_on``) — none if it states none."""
        return contract_due(self.awarded_on) if state == "awarded" else notice_services.contract_due_on(self.fields)

    @staticmethod
    def rule(state: str) -> str:
        return CONTRACT_RULE if state == "awarded" else TRANSFER_RULE


async def award_of(session: AsyncSession, section: Section) -> Award | None:
    """The latest published result notice covering *section* (a notice naming no sections covers them all)."""
    results = await published_fields(session, section.project_id, "result")
    for notice, fields in reversed(results):
        if not notice.section_ids or section.id in notice.section_ids:
            return Award(notice, fields)
    return None


def read(c: Contract) -> schemas.ContractRead:
    return schemas.ContractRead(
        id=c.id,
        section_id=c.section_id,
        project_id=c.project_id,
        result_notice_id=c.result_notice_id,
        notice_id=c.notice_id,
        parties=[schemas.ContractParty(**p) for p in c.parties],
        amount_fen=c.amount_fen,
        currency=c.currency,
        award_amount_fen=c.award_amount_fen,
        difference_fen=c.amount_fen - c.award_amount_fen,
        variation_reason=c.variation_reason,
        signed_on=c.signed_on,
        starts_on=c.starts_on,
        ends_on=c.ends_on,
        term=c.term,
        document_sha256=c.document_sha256,
        performance_place=c.performance_place,
        notes=c.notes,
        days_after_award=c.days_after_award,
        late=c.late,
        recorded_at=c.recorded_at,
    )


async def contract_of(session: AsyncSession, section_id: int) -> Contract:
    """The section's recorded contract; it is public from the moment it is recorded (and published)."""
    contract = await session.scalar(select(Contract).where(Contract.section_id == section_id))
    if contract is None:
        raise NotFound("该标段尚未公示合同", "No contract is published for this section", code="contract_not_found")
    return contract


async def record_contract(session: AsyncSession, act: Act, section_id: int, data: schemas.ContractIn) -> Contract:
    """Check a signed contract against the section's award, store it, publish its contract notice (which moves
    the section to "contracted"), and alert supervisors if it was signed late or departs from the award."""
    section, project = await section_and_project(session, section_id)
    actor = require_staff(act, "登记合同", "record the contract")
    require_same_centre(actor, project.centre_id)
    if data.currency != "CNY":
        raise InvalidInput(
            f"币种须为人民币（CNY），不是 {data.currency}",
            f"The currency must be CNY, not {data.currency}",
            code="bad_currency",
        )
    if data.term.ends_on < data.term.starts_on:
        raise InvalidInput(
            f"合同期限的结束日期 {data.term.ends_on} 早于开始日期 {data.term.starts_on}",
            f"The term ends ({data.term.ends_on}) before it starts ({data.term.starts_on})",
            code="term_ends_before_start",
        )
    today = act.at.astimezone(SHANGHAI).date()
    if data.signed_on > today:
        raise InvalidInput(
            f"签订日期 {data.signed_on} 晚于今天，请在合同签订后登记",
            f"The signing date {data.signed_on} is in the future: record the contract once signed",
            code="future_signing",
        )
    tenderer_code = validate_credit_code(data.tenderer.credit_code)
    contractor_code = validate_credit_code(data.contractor.credit_code)

    # The section's contract is its published contract notice: one recorded here (published with its record, in
    # the same transaction), or one typed in before contracts were recorded — a sold section, which stays sold,
    # would otherwise take a second. Two recording at once: the record's unique section (IntegrityError, below).
    if await _contract_notice_covers(session, section):
        raise _already_recorded()
    if section.state not in CONTRACTABLE:
        zh, en = get_procedure(project.procedure).state_name(section.state)
        raise Conflict(
            f"标段「{section.name}」当前处于「{zh}」，只有已定标（成交）的标段可以登记合同",
            f"Section {section.code} is {en.lower()} ({section.state}); only an awarded or sold section takes a "
            "contract",
            code="section_not_awarded",
            details={"state": section.state},
        )
    award = await award_of(session, section)
    if award is None:
        raise RuleViolation(
            "该标段没有已发布的中标（成交）结果公告，不能登记合同",
            "No result notice is published for this section: the contract follows the award",
            code="no_result",
            rule=CONTRACT_RULE,
        )
    awarded_on = award.awarded_on
    if data.signed_on < awarded_on:
        raise RuleViolation(
            f"签订日期 {data.signed_on} 早于中标（成交）结果公告发布之日 {awarded_on}",
            f"The contract is dated {data.signed_on}, before the award notice of {awarded_on}",
            code="signed_before_award",
            rule=CONTRACT_RULE,
            details={"awarded_on": awarded_on.isoformat()},
        )
    await _check_tenderer(session, project, data.tenderer.name.strip(), tenderer_code)
    await _check_contractor(session, award, data.contractor.name.strip(), contractor_code)
    award_fen = award.fields.get("price_fen")
    if not isinstance(award_fen, int):
        raise RuleViolation(
            "中标（成交）结果公告没有中标金额，无法核对合同金额",
            "The result notice gives no award amount to check the contract amount against",
            code="no_award_amount",
        )
    reason = data.variation_reason.strip()
    if data.amount_fen != award_fen and not reason:
        raise RuleViolation(
            f"合同金额 {data.amount_fen / 100:,.2f} 元与中标（成交）金额 {award_fen / 100:,.2f} 元不一致；"
            "合同不得背离招标文件和中标人投标文件的实质性内容，如确有变化请填写原因，系统将提示监督人员",
            f"The contract amount ({data.amount_fen} fen) differs from the award ({award_fen} fen); a contract may "
            "not depart from the tender and the winning bid: give the reason to record it, and supervisors will "
            "be alerted",
            code="amount_differs_from_award",
            rule=CONTRACT_RULE,
            details={"award_amount_fen": award_fen, "difference_fen": data.amount_fen - award_fen},
        )

    days = (data.signed_on - awarded_on).days
    state = section.state  # as awarded or sold: publishing the contract notice moves an award on to "contracted"
    awarded, due_on = state == "awarded", award.due_on(state)
    parties = [
        {"role": "甲方", "name": data.tenderer.name.strip(), "credit_code": tenderer_code},
        {"role": "乙方", "name": data.contractor.name.strip(), "credit_code": contractor_code},
    ]
    sha256 = data.document_sha256.lower()
    draft = await notice_services.create_draft(
        session,
        act,
        NoticeDraftCreate(
            project_id=project.id,
            kind="contract",
            title=f"{project.name}{section.name}合同公示"[:300],
            body=_notice_body(project, section, data, parties, award_fen, sha256),
            fields=_notice_fields(data, parties, award, award_fen, sha256),
            section_ids=[section.id],
        ),
    )
    contract = Contract(
        section_id=section.id,
        project_id=project.id,
        result_notice_id=award.notice.id,
        notice_id=draft.id,
        parties=parties,
        amount_fen=data.amount_fen,
        currency=data.currency,
        award_amount_fen=award_fen,
        variation_reason=reason,
        signed_on=data.signed_on,
        starts_on=data.term.starts_on,
        ends_on=data.term.ends_on,
        term=data.term.description.strip(),
        document_sha256=sha256,
        performance_place=data.performance_place.strip(),
        notes=data.notes.strip(),
        days_after_award=days,
        late=due_on is not None and data.signed_on > due_on,
        recorded_by=actor.person_id,
        recorded_at=act.at,
    )
    session.add(contract)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent request recorded the section's contract first
        raise _already_recorded() from exc
    await notice_services.publish(session, act, draft.id, tz=SHANGHAI, by_platform=True)

    label = f"{project.name}{section.name}"
    if contract.late:
        await raise_alert(
            session,
            kind="contract_late",
            project_id=project.id,
            subject_type="contract",
            subject_id=contract.id,
            message_zh=f"{label}：合同于中标（成交）结果公告发布后第 {days} 日签订，超过法定的30日"
            if awarded
            else f"{label}：合同于 {data.signed_on} 签订，晚于成交确认书约定的 {due_on}",
            message_en=f"The contract was signed {days} days after the award notice, more than the 30 the law allows"
            if awarded
            else f"The contract was signed on {data.signed_on}, after {due_on}, the date the confirmation of the "
            "sale fixed",
            details={
                "section_id": section.id,
                "awarded_on": awarded_on.isoformat(),
                "due_on": str(due_on),
                "signed_on": data.signed_on.isoformat(),
                "days_after_award": days,
                "rule": award.rule(state),
            },
            at=act.at,
        )
    if data.amount_fen != award_fen:
        await raise_alert(
            session,
            kind="contract_amount_differs",
            project_id=project.id,
            subject_type="contract",
            subject_id=contract.id,
            message_zh=f"{label}：合同金额 {data.amount_fen / 100:,.2f} 元与中标（成交）金额 "
            f"{award_fen / 100:,.2f} 元不一致。原因：{reason}",
            message_en=f"The contract amount ({data.amount_fen} fen) differs from the award ({award_fen} fen)",
            details={
                "section_id": section.id,
                "award_amount_fen": award_fen,
                "amount_fen": data.amount_fen,
                "difference_fen": data.amount_fen - award_fen,
                "rule": CONTRACT_RULE,
            },
            at=act.at,
        )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="contract.record",
        subject_type="section",
        subject_id=section.id,
        after=msgspec.to_builtins(read(contract)),
        details={"contract_id": contract.id, "notice_id": draft.id, "late": contract.late},
    )
    return contract


def _already_recorded() -> Conflict:
    return Conflict("该标段已登记合同", "This section's contract is already recorded", code="contract_exists")


async def _check_tenderer(session: AsyncSession, project: Project, name: str, credit_code: str) -> None:
    """甲方 is the project's tenderer (or purchaser), as registered on the platform."""
    tenderer = await session.get(Organisation, project.tenderer_id)
    assert tenderer is not None
    if credit_code != tenderer.credit_code or name != tenderer.name:
        raise RuleViolation(
            f"甲方须为本项目的招标人（采购人）「{tenderer.name}」（{tenderer.credit_code}）",
            f"The first party must be the project's tenderer, {tenderer.name} ({tenderer.credit_code})",
            code="party_not_tenderer",
            rule=CONTRACT_RULE,
        )


async def _check_contractor(session: AsyncSession, award: Award, name: str, credit_code: str) -> None:
    """乙方 is the winner the result notice names; a credit code registered to another organisation is not."""
    winner = str(award.fields.get("winner", "")).strip()
    registered = await session.scalar(select(Organisation).where(Organisation.credit_code == credit_code))
    named_code = str(award.fields.get("winner_credit_code", "")).strip()
    if (
        name != winner
        or (registered is not None and registered.name != name)
        or (named_code and named_code != credit_code)
    ):
        raise RuleViolation(
            f"乙方须为中标（成交）结果公告确定的中标人「{winner}」",
            f"The contractor must be the winner named by the result notice, {winner}",
            code="contractor_not_winner",
            rule=CONTRACT_RULE,
            details={"winner": winner, "result_notice_id": award.notice.id},
        )


def _notice_fields(
    data: schemas.ContractIn, parties: list[dict[str, str]], award: Award, award_fen: int, sha256: str
) -> dict[str, Any]:
    """The contract notice's fields; ``parties``, ``amount_fen``, ``signed_on`` are what payments read."""
    fields: dict[str, Any] = {
        "parties": parties,
        "amount_fen": data.amount_fen,
        "currency": data.currency,
        "award_amount_fen": award_fen,
        "signed_on": data.signed_on.isoformat(),
        "term": f"{data.term.starts_on} 至 {data.term.ends_on}（{data.term.description.strip()}）",
        "starts_on": data.term.starts_on.isoformat(),
        "ends_on": data.term.ends_on.isoformat(),
        "document_sha256": sha256,
        "result_notice_id": award.notice.id,
    }
    if data.amount_fen != award_fen:
        fields["variation_reason"] = data.variation_reason.strip()
    if data.performance_place.strip():
        fields["performance_place"] = data.performance_place.strip()
    return fields


def _notice_body(
    project: Project,
    section: Section,
    data: schemas.ContractIn,
    parties: list[dict[str, str]],
    award_fen: int,
    sha256: str,
) -> str:
    lines = [
        f"一、合同名称：{project.name}{section.name}合同",
        f"二、项目编号：{project.trade_code}",
        "三、合同主体",
        *(f"{p['role']}：{p['name']}（统一社会信用代码：{p['credit_code']}）" for p in parties),
        "四、合同主要信息",
        f"合同金额：{data.amount_fen / 100:,.2f} 元",
        f"中标（成交）金额：{award_fen / 100:,.2f} 元",
    ]
    if data.amount_fen != award_fen:
        lines.append(f"差额：{(data.amount_fen - award_fen) / 100:+,.2f} 元；原因：{data.variation_reason.strip()}")
    lines += [
        f"合同期限：{data.term.starts_on:%Y年%m月%d日}至{data.term.ends_on:%Y年%m月%d日}（{data.term.description.strip()}）",
        *([f"履约地点：{data.performance_place.strip()}"] if data.performance_place.strip() else []),
        f"签订日期：{data.signed_on:%Y年%m月%d日}",
        f"五、合同文本SHA-256摘要：{sha256}",
        *([f"六、其他说明：{data.notes.strip()}"] if data.notes.strip() else []),
    ]
    return "\n".join(lines)


async def flag_overdue_contracts(session: AsyncSession, now: datetime) -> list[int]:
    """Alert supervisors, once per section, to every section still without a contract past its day: an awarded
    tender or procurement more than 30 days after its result notice was first published; a sold transfer past the
    day its result notice states its confirmation of the sale fixed (``contract_due_on``). Returns the sections
    newly flagged. The caller commits."""
    today = now.astimezone(SHANGHAI).date()
    # A result published before this moment is at least 31 calendar days old today.
    cutoff = datetime.combine(today - timedelta(days=CONTRACT_DAYS), time(), tzinfo=SHANGHAI)
    results = (Notice.project_id == Section.project_id) & (Notice.kind == "result") & (Notice.status == "published")
    unflagged = (
        ~exists().where(Contract.section_id == Section.id),
        ~exists().where(
            SupervisionAlert.kind == "contract_overdue",
            SupervisionAlert.subject_type == "section",
            SupervisionAlert.subject_id == Section.id,
        ),
    )
    awarded = exists().where(results, Notice.first_published_at < cutoff)
    sold = exists().where(results, Notice.fields["contract_due_on"].as_string() < today.isoformat())
    candidates = list(
        await session.scalars(
            select(Section)
            .where(((Section.state == "awarded") & awarded) | ((Section.state == "sold") & sold), *unflagged)
            .order_by(Section.id)
            .limit(500)
        )
    )
    flagged = []
    for section in candidates:
        award = await award_of(session, section)
        due = award.due_on(section.state) if award is not None else None
        if award is None or due is None or today <= due:
            continue  # its latest award is more recent (or states a later day) than another result of the project
        if section.state == "sold" and await _contract_notice_covers(session, section):
            continue  # a transfer's contract notice typed in before contracts were recorded (it stays sold)
        project = await session.get(Project, section.project_id)
        assert project is not None
        days = (today - award.awarded_on).days
        if section.state == "awarded":
            zh = f"中标（成交）结果公告已于 {award.awarded_on} 发布，{days} 日后仍未登记合同（应在30日内订立）"
            en = f"has no contract {days} days after its award notice (due within 30)"
        else:
            zh = f"成交结果公告已于 {award.awarded_on} 发布，成交确认书约定的合同签订期限 {due} 已过，仍未登记合同"
            en = f"has no contract past {due}, the day its confirmation of the sale fixed"
        alert_id = await raise_found_alert(
            session,
            action="contract.overdue",
            address="scheduler",
            noted={"awarded_on": award.awarded_on.isoformat()},
            kind="contract_overdue",
            project_id=project.id,
            subject_type="section",
            subject_id=section.id,
            message_zh=f"{project.name}{section.name}：{zh}",
            message_en=f"Section {section.code} of {project.trade_code} {en}",
            details={
                "section_id": section.id,
                "result_notice_id": award.notice.id,
                "awarded_on": award.awarded_on.isoformat(),
                "due_on": due.isoformat(),
                "days_since_award": days,
                "rule": award.rule(section.state),
            },
            at=now,
        )
        if alert_id is None:
            continue  # another worker raised it
        flagged.append(section.id)
    return flagged


async def _contract_notice_covers(session: AsyncSession, section: Section) -> bool:
    notices = await published_fields(session, section.project_id, "contract")
    return any(not n.section_ids or section.id in n.section_ids for n, _ in notices)
