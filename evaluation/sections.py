"""Looking up a section with its project, and the check that the actor is staff of the project's centre:
shared by every step of the evaluation and award."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from trading.accounts.services import require_same_centre, require_staff
from trading.context import Act, Actor
from trading.errors import NotFound
from trading.projects.models import Project, Section


async def section_and_project(session: AsyncSession, section_id: int) -> tuple[Section, Project]:
    section = await session.get(Section, section_id)
    if section is None:
        raise NotFound("标段不存在", "No such section", code="section_not_found")
    project = await session.get(Project, section.project_id)
    assert project is not None
    return section, project


def centre_staff(act: Act, project: Project, doing_zh: str, doing_en: str) -> Actor:
    """The actor, if staff of the centre running this project; else 403."""
    actor = require_staff(act, doing_zh, doing_en)
    require_same_centre(actor, project.centre_id)
    return actor


def staff_or_supervisor(act: Act, project: Project, doing_zh: str, doing_en: str) -> Actor:
    """Supervisors (监督人员) see what the centre's staff see."""
    if act.actor is not None and act.actor.has_role("supervisor"):
        return act.actor
    return centre_staff(act, project, doing_zh, doing_en)
