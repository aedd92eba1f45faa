"""Candidate publicity (中标候选人公示, 条例 §54), objections (异议) and complaints (投诉).

* The platform writes the publicity notice from the evaluation report: at most three ranked candidates
  (条例 §53) with every field 10号令 §12 asks for. It should go out within 3 days of the report and lasts
  at least 3 days; a late one is flagged to the supervisors.
* A bidder of the section may object while the publicity runs. The trade pauses (publicity → suspended)
  until staff reply — within 3 days — and the window is lengthened by the time it stood still. The reply
  is published as a notice without the objector's name or particulars.
* A complaint about the publicity goes to the supervisors after an objection (条例 §60), within 10 days of
  the reply; they accept it or not within 3 working days, may suspend the trade (条例 §62), and rule within
  30 working days (条例 §61).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.models import Bid
from evaluation import schemas
from evaluation.models import CandidatePublicity, Complaint, Objection
from evaluation.reports import report_of
from evaluation.sections import centre_staff, staff_or_supervisor
from evaluation.sheets import opening_forms
from notices import services as notice_services
from notices.schemas import NoticeDraftCreate
from trading.accounts.services import require_same_centre
from trading.audit.services import record
from trading.context import Act, Actor
from trading.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from trading.funds.services import raise_alert
from trading.log import entries as log_entries
from trading.log import services as log
from trading.projects.models import Project, Section
from trading.projects.services import centre_of_section, move_sections, section_and_project
from trading.rules.services import load_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
PUBLISH_WITHIN = timedelta(days=3)  # 条例 §54
REPLY_WITHIN = timedelta(days=3)  # 条例 §54
COMPLAIN_WITHIN = timedelta(days=10)  # 条例 §60
ACCEPT_WORKING_DAYS = 3  # 条例 §61
RULE_WORKING_DAYS = 30  # 条例 §61
DEFAULT_OBJECTION_HOW = "投标人或者其他利害关系人对评标结果有异议的，应当在公示期间通过本平台「异议」功能向招标人提出。"


async def centre_of_objection(session: AsyncSession, objection_id: int) -> int | None:
    """The trading centre whose section an objection is about (None when there is no such objection)."""
    return await centre_of_section(
        session, await session.scalar(select(Objection.section_id).where(Objection.id == objection_id)) or 0
    )


async def centre_of_complaint(session: AsyncSession, complaint_id: int) -> int | None:
    """The trading centre whose section a complaint is about (None when there is no such complaint)."""
    return await centre_of_section(
        session, await session.scalar(select(Complaint.section_id).where(Complaint.id == complaint_id)) or 0
    )


def _money(fen: int) -> str:
    return f"{fen / 100:,.2f} 元"


def _end_of_day(day: Any) -> datetime:
    """The last moment of a local (Asia/Shanghai) day, in UTC: a period 'within N days' ends then."""
    return datetime.combine(day, time(23, 59, 59), SHANGHAI).astimezone(ZoneInfo("UTC"))


async def _publicity(session: AsyncSession, section_id: int) -> CandidatePublicity:
    row = await session.get(CandidatePublicity, section_id)
    if row is None:
        raise NotFound("此标段尚未公示中标候选人", "No candidate publicity for this section", code="no_publicity")
    return row


# --- the publicity ------------------------------------------------------------------------------------------


def _summary(report: dict[str, Any]) -> str:
    method = "综合评估法" if report["method"] == "comprehensive" else "经评审的最低投标价法"
    rejected = [b for b in report["bids"] if not b["qualified"]]
    lines = [
        f"评标办法：{method}。评标委员会由 {len(report['panel'])} 名专家组成（名单随结果公告公布）。",
        f"开标解密的投标 {len(report['bids'])} 份，通过评审 {len(report['bids']) - len(rejected)} 份，"
        f"否决 {len(rejected)} 份。",
    ]
    for b in rejected:
        ground = schemas.REJECTION_GROUNDS[b["rejection"]["ground"]][0]
        lines.append(f"被否决：{b['bidder']}，理由：{ground}")
    flagged = [b["bidder"] for b in report["bids"] if b["abnormally_low"]]
    if flagged:
        lines.append(f"报价明显低于其他投标报价、经评标委员会要求作出说明的：{'、'.join(flagged)}")
    return "\n".join(lines)


async def publish_candidates(
    session: AsyncSession, act: Act, section_id: int, data: schemas.PublicityIn
) -> CandidatePublicity:
    section, project = await section_and_project(session, section_id)
    actor = centre_staff(act, project, "公示中标候选人", "publish the candidates")
    report_row = await report_of(session, section_id)
    report = report_row.report
    if report_row.void:
        raise RuleViolation("本次招标无效，没有中标候选人", "The tender is void: there are no candidates", code="void")
    if section.state != "evaluating" or await session.get(CandidatePublicity, section_id) is not None:
        raise Conflict("中标候选人已经公示", "The candidates are already published", code="publicity_exists")
    ranked = {r["bid_id"]: r for r in report["ranking"]}
    candidates = [ranked[i] for i in report["candidates"]]
    given = {c.bid_id: c for c in data.candidates}
    if set(given) != {c["bid_id"] for c in candidates}:
        raise InvalidInput(
            f"须为评标报告推荐的 {len(candidates)} 名候选人逐一填写项目负责人及证书、资格情况",
            f"Give the project leader, certificate and qualifications for each of the report's {len(candidates)} "
            "candidates, and only them",
            code="candidates_mismatch",
            details={"candidates": [c["bid_id"] for c in candidates]},
        )
    forms = {b["bid_id"]: b for b in report["bids"]}
    opened = await opening_forms(session, [c["bid_id"] for c in candidates])
    fields_candidates = []
    for c in candidates:
        form = opened.get(c["bid_id"], {})
        entry = {
            "rank": c["rank"],
            "name": c["bidder"],
            "credit_code": c["credit_code"],
            "price_fen": c["price_fen"],
            "quality": form.get("quality"),
            "duration_days": form.get("duration_days"),
            "project_leader": given[c["bid_id"]].project_leader,
            "certificate": given[c["bid_id"]].certificate,
            "qualifications": given[c["bid_id"]].qualifications,
            "abnormally_low": forms[c["bid_id"]]["abnormally_low"],
        }
        if report["method"] == "comprehensive":
            entry["score"] = c["total"]
        else:
            entry["evaluated_price_fen"] = c["evaluated_price_fen"]
        fields_candidates.append(entry)
    starts, ends = act.at, act.at + timedelta(days=data.days)
    late = act.at - report_row.produced_at > PUBLISH_WITHIN
    lines = [f"{project.name}{section.name}评标工作已经结束，现将中标候选人公示如下："]
    for e in fields_candidates:
        lines.append(
            f"第{e['rank']}名：{e['name']}，投标报价 {_money(e['price_fen'])}，工期 {e['duration_days']} 日历天，"
            f"质量 {e['quality']}，项目负责人 {e['project_leader']}（{e['certificate']}）"
            + (f"，综合得分 {e['score']}" if "score" in e else f"，评审价 {_money(e['evaluated_price_fen'])}")
        )
    lines.append(
        f"公示期：{starts.astimezone(SHANGHAI):%Y年%m月%d日 %H:%M} 至 {ends.astimezone(SHANGHAI):%Y年%m月%d日 %H:%M}。"
    )
    draft = await notice_services.create_draft(
        session,
        act,
        NoticeDraftCreate(
            project_id=project.id,
            kind="candidate_publicity",
            title=f"{project.name}{section.name}中标候选人公示"[:300],
            body="\n".join(lines),
            fields={
                "candidates": fields_candidates,
                "evaluation_summary": _summary(report),
                "publicity_start": starts.isoformat(),
                "publicity_end": ends.isoformat(),
                "objection_how": data.objection_how.strip() or DEFAULT_OBJECTION_HOW,
                "report_sha256": report_row.report_sha256,
            },
            section_ids=[section_id],
        ),
    )
    await notice_services.publish(session, act, draft.id, tz=SHANGHAI, by_platform=True)
    row = CandidatePublicity(section_id=section_id, notice_id=draft.id, starts_at=starts, ends_at=ends, late=late)
    session.add(row)
    if late:
        await raise_alert(
            session,
            kind="publicity_late",
            project_id=project.id,
            subject_type="section",
            subject_id=section_id,
            message_zh=f"{project.name}{section.name}：评标报告形成后超过3日才公示中标候选人（条例 §54）",
            message_en="The candidates were published more than 3 days after the evaluation report (Reg. Art. 54)",
            details={"report_at": report_row.produced_at.isoformat(), "published_at": act.at.isoformat()},
            at=act.at,
        )
    await session.flush()
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="evaluation.publicity",
        subject_type="section",
        subject_id=section_id,
        details={"notice_id": draft.id, "ends_at": ends.isoformat(), "late": late},
    )
    return row


async def publicity_view(session: AsyncSession, section_id: int) -> dict[str, Any]:
    """Public: the window (as lengthened by pauses), whether it is paused, and the objections' replies."""
    row = await _publicity(session, section_id)
    section, _ = await section_and_project(session, section_id)
    objections = list(
        await session.scalars(select(Objection).where(Objection.section_id == section_id).order_by(Objection.id))
    )
    return {
        "section_id": section_id,
        "notice_id": row.notice_id,
        "section_state": section.state,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "paused": row.paused_at is not None,
        "paused_seconds": row.paused_seconds,
        "late": row.late,
        "objections": [
            {
                "id": o.id,
                "filed_at": o.filed_at.isoformat(),
                "reply_due_at": o.reply_due_at.isoformat(),
                "answered": o.replied_at is not None,
                "outcome": o.outcome,
                "reply_notice_id": o.reply_notice_id,
            }
            for o in objections
        ],
    }


# --- pausing and resuming ---------------------------------------------------------------------------------


async def _pause(session: AsyncSession, act: Act, project: Project, section: Section) -> None:
    """Stop the publicity clock and suspend the trade, once (later pauses while paused change nothing)."""
    claimed = await session.execute(
        update(CandidatePublicity)
        .where(CandidatePublicity.section_id == section.id, CandidatePublicity.paused_at.is_(None))
        .values(paused_at=act.at)
    )
    if claimed.rowcount == 1 and section.state == "publicity":
        await move_sections(session, act, project, [section], "suspend", roles=("staff",))
    await session.refresh(await _publicity(session, section.id))


async def _holding(session: AsyncSession, section_id: int) -> int:
    """What still holds the trade: unanswered objections and complaints the supervisors suspended it for."""
    objections = await session.scalar(
        select(func.count()).select_from(Objection).where(Objection.section_id == section_id, Objection.reply.is_(None))
    )
    complaints = await session.scalar(
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.section_id == section_id, Complaint.suspended.is_(True), Complaint.ruled_at.is_(None))
    )
    return int(objections or 0) + int(complaints or 0)


async def _maybe_resume(session: AsyncSession, act: Act, project: Project, section: Section) -> None:
    """With nothing holding the trade any more, restart the clock: the window ends later by the pause."""
    await session.flush()
    if await _holding(session, section.id):
        return
    row = await _publicity(session, section.id)
    if row.paused_at is None:
        return
    paused = act.at - row.paused_at
    claimed = await session.execute(
        update(CandidatePublicity)
        .where(CandidatePublicity.section_id == section.id, CandidatePublicity.paused_at == row.paused_at)
        .values(
            paused_at=None,
            paused_seconds=CandidatePublicity.paused_seconds + int(paused.total_seconds()),
            ends_at=row.ends_at + paused,
        )
    )
    if claimed.rowcount == 1 and section.state == "publicity_suspended":
        await move_sections(session, act, project, [section], "resume", roles=("staff",))
    await session.refresh(row)


# --- objections ---------------------------------------------------------------------------------------------


async def _bidder_of(session: AsyncSession, actor: Actor | None, section_id: int) -> Actor:
    if actor is None or not actor.has_role("bidder") or actor.organisation_id is None:
        raise Forbidden(
            "仅本标段的投标人可以提出异议或投诉", "Only this section's bidders may do this", code="bidders_only"
        )
    bid = await session.scalar(
        select(Bid.id).where(Bid.section_id == section_id, Bid.organisation_id == actor.organisation_id).limit(1)
    )
    if bid is None:
        raise Forbidden(
            "您的单位没有参加本标段投标", "Your organisation did not bid for this section", code="not_a_bidder"
        )
    return actor


async def file_objection(session: AsyncSession, act: Act, section_id: int, data: schemas.ObjectionIn) -> Objection:
    actor = await _bidder_of(session, act.actor, section_id)
    section, project = await section_and_project(session, section_id)
    row = await _publicity(session, section_id)
    open_now = section.state in ("publicity", "publicity_suspended") and (
        row.paused_at is not None or act.at < row.ends_at
    )
    if not open_now:
        raise RuleViolation(
            "对评标结果的异议应当在中标候选人公示期间提出",
            "An objection to the evaluation result must be raised during the candidate publicity",
            code="publicity_closed",
            rule="条例 §54",
        )
    objection = Objection(
        section_id=section_id,
        organisation_id=actor.organisation_id,
        person_id=actor.person_id,
        subject=data.subject.strip(),
        text=data.text.strip(),
        filed_at=act.at,
        reply_due_at=act.at + REPLY_WITHIN,
    )
    session.add(objection)
    await session.flush()
    await _pause(session, act, project, section)
    await log.append(
        session,
        event_key=f"objection:{objection.id}",
        kind="objection",
        document=log_entries.objection(
            trade_code=project.trade_code,
            section_id=section_id,
            objection_id=objection.id,
            text=objection.text,
            filed_at=act.at,
        ),
        at=act.at,
    )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="objection.file",
        subject_type="section",
        subject_id=section_id,
        details={"objection_id": objection.id},
    )
    return objection


async def reply_objection(
    session: AsyncSession, act: Act, objection_id: int, data: schemas.ObjectionReplyIn
) -> Objection:
    objection = await session.get(Objection, objection_id)
    if objection is None:
        raise NotFound("没有这条异议", "No such objection", code="objection_not_found")
    section, project = await section_and_project(session, objection.section_id)
    actor = centre_staff(act, project, "答复异议", "reply to objections")
    claimed = await session.execute(
        update(Objection)
        .where(Objection.id == objection_id, Objection.reply.is_(None))
        .values(reply=data.reply.strip())
    )
    if claimed.rowcount != 1:
        raise Conflict("这条异议已经答复", "This objection has been answered", code="already_answered")
    await session.refresh(objection)
    objection.outcome, objection.replied_at, objection.replied_by = data.outcome, act.at, actor.person_id
    late = act.at > objection.reply_due_at
    draft = await notice_services.create_draft(
        session,
        act,
        NoticeDraftCreate(
            project_id=project.id,
            kind="objection_reply",
            title=f"{project.name}{section.name}关于中标候选人公示异议的答复"[:300],
            body=(
                f"本标段中标候选人公示期间收到异议一件（{objection.filed_at.astimezone(SHANGHAI):%Y年%m月%d日}），"
                f"事由：{objection.subject}。\n答复：{objection.reply}"
            ),
            fields={
                "objection_received_at": objection.filed_at.isoformat(),
                "objection_subject": objection.subject,
                "outcome": data.outcome,
                "reply": objection.reply,
                "replied_at": act.at.isoformat(),
                "late": late,
            },
            section_ids=[section.id],
        ),
    )
    await notice_services.publish(session, act, draft.id, tz=SHANGHAI, by_platform=True)
    objection.reply_notice_id = draft.id
    if late:
        await raise_alert(
            session,
            kind="objection_reply_late",
            project_id=project.id,
            subject_type="objection",
            subject_id=objection.id,
            message_zh=f"{project.name}{section.name}：异议超过3日才答复（条例 §54）",
            message_en="An objection was answered more than 3 days after it was raised (Reg. Art. 54)",
            details={"filed_at": objection.filed_at.isoformat(), "replied_at": act.at.isoformat()},
            at=act.at,
        )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="objection.reply",
        subject_type="objection",
        subject_id=objection.id,
        details={"outcome": data.outcome, "notice_id": draft.id, "late": late},
    )
    await _maybe_resume(session, act, project, section)
    return objection


async def objections_for(session: AsyncSession, act: Act, section_id: int) -> list[dict[str, Any]]:
    """Staff and supervisors see every objection with the objector; a bidder sees its own."""
    _, project = await section_and_project(session, section_id)
    query = select(Objection).where(Objection.section_id == section_id).order_by(Objection.id)
    actor = act.actor
    if actor is not None and actor.has_role("bidder") and actor.organisation_id is not None:
        query = query.where(Objection.organisation_id == actor.organisation_id)
    else:
        staff_or_supervisor(act, project, "查看异议", "read objections")
    return [
        {
            "id": o.id,
            "organisation_id": o.organisation_id,
            "subject": o.subject,
            "text": o.text,
            "filed_at": o.filed_at.isoformat(),
            "reply_due_at": o.reply_due_at.isoformat(),
            "reply": o.reply,
            "outcome": o.outcome,
            "replied_at": o.replied_at.isoformat() if o.replied_at else None,
            "reply_notice_id": o.reply_notice_id,
        }
        for o in await session.scalars(query)
    ]


# --- complaints ------------------------------------------------------------------------------------------


async def file_complaint(session: AsyncSession, act: Act, section_id: int, data: schemas.ComplaintIn) -> Complaint:
    actor = await _bidder_of(session, act.actor, section_id)
    _, project = await section_and_project(session, section_id)
    objection = await session.get(Objection, data.objection_id)
    if objection is None or objection.section_id != section_id or objection.organisation_id != actor.organisation_id:
        raise RuleViolation(
            "就中标候选人公示事项投诉的，应当先向招标人提出异议：请选择您单位本标段的异议",
            "A complaint about the candidate publicity must follow your own objection in this section",
            code="objection_first",
            rule="条例 §60",
        )
    answered_or_due = objection.replied_at or (objection.reply_due_at if act.at > objection.reply_due_at else None)
    if answered_or_due is None:
        raise RuleViolation(
            "异议答复期间不得投诉：请等待答复或答复期限届满",
            "Wait for the reply to your objection (or its time limit) before complaining",
            code="objection_pending",
            rule="条例 §60",
        )
    if act.at > answered_or_due + COMPLAIN_WITHIN:
        raise RuleViolation(
            "投诉应当自知道或者应当知道之日起10日内提出",
            "A complaint must be filed within 10 days of learning of the matter",
            code="complaint_late",
            rule="条例 §60",
        )
    calendar = await load_calendar(session)
    accept_by = calendar.add_working_days(act.at.astimezone(SHANGHAI).date(), ACCEPT_WORKING_DAYS)
    complaint = Complaint(
        section_id=section_id,
        organisation_id=actor.organisation_id,
        person_id=actor.person_id,
        objection_id=objection.id,
        text=data.text.strip(),
        filed_at=act.at,
        accept_due_at=_end_of_day(accept_by),
        state="filed",
    )
    session.add(complaint)
    await session.flush()
    await log.append(
        session,
        event_key=f"complaint:{complaint.id}",
        kind="complaint",
        document=log_entries.complaint(
            trade_code=project.trade_code,
            section_id=section_id,
            complaint_id=complaint.id,
            text=complaint.text,
            filed_at=act.at,
        ),
        at=act.at,
    )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="complaint.file",
        subject_type="section",
        subject_id=section_id,
        details={"complaint_id": complaint.id},
    )
    return complaint


async def _supervisor_of(session: AsyncSession, act: Act, complaint_id: int) -> tuple[Actor, Complaint]:
    """The acting supervisor and the complaint, if the complaint is about its own centre's trade."""
    if act.actor is None or not act.actor.has_role("supervisor"):
        raise Forbidden("投诉由行政监督部门处理", "Complaints are handled by the supervisors", code="supervisors_only")
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("没有这件投诉", "No such complaint", code="complaint_not_found")
    require_same_centre(act.actor, await centre_of_section(session, complaint.section_id) or 0)
    return act.actor, complaint


async def decide_complaint(
    session: AsyncSession, act: Act, complaint_id: int, data: schemas.ComplaintDecisionIn
) -> Complaint:
    actor, complaint = await _supervisor_of(session, act, complaint_id)
    claimed = await session.execute(
        update(Complaint)
        .where(Complaint.id == complaint_id, Complaint.state == "filed")
        .values(state="accepted" if data.accept else "rejected")
    )
    if claimed.rowcount != 1:
        raise Conflict("这件投诉已经决定是否受理", "This complaint has been decided on", code="already_decided")
    await session.refresh(complaint)
    section, project = await section_and_project(session, complaint.section_id)
    complaint.decided_at, complaint.decided_by, complaint.decision_note = act.at, actor.person_id, data.note.strip()
    if data.accept:
        calendar = await load_calendar(session)
        complaint.ruling_due_at = _end_of_day(
            calendar.add_working_days(act.at.astimezone(SHANGHAI).date(), RULE_WORKING_DAYS)
        )
        if data.suspend:
            if section.state not in ("publicity", "publicity_suspended"):
                raise RuleViolation(
                    "只能在中标候选人公示阶段暂停",
                    "Only a trade in its candidate publicity can be suspended here",
                    code="cannot_suspend",
                )
            complaint.suspended = True
            await session.flush()
            await _pause(session, act, project, section)
    elif data.suspend:
        raise InvalidInput(
            "不予受理的投诉不能暂停交易", "A complaint not accepted cannot suspend the trade", code="bad_decision"
        )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="complaint.accept" if data.accept else "complaint.reject",
        subject_type="complaint",
        subject_id=complaint.id,
        details={"suspend": data.suspend, "late": act.at > complaint.accept_due_at},
    )
    return complaint


async def rule_complaint(
    session: AsyncSession, act: Act, complaint_id: int, data: schemas.ComplaintRulingIn
) -> Complaint:
    actor, complaint = await _supervisor_of(session, act, complaint_id)
    claimed = await session.execute(
        update(Complaint).where(Complaint.id == complaint_id, Complaint.state == "accepted").values(state="ruled")
    )
    if claimed.rowcount != 1:
        raise Conflict(
            "只能对已受理、尚未处理的投诉作出处理决定",
            "Only an accepted complaint awaiting its ruling can be ruled on",
            code="not_awaiting_ruling",
        )
    await session.refresh(complaint)
    complaint.ruling, complaint.ruled_at = data.ruling.strip(), act.at
    section, project = await section_and_project(session, complaint.section_id)
    await log.append(
        session,
        event_key=f"complaint_ruling:{complaint.id}",
        kind="complaint_ruling",
        document=log_entries.complaint_ruling(
            trade_code=project.trade_code,
            section_id=section.id,
            complaint_id=complaint.id,
            ruling=complaint.ruling,
            ruled_at=act.at,
        ),
        at=act.at,
    )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="complaint.rule",
        subject_type="complaint",
        subject_id=complaint.id,
        details={"late": complaint.ruling_due_at is not None and act.at > complaint.ruling_due_at},
    )
    if complaint.suspended:
        await _maybe_resume(session, act, project, section)
    return complaint


def complaint_read(c: Complaint) -> dict[str, Any]:
    return {
        "id": c.id,
        "section_id": c.section_id,
        "organisation_id": c.organisation_id,
        "objection_id": c.objection_id,
        "text": c.text,
        "filed_at": c.filed_at.isoformat(),
        "state": c.state,
        "accept_due_at": c.accept_due_at.isoformat(),
        "decided_at": c.decided_at.isoformat() if c.decided_at else None,
        "decision_note": c.decision_note,
        "ruling_due_at": c.ruling_due_at.isoformat() if c.ruling_due_at else None,
        "ruling": c.ruling,
        "ruled_at": c.ruled_at.isoformat() if c.ruled_at else None,
        "suspended": c.suspended,
    }


async def complaints_for(session: AsyncSession, act: Act, section_id: int) -> list[dict[str, Any]]:
    """Supervisors and the centre's staff see every complaint; a bidder sees its own."""
    _, project = await section_and_project(session, section_id)
    query = select(Complaint).where(Complaint.section_id == section_id).order_by(Complaint.id)
    actor = act.actor
    if actor is not None and actor.has_role("bidder") and actor.organisation_id is not None:
        query = query.where(Complaint.organisation_id == actor.organisation_id)
    else:
        staff_or_supervisor(act, project, "查看投诉", "read complaints")
    return [complaint_read(c) for c in await session.scalars(query)]


async def require_not_held(session: AsyncSession, section_id: int) -> CandidatePublicity:
    """The award may follow the publicity only when its window has run and nothing holds the trade."""
    row = await _publicity(session, section_id)
    if await _holding(session, section_id) or row.paused_at is not None:
        raise RuleViolation(
            "有尚未答复的异议或尚未处理的投诉，交易暂停中，不能定标",
            "An objection awaits its reply or a complaint its ruling: the trade is paused",
            code="trade_paused",
            rule="条例 §54",
        )
    return row
