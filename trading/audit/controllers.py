"""HTTP API for the audit trail: read-only; the admin reads all of it, a supervisor its own centre's.

Nobody reads the acts of a bidding stage (uploads, submissions, withdrawals) before the section's opening
record is out: who bid where, and how many, is secret until then (20号令 §27).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import FromQuery, Parameter
from sqlalchemy import String, cast, select

from trading.audit.models import AuditEntry
from trading.audit.services import BIDDING_STAGE_ACTIONS
from trading.context import Actor
from trading.projects.models import Section
from trading.web import DB, decode_cursor, encode_cursor, request_actor


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


#: Section states in which its bids are still secret (no opening record yet).
SEALED_STATES = ("draft", "tendering", "suspended", "closed", "opening")


async def audit_page(
    db: DB,
    viewer: Actor,
    *,
    subject_type: str | None,
    subject_id: str | None,
    cursor: str | None,
    limit: int,
) -> AuditPage:
    query = select(AuditEntry)
    if not viewer.has_role("admin"):  # a supervisor: its own centre's business
        query = query.where(AuditEntry.centre_id == viewer.centre_id)
    sealed = select(cast(Section.id, String)).where(Section.state.in_(SEALED_STATES))
    query = query.where(
        ~(
            AuditEntry.action.in_(BIDDING_STAGE_ACTIONS)
            & (AuditEntry.subject_type == "section")
            & AuditEntry.subject_id.in_(sealed)
        )
    )
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

    @get("/", operation_id="listAuditEntries")
    async def list_entries(
        self,
        request: Request,
        db: DB,
        subject_type: str | None = Parameter(default=None, max_length=40),
        subject_id: str | None = Parameter(default=None, max_length=64),
        cursor: FromQuery[str | None] = None,
        limit: int = Parameter(default=50, ge=1, le=500),
    ) -> AuditPage:
        """The audit trail, newest first (the admin all of it, a supervisor its centre's; nobody can edit it)."""
        viewer = request_actor(request)
        assert viewer is not None
        return await audit_page(
            db, viewer, subject_type=subject_type, subject_id=subject_id, cursor=cursor, limit=limit
        )
