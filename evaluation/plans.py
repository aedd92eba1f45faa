"""The evaluation plan (评标办法): fixed by staff before the bid deadline, as the tender documents state it,
and logged; after the deadline it cannot change. It is public, like the tender documents."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from evaluation import schemas, scoring
from evaluation.models import EvaluationPlan
from evaluation.sections import centre_staff
from trading.audit.services import record
from trading.canonical import canonical_bytes
from trading.context import Act, Actor
from trading.errors import InvalidInput, NotFound, RuleViolation
from trading.log import entries as log_entries
from trading.log import services as log
from trading.projects.services import may_see_drafts, section_and_project

FULL_MARKS = Decimal(100)


def plan_document(data: schemas.PlanIn) -> dict[str, Any]:
    """The plan as stored, logged and published: plain JSON, decimals as strings."""
    return msgspec.to_builtins(data)  # type: ignore[no-any-return]


def _within(value: Decimal, low: Decimal, high: Decimal, name: str) -> None:
    if not (value.is_finite() and low <= value <= high):
        raise InvalidInput(
            f"{name} 须在 {low} 与 {high} 之间", f"{name} must be between {low} and {high}", code="plan_out_of_range"
        )


def check(data: schemas.PlanIn) -> None:
    """Figures in range; a comprehensive plan has a price formula and criteria adding up to 100 points with the
    price score."""
    _within(data.abnormal_ratio, Decimal("0.01"), Decimal(1), "abnormal_ratio")
    if data.price_formula is not None:
        f = data.price_formula
        _within(f.full, Decimal(0), FULL_MARKS, "price_formula.full")
        _within(f.discount, Decimal(0), Decimal("0.99"), "price_formula.discount")
        _within(f.above, Decimal(0), FULL_MARKS, "price_formula.above")
        _within(f.below, Decimal(0), FULL_MARKS, "price_formula.below")
    for c in data.criteria:
        _within(c.max_points, Decimal("0.5"), FULL_MARKS, f"criteria.{c.key}.max_points")
    if data.method == "comprehensive":
        if data.price_formula is None or not data.criteria:
            raise InvalidInput(
                "综合评估法须给出价格分公式和评分因素",
                "Comprehensive scoring needs a price formula and criteria",
                code="plan_incomplete",
            )
        keys = [c.key for c in data.criteria]
        if len(set(keys)) != len(keys):
            raise InvalidInput("评分因素的代号重复", "Criterion keys repeat", code="plan_duplicate_criterion")
        total = data.price_formula.full + sum((c.max_points for c in data.criteria), Decimal(0))
        if total != FULL_MARKS:
            raise InvalidInput(
                f"价格分与各评分因素满分之和应为 100 分，现为 {total} 分",
                f"The price score and the criteria must add up to 100 points, not {total}",
                code="plan_not_100",
            )
    elif data.criteria:
        raise InvalidInput(
            "经评审的最低投标价法不设评分因素（偏差以价格折算）",
            "The lowest evaluated price method has no scored criteria (deviations are priced)",
            code="plan_criteria_not_allowed",
        )


def formula_of(plan: dict[str, Any]) -> scoring.PriceFormula:
    f = plan.get("price_formula") or {}
    return scoring.PriceFormula(
        kind=f.get("kind", "lowest"),
        full=Decimal(str(f.get("full", "30"))),
        discount=Decimal(str(f.get("discount", "0"))),
        above=Decimal(str(f.get("above", "1"))),
        below=Decimal(str(f.get("below", "0.5"))),
    )


def criteria_of(plan: dict[str, Any]) -> list[scoring.Criterion]:
    return [
        scoring.Criterion(key=c["key"], name=c["name"], max_points=Decimal(str(c["max_points"])), group=c["group"])
        for c in plan.get("criteria", [])
    ]


async def set_plan(session: AsyncSession, act: Act, section_id: int, data: schemas.PlanIn) -> EvaluationPlan:
    section, project = await section_and_project(session, section_id)
    actor = centre_staff(act, project, "制定评标办法", "set the evaluation plan")
    if section.state not in ("draft", "tendering") or (
        section.deadline_at is not None and act.at >= section.deadline_at
    ):
        raise RuleViolation(
            "评标办法须在投标截止前确定（与招标文件一致），截止后不能更改",
            "The evaluation plan is fixed before the bid deadline, as the tender documents state it",
            code="plan_fixed",
            rule="条例 §49",
        )
    check(data)
    document = plan_document(data)
    digest = hashlib.sha256(canonical_bytes(document)).hexdigest()
    row = await session.get(EvaluationPlan, section_id)
    if row is None:
        row = EvaluationPlan(section_id=section_id, set_by=actor.person_id)
        session.add(row)
    row.method, row.plan, row.plan_sha256, row.set_at, row.set_by = (
        data.method,
        document,
        digest,
        act.at,
        actor.person_id,
    )
    await session.flush()
    await log.append(
        session,
        event_key=f"evaluation_plan:{section_id}:{digest}",
        kind="evaluation_plan",
        document=log_entries.evaluation_plan(
            trade_code=project.trade_code, section_id=section_id, plan=document, at=act.at
        ),
        at=act.at,
    )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="evaluation.plan",
        subject_type="section",
        subject_id=section_id,
        details={"method": data.method, "plan_sha256": digest},
    )
    return row


async def plan_of(session: AsyncSession, section_id: int) -> EvaluationPlan:
    row = await session.get(EvaluationPlan, section_id)
    if row is None:
        raise NotFound("此标段没有在平台上评标的评标办法", "This section has no evaluation plan", code="no_plan")
    return row


async def public_plan(session: AsyncSession, section_id: int, viewer: Actor | None) -> EvaluationPlan:
    """The plan as the tender documents publish it: once the section's trade is published; before that only
    whoever may see the draft (its centre's staff and supervisors, the admin) — to anyone else there is none."""
    section, project = await section_and_project(session, section_id)
    if section.state == "draft" and not may_see_drafts(viewer, project):
        raise NotFound("此标段没有在平台上评标的评标办法", "This section has no evaluation plan", code="no_plan")
    return await plan_of(session, section_id)


def read(row: EvaluationPlan) -> dict[str, Any]:
    return {
        "section_id": row.section_id,
        "method": row.method,
        "plan": row.plan,
        "plan_sha256": row.plan_sha256,
        "set_at": row.set_at.isoformat(),
    }
