"""Answers that are overdue, flagged while they are overdue (监督预警): an objection to the candidate publicity
unanswered after its 3 days (条例 §54: the trade stays paused until the reply), a complaint neither accepted nor
rejected within 3 working days, and an accepted complaint not ruled on within 30 working days (条例 §61).

The scheduler looks on every tick. Each overdue answer raises one alert for the supervisors of its centre (the
alerts' unique kind and subject keep two workers, or two ticks, from raising it twice) and one audit record; an
answer given late raises its own alert as well when it comes (evaluation.publicity)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from evaluation.models import Complaint, Objection
from trading.funds.models import SupervisionAlert
from trading.funds.services import raise_found_alert
from trading.projects.models import Project, Section
from trading.projects.services import section_and_project

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: At most this many of each kind per tick (a backlog is worked through tick by tick).
BATCH = 500


def _when(at: datetime) -> str:
    return f"{at.astimezone(SHANGHAI):%Y年%m月%d日 %H:%M}"


def _objection_messages(o: Objection, project: Project, section: Section) -> tuple[str, str]:
    return (
        f"{project.name}{section.name}：{_when(o.filed_at)}提出的异议（{o.subject}）应于{_when(o.reply_due_at)}前答复，"
        "至今未答复；作出答复前，招标投标活动暂停（条例 §54）",
        f"Section {section.code} of {project.trade_code}: an objection raised at {o.filed_at.isoformat()} was due an "
        f"answer by {o.reply_due_at.isoformat()} and has none; the trade stays paused until it is answered "
        "(Reg. Art. 54)",
    )


def _acceptance_messages(c: Complaint, project: Project, section: Section) -> tuple[str, str]:
    return (
        f"{project.name}{section.name}：{_when(c.filed_at)}收到的投诉应于{_when(c.accept_due_at)}前决定是否受理"
        "（3个工作日，条例 §61），至今未决定",
        f"Section {section.code} of {project.trade_code}: a complaint filed at {c.filed_at.isoformat()} was due to be "
        f"accepted or rejected by {c.accept_due_at.isoformat()} (3 working days, Reg. Art. 61) and is still undecided",
    )


def _ruling_messages(c: Complaint, project: Project, section: Section) -> tuple[str, str]:
    assert c.ruling_due_at is not None
    return (
        f"{project.name}{section.name}：已受理的投诉应于{_when(c.ruling_due_at)}前作出处理决定"
        "（30个工作日，条例 §61），至今未作出",
        f"Section {section.code} of {project.trade_code}: an accepted complaint was due its ruling by "
        f"{c.ruling_due_at.isoformat()} (30 working days, Reg. Art. 61) and has none",
    )


@dataclass(frozen=True)
class _Overdue:
    """One kind of answer that can be overdue."""

    kind: str  # the alert's kind
    action: str  # the audit record's
    model: type[Objection] | type[Complaint]
    subject_type: str
    due: Callable[[Any], datetime | None]
    waiting: Callable[[datetime], ColumnElement[bool]]  # unanswered and past due at the given moment
    messages: Callable[[Any, Project, Section], tuple[str, str]]


_KINDS = (
    _Overdue(
        kind="objection_reply_overdue",
        action="objection.overdue",
        model=Objection,
        subject_type="objection",
        due=lambda o: o.reply_due_at,
        waiting=lambda now: Objection.replied_at.is_(None) & (Objection.reply_due_at < now),
        messages=_objection_messages,
    ),
    _Overdue(
        kind="complaint_acceptance_overdue",
        action="complaint.acceptance_overdue",
        model=Complaint,
        subject_type="complaint",
        due=lambda c: c.accept_due_at,
        waiting=lambda now: (Complaint.state == "filed") & (Complaint.accept_due_at < now),
        messages=_acceptance_messages,
    ),
    _Overdue(
        kind="complaint_ruling_overdue",
        action="complaint.ruling_overdue",
        model=Complaint,
        subject_type="complaint",
        due=lambda c: c.ruling_due_at,
        waiting=lambda now: (Complaint.state == "accepted") & (Complaint.ruling_due_at < now),
        messages=_ruling_messages,
    ),
)


async def flag_overdue_answers(session: AsyncSession, now: datetime) -> list[tuple[str, int]]:
    """Alert the supervisors, once each, to every objection reply and complaint decision or ruling overdue at
    *now*; returns the newly flagged (alert kind, subject id) pairs. The caller commits."""
    flagged: list[tuple[str, int]] = []
    for overdue in _KINDS:
        model = overdue.model
        candidates = await session.scalars(
            select(model)
            .where(
                overdue.waiting(now),
                ~exists().where(
                    SupervisionAlert.kind == overdue.kind,
                    SupervisionAlert.subject_type == overdue.subject_type,
                    SupervisionAlert.subject_id == model.id,
                ),
            )
            .order_by(model.id)
            .limit(BATCH)
        )
        for answer in list(candidates):
            section, project = await section_and_project(session, answer.section_id)
            due = overdue.due(answer)
            assert due is not None
            message_zh, message_en = overdue.messages(answer, project, section)
            alert_id = await raise_found_alert(
                session,
                action=overdue.action,
                address="scheduler",
                noted={"due_at": due.isoformat()},
                kind=overdue.kind,
                project_id=project.id,
                subject_type=overdue.subject_type,
                subject_id=answer.id,
                message_zh=message_zh,
                message_en=message_en,
                details={"section_id": section.id, "filed_at": answer.filed_at.isoformat(), "due_at": due.isoformat()},
                at=now,
            )
            if alert_id is None:
                continue  # another worker raised it
            flagged.append((overdue.kind, answer.id))
    return flagged
