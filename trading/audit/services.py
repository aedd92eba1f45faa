"""Recording the audit trail: every state-changing act, with the record's hash before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from trading.audit.models import AuditEntry
from trading.canonical import document_hash
from trading.context import Actor


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
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor_id=actor.person_id if actor else None,
        actor_name=actor.display_name if actor else "系统",
        address=address,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        before_hash=None if before is None else document_hash(before),
        after_hash=None if after is None else document_hash(after),
        details=details or {},
    )
    session.add(entry)
    await session.flush()
    return entry
