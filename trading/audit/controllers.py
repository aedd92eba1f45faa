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
from sqlalchemy import Select, String, cast, select

from trading.audit.models import AuditEntry
from trading.audit.services import BIDDING_STAGE_ACTIONS
from trading.context import Actor
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


def opened_section_ids(*, as_text: bool = False) -> Select[Any]:
    """The sections whose opening record is out: only there is it public who bid. Every other section's bids are
    still secret — before its opening, and for good when none comes: a trade terminated before its opening, or
    failed for want of bidders (流标: fewer than three bids, returned unopened), never names its bidders."""
    from bidding.models import Opening  # (the sealed bids' own package: the audit trail is the core's)

    section_id = cast(Opening.section_id, String) if as_text else Opening.section_id  # (audit subjects are text)
    return select(section_id).where(Opening.state == "opened")


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
    opened = opened_section_ids(as_text=True)
    query = query.where(
        ~(
            AuditEntry.action.in_(BIDDING_STAGE_ACTIONS)
            & (AuditEntry.subject_type == "section")
            & AuditEntry.subject_id.not_in(opened)
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
