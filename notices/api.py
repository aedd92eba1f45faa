"""The public JSON API: notices with filters and search, one notice with its versions, the changes feed.

No account is needed. Paths here are what clients and crawlers depend on; keep them stable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, Parameter, QueryParameter
from litestar.response import Stream
from sqlalchemy import select

from notices import reads, schemas
from notices.errors import NoticeNotFound
from notices.kinds import NOTICE_KINDS
from notices.models import Attachment
from trading.blobs import inline
from trading.caching import IMMUTABLE, cache_headers, etag_for, not_modified, not_modified_response
from trading.errors import InvalidInput
from trading.web import DB, decode_cursor

KIND_PATTERN = "^(" + "|".join(NOTICE_KINDS) + ")$"


def notice_filter(
    kind: str | None,
    trade_kind: str | None,
    region: str | None,
    status: str | None,
    published_from: datetime | None,
    published_to: datetime | None,
    q: str | None,
) -> reads.NoticeFilter:
    for value, name in ((published_from, "from"), (published_to, "to")):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                f"{name} 须带时区，例如 2026-03-01T00:00:00+08:00",
                f"{name} needs a time zone, e.g. 2026-03-01T00:00:00+08:00",
                code="naive_datetime",
            )
    return reads.NoticeFilter(
        kind=kind,
        trade_kind=trade_kind,
        region=region,
        status=status,
        published_from=published_from,
        published_to=published_to,
        q=(q or "").strip() or None,
    )


class PublicNoticeController(Controller):
    path = "/api/notices"
    tags = ["public"]

    @get("/", operation_id="listNotices")
    async def list_notices(
        self,
        request: Request,
        db: DB,
        kind: str | None = Parameter(default=None, pattern=KIND_PATTERN, description="notice kind"),
        trade_kind: str | None = Parameter(default=None, pattern="^(works|procurement|land|property)$"),
        region: str | None = Parameter(
            default=None, pattern=r"^\d{6}$", description="division code; includes sub-divisions"
        ),
        status: str | None = Parameter(default=None, pattern="^(open|closed)$", description="open: deadline ahead"),
        published_from: datetime | None = QueryParameter(name="from", default=None),
        published_to: datetime | None = QueryParameter(name="to", default=None),
        q: str | None = Parameter(default=None, max_length=100, description="search title and body (Chinese works)"),
        cursor: str | None = Parameter(default=None, max_length=200),
        limit: int = Parameter(default=20, ge=1, le=100),
    ) -> Response[schemas.NoticePage]:
        """Published notices, newest first, filtered and searched; continue with ``?cursor=``."""
        flt = notice_filter(kind, trade_kind, region, status, published_from, published_to, q)
        # "open"/"closed" depend on the time, so they are validated by the minute; the rest by publication.
        now = await request.app.state.clock.now(db) if status else None
        tag = etag_for(request.url.query, await reads.latest_change_seq(db), now.strftime("%Y%m%d%H%M") if now else "")
        headers = cache_headers(tag)
        if not_modified(request, tag):
            return not_modified_response(headers)
        page = await reads.list_notices(db, flt, now=now, cursor=cursor, limit=limit)
        return Response(content=page, headers=headers)

    @get("/{notice_id:int}", operation_id="getNotice")
    async def get_notice(self, request: Request, db: DB, notice_id: FromPath[int]) -> Response[schemas.NoticeDetail]:
        """One published notice: its current text, every version with its hash, attachments, related notices."""
        notice = await reads.get_published(db, notice_id)
        tag = etag_for("notice", notice.id, notice.current_version, notice.status)
        headers = cache_headers(tag, notice.last_published_at)
        if not_modified(request, tag, notice.last_published_at):
            return not_modified_response(headers)
        return Response(content=await reads.notice_detail(db, notice), headers=headers)

    @get(
        "/{notice_id:int}/versions/{version:int}/document",
        operation_id="getNoticeVersionDocument",
        media_type="application/json",
        # The exact published bytes (not re-serialised): documented as the JSON document they are.
        responses={
            200: ResponseSpec(data_container=dict[str, Any], description="The published version's JSON document")
        },
    )
    async def get_version_document(
        self, request: Request, db: DB, notice_id: FromPath[int], version: FromPath[int]
    ) -> Response[bytes]:
        """The exact bytes published as this version; their SHA-256 is the version's content hash."""
        await reads.get_published(db, notice_id)
        row = await reads.version_document(db, notice_id, version)
        tag = f'"{row.content_hash}"'
        headers = cache_headers(tag, row.published_at, IMMUTABLE) | {"X-Content-SHA256": row.content_hash}
        if not_modified(request, tag):
            return not_modified_response(headers)
        return Response(content=row.document, media_type="application/json", headers=headers)

    @get(
        "/{notice_id:int}/attachments/{attachment_id:int}",
        operation_id="downloadNoticeAttachment",
        # The file as published, in its own media type (a PDF, a text, an archive …), not JSON.
        responses={
            200: ResponseSpec(
                data_container=bytes, media_type="*/*", generate_examples=False, description="The attachment's bytes"
            )
        },
    )
    async def download_attachment(
        self, request: Request, db: DB, notice_id: FromPath[int], attachment_id: FromPath[int]
    ) -> Stream:
        """Download a published attachment (streamed); its SHA-256 is in the header and the notice."""
        await reads.get_published(db, notice_id)
        row = await db.scalar(
            select(Attachment).where(Attachment.id == attachment_id, Attachment.notice_id == notice_id)
        )
        if row is None or row.published_in_version is None:
            raise NoticeNotFound()
        return Stream(
            await inline.stream(request.app.state.blobs, db, row.sha256),
            media_type=row.media_type,
            headers={
                "Content-Length": str(row.size),
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
                "X-Content-SHA256": row.sha256,
                "ETag": f'"{row.sha256}"',
                "Cache-Control": IMMUTABLE,
            },
        )


class ChangesController(Controller):
    path = "/api/changes"
    tags = ["public"]

    @get("/", operation_id="listChanges")
    async def list_changes(
        self,
        db: DB,
        after: int | None = Parameter(default=None, ge=0, description="the last sequence number you have"),
        cursor: str | None = Parameter(default=None, max_length=200),
        limit: int = Parameter(default=100, ge=1, le=1000),
    ) -> schemas.ChangesPage:
        """Every published version in publication order. Follow ``next`` (or ``?after=`` the last ``seq``);
        nothing committed later can appear behind a position you have passed."""
        start = after or 0
        if cursor:
            (start,) = decode_cursor(cursor, 1)
            if not isinstance(start, int) or start < 0:
                raise InvalidInput("分页游标无效", "The cursor is not valid", code="bad_cursor")
        return await reads.changes(db, after=start, limit=limit)
