"""Recording the audit trail: every state-changing act, with the record's hash before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from trading.audit.models import AuditEntry
from trading.canonical import document_hash
from trading.context import Actor

#: Acts of the bidding stage: nobody reads them in the trail until the section's opening record is out.
BIDDING_STAGE_ACTIONS = ("bid.upload_begin", "bid.submit", "bid.withdraw")


async def centre_of(session: AsyncSession, subject_type: str, subject_id: object) -> int | None:
    """The centre a section, project, payment, contract or alert belongs to (the core's own tables)."""
    from trading.funds.models import Contract, Payment, SupervisionAlert
    from trading.projects.models import Project, Section

    try:
        key = int(str(subject_id))
    except ValueError:
        return None
    if subject_type == "project":
        return await session.scalar(select(Project.centre_id).where(Project.id == key))
    project_of = {"section": Section, "payment": Payment, "contract": Contract, "alert": SupervisionAlert}
    table = project_of.get(subject_type)
    if table is None:
        return None
    return await session.scalar(
        select(Project.centre_id).join(table, table.project_id == Project.id).where(table.id == key)
    )


_COLUMNS = [c.key for c in AuditEntry.__table__.columns if c.key != "id"]
INSERT = insert(AuditEntry.__table__).returning(AuditEntry.__table__.c.id)


async def record(
    session: AsyncSession,
    *,
    actor: Actor | None,
    address: str,
    at: datetime,
    action: str,
    subject_type: str,
    subject_id: object,
    before: Any = None,
    after: Any = None,
    details: dict[str, Any] | None = None,
    centre_id: int | None = None,
    before_hash: str | None = None,
    after_hash: str | None = None,
) -> AuditEntry:
    """Record one act. Its centre (whose supervisors may read it) is *centre_id*, else the centre of the
    section, project, payment, contract or alert it is about, else the acting person's centre. A caller that
    already holds the canonical hash of *before* or *after* (a notice version's content hash) passes it as
    *before_hash* or *after_hash* instead of having a document of megabytes encoded again."""
    if centre_id is None:
        centre_id = await centre_of(session, subject_type, subject_id)
    if centre_id is None and actor is not None:
        centre_id = actor.centre_id
    entry = AuditEntry(
        **entry_values(
            actor=actor,
            address=address,
            at=at,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            before_hash=before_hash if before_hash is not None else None if before is None else document_hash(before),
            after_hash=after_hash if after_hash is not None else None if after is None else document_hash(after),
            details=details,
            centre_id=centre_id,
        )
    )
    # A Core insert: every act is recorded, and the unit of work cost more than the insert.
    entry.id = (await session.execute(INSERT, {c: getattr(entry, c) for c in _COLUMNS})).scalar_one()
    return entry


def entry_values(
    *,
    actor: Actor | None,
    address: str,
    at: datetime,
    action: str,
    subject_type: str,
    subject_id: object,
    centre_id: int | None,
    details: dict[str, Any] | None = None,
    before_hash: str | None = None,
    after_hash: str | None = None,
) -> dict[str, Any]:
    """The audit_entries row of one act (every column but the id), for a caller that writes it in a statement
    of its own making (a bid's rows go in one statement on PostgreSQL: bidding.bid_rows)."""
    return {
        "at": at,
        "actor_id": actor.person_id if actor else None,
        "actor_name": actor.display_name if actor else "系统",
        "address": address,
        "action": action,
        "subject_type": subject_type,
        "subject_id": str(subject_id),
        "before_hash": before_hash,
        "after_hash": after_hash,
        "details": details or {},
        "centre_id": centre_id,
    }
