"""Public reads of notices, shared by the JSON API, the portal and the feeds.

Every list is keyset-paginated on (last_published_at, id) — no OFFSET — and every query touches a fixed
number of statements whatever the page size (no N+1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from notices import schemas
from notices.errors import NoticeNotFound
from notices.kinds import NOTICE_KINDS
from notices.models import Attachment, Notice, NoticeVersion, published_fields
from notices.search import search_condition
from notices.services import log_event_key
from trading.errors import InvalidInput, NotFound
from trading.log import services as log
from trading.projects.models import Project
from trading.regions import full_name, get_region
from trading.regions_sql import within_region
from trading.sequences import current_value
from trading.web import decode_cursor, encode_cursor

CHANGES_COUNTER = "notice_changes"
#: A project's timeline shown with a notice; real projects have a handful of notices.
RELATED_LIMIT = 100


class NoticeFilter(msgspec.Struct, kw_only=True):
    kind: str | None = None
    trade_kind: str | None = None
    region: str | None = None
    #: "open" (deadline still ahead), "closed" (deadline passed)
    status: str | None = None
    published_from: datetime | None = None
    published_to: datetime | None = None
    q: str | None = None
    project_id: int | None = None


def _in_region(code: str) -> Any:
    """A county matches itself, a city its own column (so the city index serves it in order)."""
    level = get_region(code).level
    if level == "county":
        return Notice.region_code == code
    if level == "city":
        return Notice.city_code == code
    return within_region(Notice.region_code, code)


def notice_url(notice_id: int) -> str:
    return f"/notices/{notice_id}"


def document_url(notice_id: int, version: int) -> str:
    return f"/api/notices/{notice_id}/versions/{version}/document"


def attachment_url(a: Attachment) -> str:
    return f"/api/notices/{a.notice_id}/attachments/{a.id}"


def summaries(rows: Sequence[Any]) -> list[schemas.NoticeSummary]:
    """List items from notices or from rows of :data:`SUMMARY_COLUMNS`."""
    return [
        schemas.NoticeSummary(
            id=n.id,
            kind=n.kind,
            kind_name=NOTICE_KINDS[n.kind].name_zh,
            title=n.title,
            trade_kind=n.trade_kind,
            region_code=n.region_code,
            region_name=full_name(n.region_code),
            project_id=n.project_id,
            version=n.current_version,
            first_published_at=n.first_published_at,
            last_published_at=n.last_published_at,
            deadline_at=n.deadline_at,
            url=notice_url(n.id),
        )
        for n in rows
    ]


#: What a list shows; the body and search terms stay in the database (lists never need them).
SUMMARY_COLUMNS = (
    Notice.id,
    Notice.kind,
    Notice.title,
    Notice.trade_kind,
    Notice.region_code,
    Notice.project_id,
    Notice.current_version,
    Notice.first_published_at,
    Notice.last_published_at,
    Notice.deadline_at,
)


#: A version's summary; its document bytes are served on their own.
VERSION_COLUMNS = (
    NoticeVersion.version,
    NoticeVersion.title,
    NoticeVersion.published_at,
    NoticeVersion.content_hash,
    NoticeVersion.change_seq,
    NoticeVersion.amendment_notice_id,
    NoticeVersion.change_summary,
)


async def list_notices(
    session: AsyncSession, flt: NoticeFilter, *, now: datetime | None, cursor: str | None, limit: int
) -> schemas.NoticePage:
    """One page of published notices, newest first. *now* is needed only for the open/closed filter."""
    query = select(*SUMMARY_COLUMNS).where(Notice.status == "published")
    if flt.kind:
        query = query.where(Notice.kind == flt.kind)
    if flt.trade_kind:
        query = query.where(Notice.trade_kind == flt.trade_kind)
    if flt.region:
        query = query.where(_in_region(flt.region))
    if flt.project_id:
        query = query.where(Notice.project_id == flt.project_id)
    if flt.status in ("open", "closed"):
        if now is None:
            raise ValueError("the open/closed filter needs the time")
        query = query.where(Notice.deadline_at > now if flt.status == "open" else Notice.deadline_at <= now)
    if flt.published_from:
        query = query.where(Notice.last_published_at >= flt.published_from)
    if flt.published_to:
        query = query.where(Notice.last_published_at < flt.published_to)
    if flt.q:
        cond = search_condition(session.bind.dialect.name, flt.q, Notice.title, Notice.body, Notice.search_terms)
        if cond is not None:
            query = query.where(cond)
    if cursor:
        last_at_raw, last_id = decode_cursor(cursor, 2)
        try:
            last_at = datetime.fromisoformat(last_at_raw)
        except (TypeError, ValueError):
            raise InvalidInput("分页游标无效", "The cursor is not valid", code="bad_cursor") from None
        query = query.where(
            or_(
                Notice.last_published_at < last_at,
                and_(Notice.last_published_at == last_at, Notice.id < int(last_id)),
            )
        )
    rows = list(
        await session.execute(query.order_by(Notice.last_published_at.desc(), Notice.id.desc()).limit(limit + 1))
    )
    page = rows[:limit]
    nxt = None
    if len(rows) > limit:
        last = page[-1]
        assert last.last_published_at is not None
        nxt = encode_cursor([last.last_published_at.isoformat(), last.id])
    return schemas.NoticePage(items=summaries(page), next=nxt)


async def upcoming_deadlines(session: AsyncSession, now: datetime, limit: int = 10) -> list[Notice]:
    query = (
        select(Notice)
        .where(Notice.status == "published", Notice.deadline_at > now)
        .order_by(Notice.deadline_at, Notice.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def get_published(session: AsyncSession, notice_id: int) -> Notice:
    notice = await session.get(Notice, notice_id)
    if notice is None or notice.status == "draft":
        raise NoticeNotFound()
    return notice


async def notice_fields(session: AsyncSession, notice: Notice) -> dict[str, Any]:
    """The notice's fields: kept with the notice, or — for a notice the platform publishes whole (the opening
    record) — only in its current version's document."""
    if notice.fields is not None:
        return notice.fields
    document = await session.scalar(
        select(NoticeVersion.document).where(
            NoticeVersion.notice_id == notice.id, NoticeVersion.version == notice.current_version
        )
    )
    return {} if document is None else published_fields(document)


def attachment_read(a: Attachment) -> schemas.AttachmentRead:
    return schemas.AttachmentRead(
        id=a.id,
        filename=a.filename,
        media_type=a.media_type,
        size=a.size,
        sha256=a.sha256,
        published_in_version=a.published_in_version,
        url=attachment_url(a),
    )


async def notice_detail(session: AsyncSession, notice: Notice, *, include_drafts: bool = False) -> schemas.NoticeDetail:
    project = (
        await session.execute(
            select(Project.id, Project.name, Project.trade_code).where(Project.id == notice.project_id)
        )
    ).one()
    versions = list(
        await session.execute(
            select(*VERSION_COLUMNS).where(NoticeVersion.notice_id == notice.id).order_by(NoticeVersion.version)
        )
    )
    log_positions = await log.indexes_for_events(session, [log_event_key(notice.id, v.version) for v in versions])
    attachments = [
        a
        for a in await session.scalars(
            select(Attachment).where(Attachment.notice_id == notice.id).order_by(Attachment.id)
        )
        if include_drafts or a.published_in_version is not None
    ]
    related_q = select(Notice.id, Notice.kind, Notice.title, Notice.status, Notice.last_published_at).where(
        Notice.project_id == notice.project_id, Notice.id != notice.id
    )
    if not include_drafts:
        related_q = related_q.where(Notice.status == "published")
    related = list(await session.execute(related_q.order_by(Notice.first_published_at, Notice.id).limit(RELATED_LIMIT)))
    return schemas.NoticeDetail(
        id=notice.id,
        kind=notice.kind,
        kind_name=NOTICE_KINDS[notice.kind].name_zh,
        status=notice.status,
        title=notice.title,
        body=notice.body,
        fields=await notice_fields(session, notice),
        timetable=dict(notice.timetable),
        trade_kind=notice.trade_kind,
        region_code=notice.region_code,
        region_name=full_name(notice.region_code),
        project_id=project.id,
        project_name=project.name,
        trade_code=project.trade_code,
        section_ids=list(notice.section_ids),
        target_notice_id=notice.target_notice_id,
        version=notice.current_version,
        first_published_at=notice.first_published_at,
        last_published_at=notice.last_published_at,
        deadline_at=notice.deadline_at,
        content_hash=versions[-1].content_hash if versions else None,
        versions=[
            schemas.VersionSummary(
                version=v.version,
                title=v.title,
                published_at=v.published_at,
                content_hash=v.content_hash,
                change_seq=v.change_seq,
                amendment_notice_id=v.amendment_notice_id,
                change_summary=v.change_summary,
                document_url=document_url(notice.id, v.version),
                log_index=log_positions.get(log_event_key(notice.id, v.version)),
            )
            for v in versions
        ],
        attachments=[attachment_read(a) for a in attachments],
        related=[
            schemas.RelatedNotice(
                id=r.id,
                kind=r.kind,
                kind_name=NOTICE_KINDS[r.kind].name_zh,
                title=r.title,
                status=r.status,
                last_published_at=r.last_published_at,
            )
            for r in related
        ],
        url=notice_url(notice.id),
    )


#: The largest version a notice can have (its column is a 32-bit integer).
MAX_VERSION = 2**31 - 1


async def version_document(session: AsyncSession, notice_id: int, version: int) -> NoticeVersion:
    row = (
        await session.scalar(
            select(NoticeVersion).where(NoticeVersion.notice_id == notice_id, NoticeVersion.version == version)
        )
        if 0 < version <= MAX_VERSION
        else None
    )
    if row is None:
        raise NotFound(f"该公告没有第 {version} 版", f"This notice has no version {version}", code="version_not_found")
    return row


async def changes(session: AsyncSession, *, after: int, limit: int) -> schemas.ChangesPage:
    """Published versions in publication order after sequence *after*.

    Sequence numbers are taken under a row lock held to commit (trading.sequences), so the committed
    numbers always form an unbroken prefix: following ``next`` never skips a record committed late.
    """
    watermark = await current_value(session, CHANGES_COUNTER)
    rows = (
        await session.execute(
            select(*VERSION_COLUMNS, NoticeVersion.notice_id, Notice.kind)
            .join(Notice, Notice.id == NoticeVersion.notice_id)
            .where(NoticeVersion.change_seq > after, NoticeVersion.change_seq <= watermark)
            .order_by(NoticeVersion.change_seq)
            .limit(limit)
        )
    ).all()
    items = [
        schemas.ChangeItem(
            seq=v.change_seq,
            notice_id=v.notice_id,
            version=v.version,
            kind=v.kind,
            title=v.title,
            published_at=v.published_at,
            content_hash=v.content_hash,
            url=notice_url(v.notice_id),
            document_url=document_url(v.notice_id, v.version),
        )
        for v in rows
    ]
    last = items[-1].seq if items else after
    return schemas.ChangesPage(items=items, next=encode_cursor([last]) if items else None, watermark=watermark)


async def latest_change_seq(session: AsyncSession) -> int:
    return await current_value(session, CHANGES_COUNTER)


async def count_published(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Notice).where(Notice.status == "published")) or 0)


def filter_to_query(flt: NoticeFilter) -> dict[str, Any]:
    return {k: v for k, v in msgspec.to_builtins(flt).items() if v not in (None, "")}
