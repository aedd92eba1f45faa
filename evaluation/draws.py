"""A section's expert draw through its life: committed before the deadline, run after the opening, experts'
conflicts and replacements, and the reveal with the result (the construction: evaluation.draw).

Before the reveal the public sees only what was committed (the seed's hash, the pool's hash, the count and
specialities, when); staff of the section's centre and supervisors see the panel, because they must
contact and oversee it (条例 §46: the draw is supervised); bidders see nothing of it.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.models import Bid, Opening
from evaluation import draw as drawing
from evaluation import schemas
from evaluation.models import EvaluationReport, Expert, ExpertConflict, ExpertDraw
from evaluation.sections import centre_staff, staff_or_supervisor
from trading.accounts.models import Organisation
from trading.audit.services import record
from trading.context import Act
from trading.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from trading.log import entries as log_entries
from trading.log import services as log
from trading.log.models import DeadlineCheckpoint, LogCheckpoint
from trading.projects.models import Project
from trading.projects.services import section_and_project


async def _draw_of(session: AsyncSession, section_id: int) -> ExpertDraw:
    row = await session.get(ExpertDraw, section_id)
    if row is None:
        raise NotFound("此标段尚未承诺专家抽取", "No expert draw has been committed for this section", code="no_draw")
    return row


def _entries(pool: list[dict[str, Any]]) -> list[drawing.PoolEntry]:
    return [drawing.PoolEntry(e["expert_id"], tuple(e["specialities"]), e["organisation_credit_code"]) for e in pool]


async def commit(session: AsyncSession, act: Act, section_id: int, data: schemas.DrawIn, min_count: int) -> ExpertDraw:
    """Fix the draw before the deadline: a secret seed (its hash logged) and the pool it will draw from."""
    section, project = await section_and_project(session, section_id)
    actor = centre_staff(act, project, "组织专家抽取", "run the draw")
    if section.deadline_at is None or act.at >= section.deadline_at:
        raise RuleViolation(
            "专家抽取须在投标截止前承诺（抽取种子的哈希须先记入日志），此标段已截止或未定截止时间",
            "The draw must be committed before the bid deadline (its seed's hash logged first)",
            code="draw_after_deadline",
            rule="条例 §46",
        )
    if await session.get(ExpertDraw, section_id) is not None:
        raise Conflict(
            "此标段的专家抽取已经承诺，不能更改", "The draw is committed and cannot change", code="draw_committed"
        )
    if data.count < min_count or data.count % 2 == 0:
        raise RuleViolation(
            f"评标委员会人数须为 {min_count} 人以上单数",
            f"The panel must be an odd number of at least {min_count}",
            code="bad_panel_size",
            rule="法 §37",
        )
    experts = list(await session.scalars(select(Expert).where(Expert.active.is_(True))))
    pool = drawing.pool_for(
        [drawing.PoolEntry(e.id, tuple(e.specialities), e.organisation_credit_code) for e in experts],
        data.specialities,
    )
    if len(pool) < data.count:
        raise InvalidInput(
            f"专家库中具备所需专业的专家只有 {len(pool)} 名，少于抽取人数 {data.count}",
            f"Only {len(pool)} experts in the pool have those specialities; {data.count} are wanted",
            code="pool_too_small",
        )
    seed = os.urandom(32)
    row = ExpertDraw(
        section_id=section_id,
        count=data.count,
        specialities=sorted(set(data.specialities)),
        seed=seed,
        commitment=drawing.commitment(seed),
        pool=[e.document() for e in pool],
        pool_hash=drawing.pool_hash(pool),
        committed_at=act.at,
        committed_by=actor.person_id,
    )
    session.add(row)
    await session.flush()
    await log.append(
        session,
        event_key=f"expert_draw:{section_id}",
        kind="expert_draw_commitment",
        document=log_entries.expert_draw_commitment(
            trade_code=project.trade_code,
            section_id=section_id,
            seed_sha256=row.commitment,
            pool_sha256=row.pool_hash,
            pool_size=len(pool),
            count=row.count,
            specialities=row.specialities,
            committed_at=act.at,
        ),
        at=act.at,
    )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="expert_draw.commit",
        subject_type="section",
        subject_id=section_id,
        details={"count": row.count, "pool_size": len(pool), "seed_sha256": row.commitment},
    )
    return row


async def _compute(session: AsyncSession, row: ExpertDraw, project: Project) -> dict[str, Any]:
    bidders = sorted(
        set(
            await session.scalars(
                select(Organisation.credit_code)
                .join(Bid, Bid.organisation_id == Organisation.id)
                .where(Bid.section_id == row.section_id)
            )
        )
    )
    tenderer = await session.get(Organisation, project.tenderer_id)
    assert tenderer is not None and row.beacon is not None
    conflicts = sorted(
        await session.scalars(select(ExpertConflict.expert_id).where(ExpertConflict.section_id == row.section_id))
    )
    result = drawing.draw(
        row.seed,
        row.beacon,
        _entries(row.pool),
        count=row.count,
        tenderer_credit_code=tenderer.credit_code,
        bidder_credit_codes=bidders,
        conflicts=conflicts,
    )
    if result.short:
        raise RuleViolation(
            f"回避后可抽专家不足，尚缺 {result.short} 名：请监督人员决定补充专家库后重新招标或另行处理",
            f"After exclusions the pool is {result.short} short; the supervisors must decide",
            code="pool_exhausted",
            rule="条例 §46",
        )
    # The draw fixes persons, not just pool entries: the accounts drawn sit, whatever the pool says later.
    rows = await session.execute(select(Expert.id, Expert.person_id).where(Expert.id.in_(list(result.drawn) or [0])))
    accounts = dict(rows.all())
    return {
        "order": list(result.order),
        "drawn": list(result.drawn),
        "persons": {str(e): accounts.get(e) for e in result.drawn},
        "passed_over": {str(k): v for k, v in sorted(result.passed_over.items())},
        "conflicts": conflicts,
        "bidders": bidders,
        "tenderer": tenderer.credit_code,
    }


async def _log_result(session: AsyncSession, row: ExpertDraw, project: Project, act: Act, version: int) -> None:
    """The result is logged as a hash only: the panel stays secret until the reveal, and cannot change unseen."""
    assert row.result is not None
    await log.append(
        session,
        event_key=f"expert_draw_result:{row.section_id}:{version}",
        kind="expert_draw_result",
        document=log_entries.expert_draw_result(
            trade_code=project.trade_code,
            section_id=row.section_id,
            version=version,
            result=row.result,
            beacon_tree_size=row.beacon_tree_size,
            at=act.at,
        ),
        at=act.at,
    )


async def run(session: AsyncSession, act: Act, section_id: int) -> ExpertDraw:
    """Draw the panel once the opening record is out (the bidders are known; the beacon is fixed)."""
    _, project = await section_and_project(session, section_id)
    actor = centre_staff(act, project, "组织专家抽取", "run the draw")
    row = await _draw_of(session, section_id)
    if row.drawn_at is not None:
        raise Conflict("专家已经抽取", "The panel has already been drawn", code="already_drawn")
    opening = await session.get(Opening, section_id)
    cut = await session.get(DeadlineCheckpoint, section_id)
    if opening is None or opening.state != "opened" or cut is None:
        raise RuleViolation(
            "开标记录公布后方可抽取评标专家（须回避投标人）",
            "The panel is drawn once the opening record is out (bidders' people must be passed over)",
            code="opening_not_done",
            rule="条例 §46",
        )
    checkpoint = await session.get(LogCheckpoint, cut.size)
    assert checkpoint is not None
    row.beacon, row.beacon_tree_size = checkpoint.root_hash, checkpoint.size
    row.result = await _compute(session, row, project)
    row.drawn_at = act.at
    await _log_result(session, row, project, act, 1)
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="expert_draw.run",
        subject_type="section",
        subject_id=section_id,
        details={"drawn": len(row.result["drawn"]), "beacon_tree_size": row.beacon_tree_size},
    )
    return row


async def declare_conflict(session: AsyncSession, act: Act, section_id: int, data: schemas.ConflictIn) -> ExpertDraw:
    """An expert steps aside (回避): passed over if the draw has not run, replaced by the next in order if it has."""
    actor = act.actor
    if actor is None or not actor.has_role("evaluator"):
        raise Forbidden("仅评标专家本人可以申请回避", "Only the expert may declare a conflict", code="evaluator_only")
    expert = await session.scalar(select(Expert).where(Expert.person_id == actor.person_id))
    if expert is None:
        raise Forbidden("您的账号未关联专家库", "Your account is not in the expert pool", code="not_an_expert")
    _, project = await section_and_project(session, section_id)
    row = await _draw_of(session, section_id)
    if row.revealed_at is not None:
        raise RuleViolation("评标结果已公布，不能再申请回避", "The result is out", code="draw_revealed")
    if await session.get(EvaluationReport, section_id) is not None:
        raise RuleViolation(
            "评标报告已经形成，不能再申请回避", "The evaluation report is made: the panel is fixed", code="report_made"
        )
    if expert.id not in {e["expert_id"] for e in row.pool}:
        raise Forbidden("您不在此标段的抽取范围内", "You are not in this section's pool", code="not_in_pool")
    if await session.get(ExpertConflict, (section_id, expert.id)) is not None:
        raise Conflict("您已申请回避", "You have already declared a conflict", code="already_declared")
    session.add(ExpertConflict(section_id=section_id, expert_id=expert.id, reason=data.reason, declared_at=act.at))
    await session.flush()
    replaced = False
    if row.result is not None and expert.id in row.result["drawn"]:
        row.result = await _compute(session, row, project)
        replaced = True
        versions = len(row.result["conflicts"]) + 1
        await _log_result(session, row, project, act, versions)
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="expert_draw.conflict",
        subject_type="section",
        subject_id=section_id,
        details={"expert_id": expert.id, "replaced": replaced},
    )
    return row


async def reveal(session: AsyncSession, section_id: int, act: Act) -> ExpertDraw:
    """With the result notice: the seed and the panel become public (87号令 §47)."""
    row = await _draw_of(session, section_id)
    if row.result is None:
        raise RuleViolation("专家尚未抽取", "The panel has not been drawn", code="not_drawn")
    if row.revealed_at is None:
        row.revealed_at = act.at
    return row


async def _names(session: AsyncSession, ids: list[int]) -> list[dict[str, Any]]:
    experts = {e.id: e for e in await session.scalars(select(Expert).where(Expert.id.in_(ids or [0])))}
    return [
        {
            "expert_id": i,
            "name": experts[i].name,
            "organisation_name": experts[i].organisation_name,
            "specialities": experts[i].specialities,
        }
        for i in ids
    ]


async def public_view(session: AsyncSession, section_id: int) -> schemas.DrawRead:
    row = await _draw_of(session, section_id)
    view = schemas.DrawRead(
        section_id=section_id,
        state="revealed" if row.revealed_at else "drawn" if row.drawn_at else "committed",
        count=row.count,
        specialities=row.specialities,
        commitment=row.commitment,
        pool_hash=row.pool_hash,
        pool_size=len(row.pool),
        committed_at=row.committed_at,
        drawn_at=row.drawn_at,
    )
    if row.revealed_at is not None and row.result is not None:
        view.seed = base64.b64encode(row.seed).decode()
        view.beacon = row.beacon.hex() if row.beacon else None
        view.beacon_tree_size = row.beacon_tree_size
        view.pool = row.pool
        view.result = row.result
        view.conflicts = row.result.get("conflicts", [])
        view.panel = await _names(session, row.result["drawn"])
    return view


async def panel(session: AsyncSession, act: Act, section_id: int) -> list[dict[str, Any]]:
    """Staff of the centre and supervisors: the drawn experts with their names, before the result."""
    _, project = await section_and_project(session, section_id)
    staff_or_supervisor(act, project, "组织专家抽取", "run the draw")
    row = await _draw_of(session, section_id)
    if row.result is None:
        return []
    return await _names(session, row.result["drawn"])


def recompute(view: schemas.DrawRead) -> list[int]:
    """What anyone can do with a revealed draw: check the commitment and recompute the panel."""
    if view.seed is None or view.beacon is None or view.pool is None or view.result is None:
        raise ValueError("the draw is not revealed")
    seed = base64.b64decode(view.seed)
    if drawing.commitment(seed) != view.commitment:
        raise ValueError("the seed does not match the commitment")
    if drawing.pool_hash(_entries(view.pool)) != view.pool_hash:
        raise ValueError("the pool does not match its hash")
    result = drawing.draw(
        seed,
        bytes.fromhex(view.beacon),
        _entries(view.pool),
        count=view.count,
        tenderer_credit_code=view.result["tenderer"],
        bidder_credit_codes=view.result["bidders"],
        conflicts=view.result.get("conflicts", []),
    )
    return list(result.drawn)
