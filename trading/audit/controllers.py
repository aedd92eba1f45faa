"""HTTP API for the audit trail: read-only, for supervisors and admins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, get
from litestar.params import FromQuery, Parameter
from sqlalchemy import select

from trading.accounts.auth import require_roles
from trading.audit.models import AuditEntry
from trading.web import DB, decode_cursor, encode_cursor


class AuditEntryRead(msgspec.Struct):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    address: str
    action: str
    subject_type: str
    subject_id: str
    before_hash: str | None
    after_hash: str | None
    details: dict[str, Any]


class AuditPage(msgspec.Struct):
    items: list[AuditEntryRead]
    next: str | None


async def audit_page(
    db: DB, *, subject_type: str | None, subject_id: str | None, cursor: str | None, limit: int
) -> AuditPage:
    query = select(AuditEntry)
    if subject_type:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id:
        query = query.where(AuditEntry.subject_id == subject_id)
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        query = query.where(AuditEntry.id < int(last_id))
    rows = list(await db.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    return AuditPage(
        items=[msgspec.convert(r, AuditEntryRead, from_attributes=True) for r in page],
        next=encode_cursor([page[-1].id]) if len(rows) > limit else None,
    )


class AuditController(Controller):
    path = "/api/audit"
    tags = ["audit"]
    guards = [require_roles("supervisor", "admin")]

    @get("/", operation_id="listAuditEntries")
    async def list_entries(
        self,
        db: DB,
        subject_type: str | None = Parameter(default=None, max_length=40),
        subject_id: str | None = Parameter(default=None, max_length=64),
        cursor: FromQuery[str | None] = None,
        limit: int = Parameter(default=50, ge=1, le=500),
    ) -> AuditPage:
        """The audit trail, newest first (supervisors and admins; nobody can edit it)."""
        return await audit_page(db, subject_type=subject_type, subject_id=subject_id, cursor=cursor, limit=limit)
