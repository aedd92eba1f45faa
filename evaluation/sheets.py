"""Score sheets: each evaluator on the panel qualifies or rejects every opened bid (否决, with its 条例 §51
ground) and scores it by the plan — criterion points (综合评估法) or priced deviations (经评审的最低投标价法).
A sheet can be saved and changed until its evaluator submits it; then it is fixed and its hash recorded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.models import Bid, Opening, OpeningResult
from evaluation import plans, schemas
from evaluation.models import EvaluationReport, ScoreSheet
from evaluation.panel import require_panel_member
from trading.accounts.models import Organisation
from trading.audit.services import record
from trading.canonical import canonical_bytes
from trading.context import Act
from trading.errors import Conflict, InvalidInput, RuleViolation
from trading.projects.services import section_and_project


@dataclass(frozen=True)
class OpenedBid:
    """A bid the opening opened: what the evaluation starts from."""

    bid_id: int
    bidder: str
    credit_code: str
    organisation_id: int
    form: dict[str, Any]
    received_at: datetime

    @property
    def price_fen(self) -> int:
        return int(self.form["total_price_fen"])


async def opened_bids(session: AsyncSession, section_id: int) -> list[OpenedBid]:
    """The section's bids that the opening opened (a bid that failed to open is not evaluated, 20号令 §31)."""
    rows = (
        await session.execute(
            select(Bid, OpeningResult, Organisation)
            .join(OpeningResult, OpeningResult.bid_id == Bid.id)
            .join(Organisation, Organisation.id == Bid.organisation_id)
            .where(Bid.section_id == section_id, OpeningResult.outcome == "opened")
            .order_by(Bid.id)
        )
    ).all()
    return [
        OpenedBid(
            bid_id=bid.id,
            bidder=org.name,
            credit_code=org.credit_code,
            organisation_id=org.id,
            form=dict(result.form or {}),
            received_at=bid.received_at,
        )
        for bid, result, org in rows
    ]


async def opening_forms(session: AsyncSession, bid_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The opening forms (开标一览表) the opening decrypted, by bid."""
    rows = await session.scalars(select(OpeningResult).where(OpeningResult.bid_id.in_(bid_ids or [0])))
    return {r.bid_id: dict(r.form or {}) for r in rows}


async def require_under_evaluation(session: AsyncSession, section_id: int) -> None:
    section, _ = await section_and_project(session, section_id)
    opening = await session.get(Opening, section_id)
    if opening is None or opening.state != "opened" or section.state != "evaluating":
        raise RuleViolation(
            "此标段不在评标阶段（开标记录公布后、评标报告完成前）",
            "This section is not under evaluation (after the opening record, before the report)",
            code="not_evaluating",
        )
    if await session.get(EvaluationReport, section_id) is not None:
        raise Conflict("评标报告已经形成，评分不能再改", "The report is made: scores are fixed", code="report_made")


def _entry_document(entry: schemas.SheetEntryIn) -> dict[str, Any]:
    return msgspec.to_builtins(entry)  # type: ignore[no-any-return]


def check_entries(
    entries: list[schemas.SheetEntryIn], bids: list[OpenedBid], plan: dict[str, Any], *, complete: bool
) -> None:
    """Refuse a sheet that names bids not under evaluation, twice, rejects without a ground, or scores outside the
    plan; a submitted sheet must cover every bid."""
    known = {b.bid_id for b in bids}
    seen: set[int] = set()
    criteria = {c.key: c for c in plans.criteria_of(plan)}
    for entry in entries:
        if entry.bid_id not in known:
            raise InvalidInput(
                f"投标 {entry.bid_id} 不在本标段的评审范围内",
                f"Bid {entry.bid_id} is not under evaluation here",
                code="unknown_bid",
            )
        if entry.bid_id in seen:
            raise InvalidInput(
                f"投标 {entry.bid_id} 出现了两次", f"Bid {entry.bid_id} appears twice", code="duplicate_bid"
            )
        seen.add(entry.bid_id)
        if not entry.qualified:
            if entry.rejection not in schemas.REJECTION_GROUNDS:
                raise InvalidInput(
                    "否决投标须写明《招标投标法实施条例》第五十一条规定的情形",
                    "A rejection must name its ground under Art. 51 of the Regulations",
                    code="rejection_ground_required",
                    details={"grounds": sorted(schemas.REJECTION_GROUNDS)},
                )
            if len(entry.note.strip()) < 2:
                raise InvalidInput(
                    "否决投标须写明理由", "A rejection needs the evaluator's reason", code="rejection_reason_required"
                )
            continue
        if entry.rejection is not None:
            raise InvalidInput(
                "合格的投标不能填写否决情形", "A qualified bid has no rejection ground", code="bad_entry"
            )
        if plan["method"] == "comprehensive":
            unknown = sorted(set(entry.scores) - set(criteria))
            if unknown:
                raise InvalidInput(
                    f"评分因素不在评标办法中：{', '.join(unknown)}",
                    f"Criteria not in the plan: {', '.join(unknown)}",
                    code="unknown_criterion",
                )
            for key, points in entry.scores.items():
                if not (points.is_finite() and 0 <= points <= criteria[key].max_points):
                    raise InvalidInput(
                        f"「{criteria[key].name}」最高 {criteria[key].max_points} 分，不能给 {points} 分",
                        f"{key} is out of {criteria[key].max_points}, not {points}",
                        code="score_out_of_range",
                    )
            missing = [c.name for k, c in criteria.items() if k not in entry.scores]
            if complete and missing:
                raise InvalidInput(
                    f"投标 {entry.bid_id} 尚未评分：{'、'.join(missing)}",
                    f"Bid {entry.bid_id} is not scored on every criterion",
                    code="sheet_incomplete",
                )
        elif entry.scores:
            raise InvalidInput(
                "经评审的最低投标价法不打分，偏差以价格调整（adjustment_fen）折算",
                "The lowest evaluated price method takes price adjustments, not points",
                code="scores_not_allowed",
            )
    if complete and seen != known:
        raise InvalidInput(
            f"提交前须评审全部 {len(known)} 份投标，尚缺 {len(known - seen)} 份",
            f"Every one of the {len(known)} bids must be evaluated before submitting",
            code="sheet_incomplete",
        )


async def save(session: AsyncSession, act: Act, section_id: int, data: schemas.SheetIn) -> ScoreSheet:
    expert = await require_panel_member(session, act.actor, section_id)
    assert act.actor is not None
    await require_under_evaluation(session, section_id)
    plan = await plans.plan_of(session, section_id)
    bids = await opened_bids(session, section_id)
    check_entries(data.entries, bids, plan.plan, complete=data.submit)
    sheet = await session.get(ScoreSheet, (section_id, expert.id))
    if sheet is not None and sheet.state == "submitted":
        raise Conflict(
            "您的评分表已经提交，不能更改", "Your sheet is submitted and cannot change", code="sheet_submitted"
        )
    if sheet is None:
        sheet = ScoreSheet(section_id=section_id, expert_id=expert.id, state="draft")
        session.add(sheet)
    sheet.entries = [_entry_document(e) for e in sorted(data.entries, key=lambda e: e.bid_id)]
    sheet.updated_at = act.at
    if data.submit:
        sheet.state, sheet.submitted_at = "submitted", act.at
        sheet.sheet_sha256 = hashlib.sha256(canonical_bytes(sheet.entries)).hexdigest()
    await session.flush()
    await record(
        session,
        actor=act.actor,
        address=act.address,
        at=act.at,
        action="evaluation.sheet.submit" if data.submit else "evaluation.sheet.save",
        subject_type="section",
        subject_id=section_id,
        details={"expert_id": expert.id, "entries": len(sheet.entries), "sheet_sha256": sheet.sheet_sha256},
    )
    return sheet


async def mine(session: AsyncSession, act: Act, section_id: int) -> dict[str, Any]:
    """An evaluator's own sheet, with the bids to evaluate and the plan."""
    expert = await require_panel_member(session, act.actor, section_id)
    sheet = await session.get(ScoreSheet, (section_id, expert.id))
    plan = await plans.plan_of(session, section_id)
    return {
        "section_id": section_id,
        "expert_id": expert.id,
        "plan": plan.plan,
        "rejection_grounds": {k: v[0] for k, v in schemas.REJECTION_GROUNDS.items()},
        "bids": [
            {"bid_id": b.bid_id, "bidder": b.bidder, "credit_code": b.credit_code, "form": b.form}
            for b in await opened_bids(session, section_id)
        ],
        "state": sheet.state if sheet else "empty",
        "entries": sheet.entries if sheet else [],
        "submitted_at": sheet.submitted_at.isoformat() if sheet and sheet.submitted_at else None,
    }
