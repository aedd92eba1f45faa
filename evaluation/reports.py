"""The evaluation report (评标报告): made by the platform from the panel's submitted sheets once every
evaluator has signed off, its hash logged at once. Staff, supervisors and the panel read it; a bidder learns
its own scores and rank with the result (87号令 §69), never before. Fewer than three qualified bids void
the tender (采购法 §36, 87号令 §44), which the platform publishes as a failed tender."""

from __future__ import annotations

import hashlib
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import reserve
from evaluation import plans
from evaluation.models import EvaluationReport, ExpertDraw, ScoreSheet
from evaluation.panel import panel_ids, require_panel_member
from evaluation.sections import centre_staff, staff_or_supervisor
from evaluation.sheets import opened_bids, require_under_evaluation
from evaluation.tally import BidFacts, compile_report
from notices import services as notice_services
from notices.schemas import NoticeDraftCreate
from trading.audit.services import record
from trading.canonical import canonical_bytes
from trading.context import Act
from trading.errors import Forbidden, NotFound, RuleViolation
from trading.log import entries as log_entries
from trading.log import services as log
from trading.projects.models import Project, Section
from trading.projects.services import section_and_project

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def make(session: AsyncSession, act: Act, section_id: int) -> EvaluationReport:
    section, project = await section_and_project(session, section_id)
    actor = centre_staff(act, project, "形成评标报告", "make the evaluation report")
    await require_under_evaluation(session, section_id)
    plan = await plans.plan_of(session, section_id)
    panel = await panel_ids(session, section_id)
    if not panel:
        raise RuleViolation("尚未抽取评标专家", "The panel has not been drawn", code="not_drawn", rule="条例 §46")
    sheets = {
        s.expert_id: s
        for s in await session.scalars(
            select(ScoreSheet).where(ScoreSheet.section_id == section_id, ScoreSheet.state == "submitted")
        )
        if s.expert_id in panel
    }
    waiting = [x for x in panel if x not in sheets]
    if waiting:
        raise RuleViolation(
            f"还有 {len(waiting)} 名评标专家未提交评分表",
            f"{len(waiting)} evaluators have not submitted their sheets",
            code="sheets_missing",
            details={"waiting": len(waiting)},
        )
    bids = [
        BidFacts(b.bid_id, b.bidder, b.credit_code, b.price_fen, b.received_at.isoformat(), b.form)
        for b in await opened_bids(session, section_id)
    ]
    ceiling = await reserve.active(session, section_id)
    ceiling_fen = (
        int(ceiling.form["total_price_fen"])
        if ceiling is not None and ceiling.kind == "ceiling" and ceiling.outcome == "opened" and ceiling.form
        else None
    )
    draw = await session.get(ExpertDraw, section_id)
    assert draw is not None
    content = compile_report(
        plan.plan,
        bids,
        {x: s.entries for x, s in sheets.items()},
        ceiling_fen=ceiling_fen,
        lot_seed=draw.seed,
    )
    report = {
        "kind": "evaluation_report",
        "trade_code": project.trade_code,
        "section_id": section_id,
        "section_code": section.code,
        "plan_sha256": plan.plan_sha256,
        "ceiling_fen": ceiling_fen,
        "sheet_sha256": {str(x): s.sheet_sha256 for x, s in sorted(sheets.items())},
        "produced_at": act.at.isoformat(),
        **content,
    }
    digest = hashlib.sha256(canonical_bytes(report)).hexdigest()
    row = EvaluationReport(
        section_id=section_id,
        report=report,
        report_sha256=digest,
        void=report["void"],
        produced_at=act.at,
        produced_by=actor.person_id,
    )
    session.add(row)
    await session.flush()
    await log.append(
        session,
        event_key=f"evaluation_report:{section_id}",
        kind="evaluation_report",
        document=log_entries.evaluation_report(
            trade_code=project.trade_code, section_id=section_id, report_sha256=digest, void=row.void, at=act.at
        ),
        at=act.at,
    )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="evaluation.report",
        subject_type="section",
        subject_id=section_id,
        details={"report_sha256": digest, "void": row.void, "ranked": len(report["ranking"])},
    )
    if row.void:
        await _publish_void(session, act, section, project, report)
    return row


async def _publish_void(
    session: AsyncSession, act: Act, section: Section, project: Project, report: dict[str, Any]
) -> None:
    """Fewer than three qualified bids: the tender is void, published as a failed-tender notice."""
    section_id = section.id
    opening_notice = section.opening_notice_id
    draft = await notice_services.create_draft(
        session,
        act,
        NoticeDraftCreate(
            project_id=project.id,
            kind="termination",
            title=f"{project.name}{section.name}招标失败公告"[:300],
            body=f"经评标委员会评审，{report['void_reason'].split(' / ')[0]}。",
            fields={"outcome": "failed", "reason": report["void_reason"], "next_steps": "依法重新招标（采购）"},
            section_ids=[section_id],
            target_notice_id=opening_notice,
        ),
    )
    await notice_services.publish(session, act, draft.id, tz=SHANGHAI)


async def report_of(session: AsyncSession, section_id: int) -> EvaluationReport:
    row = await session.get(EvaluationReport, section_id)
    if row is None:
        raise NotFound("评标报告尚未形成", "The evaluation report is not made yet", code="no_report")
    return row


async def view(session: AsyncSession, act: Act, section_id: int) -> dict[str, Any]:
    """Staff of the centre, supervisors and the section's own panel; nobody else (scores stay with them)."""
    _, project = await section_and_project(session, section_id)
    actor = act.actor
    if actor is not None and actor.has_role("evaluator"):
        await require_panel_member(session, actor, section_id)
    elif actor is None or not actor.has_role("staff", "admin", "supervisor"):
        raise Forbidden(
            "评标报告不向投标人和公众公开；投标人的得分和排序随结果通知书告知本人",
            "The report is not shown to bidders or the public; each bidder's own score and rank come with its "
            "result letter",
            code="scores_secret",
            rule="条例 §46",
        )
    else:
        staff_or_supervisor(act, project, "查看评标报告", "read the evaluation report")
    row = await report_of(session, section_id)
    return {"report": row.report, "report_sha256": row.report_sha256, "void": row.void}
