"""Who sits on a section's evaluation panel (评标委员会): the experts the draw chose, as it stands after any
replacements. Everything an evaluator may see or do for a section is checked here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evaluation.models import Expert, ExpertDraw
from trading.context import Actor
from trading.errors import Forbidden


async def panel_ids(session: AsyncSession, section_id: int) -> list[int]:
    """The drawn experts' ids, in the draw's order; empty before the draw has run."""
    row = await session.get(ExpertDraw, section_id)
    if row is None or row.result is None:
        return []
    return [int(i) for i in row.result["drawn"]]


async def panel_experts(session: AsyncSession, section_id: int) -> list[Expert]:
    ids = await panel_ids(session, section_id)
    experts = {e.id: e for e in await session.scalars(select(Expert).where(Expert.id.in_(ids or [0])))}
    return [experts[i] for i in ids]


async def panel_persons(session: AsyncSession, section_id: int) -> dict[int, int]:
    """The accounts the draw seated, by person id → expert id (fixed by the draw; empty before it runs)."""
    row = await session.get(ExpertDraw, section_id)
    if row is None or row.result is None:
        return {}
    drawn = {int(i) for i in row.result["drawn"]}
    persons = row.result.get("persons") or {}
    return {int(p): int(e) for e, p in persons.items() if p is not None and int(e) in drawn}


async def panel_person_ids(session: AsyncSession, section_id: int) -> set[int]:
    return set(await panel_persons(session, section_id))


async def require_panel_member(session: AsyncSession, actor: Actor | None, section_id: int) -> Expert:
    """The expert this evaluator account was drawn as, if it sits on this section's panel; else 403."""
    if actor is None or not actor.has_role("evaluator"):
        raise Forbidden(
            "仅本标段评标委员会成员可以进行此操作", "Only this section's evaluators may do this", code="not_on_panel"
        )
    expert_id = (await panel_persons(session, section_id)).get(actor.person_id)
    expert = await session.get(Expert, expert_id) if expert_id is not None else None
    if expert is None:
        raise Forbidden(
            "您不是本标段评标委员会成员", "You are not on this section's evaluation panel", code="not_on_panel"
        )
    return expert
