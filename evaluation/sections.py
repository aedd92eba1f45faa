"""Who may act on a section's evaluation and award: the staff of the project's centre, and (to read)
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
    """Supervisors (监督人员) see what the centre's staff see."""
    if act.actor is not None and act.actor.has_role("supervisor"):
        return act.actor
    return centre_staff(act, project, doing_zh, doing_en)
