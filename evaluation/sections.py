"""Who may act on a section's evaluation and award: the staff of the project's centre, and (to read) its
supervisors. (The section itself: trading.projects.services.section_and_project.)"""

from __future__ import annotations

from trading.accounts.services import require_same_centre, require_staff
from trading.context import Act, Actor
from trading.projects.models import Project


def centre_staff(act: Act, project: Project, doing_zh: str, doing_en: str) -> Actor:
    """The actor, if staff of the centre running this project; else 403."""
    actor = require_staff(act, doing_zh, doing_en)
    require_same_centre(actor, project.centre_id)
    return actor


def staff_or_supervisor(act: Act, project: Project, doing_zh: str, doing_en: str) -> Actor:
    """The supervisors (监督人员) of the project's centre see what its staff see."""
    if act.actor is not None and act.actor.has_role("supervisor"):
        require_same_centre(act.actor, project.centre_id)
        return act.actor
    return centre_staff(act, project, doing_zh, doing_en)
