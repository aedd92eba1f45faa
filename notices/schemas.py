"""Request and response shapes for notices: drafts (staff) and the public reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from trading.accounts.schemas import Strict

Title = Annotated[str, msgspec.Meta(min_length=4, max_length=300)]
Body = Annotated[str, msgspec.Meta(max_length=200_000)]


class NoticeDraftCreate(Strict):
    project_id: int
    kind: str
    title: Title
    body: Body = ""
    fields: dict[str, Any] = {}
    #: For the notices that open a trade: the named moments of the procedure (bid_deadline …).
    timetable: dict[str, datetime] = {}
    #: The sections it covers (default: all of the project's sections).
    section_ids: list[int] = []
    #: For amendments and terminations: the published notice they act on.
    target_notice_id: int | None = None


class NoticeDraftUpdate(Strict):
    title: Title | None = None
    body: Body | None = None
    fields: dict[str, Any] | None = None
    timetable: dict[str, datetime] | None = None
    section_ids: list[int] | None = None


class AttachmentRead(msgspec.Struct):
    id: int
    filename: str
    media_type: str
    size: int
    sha256: str
    published_in_version: int | None
    url: str


class VersionSummary(msgspec.Struct):
    version: int
    title: str
    published_at: datetime
    content_hash: str
    change_seq: int
    amendment_notice_id: int | None
    change_summary: str
    document_url: str
    #: Its leaf in the transparency log (None for the moment between publication and integration).
    log_index: int | None = None


class NoticeSummary(msgspec.Struct):
    id: int
    kind: str
    kind_name: str
    title: str
    trade_kind: str
    region_code: str
    region_name: str
    project_id: int
    version: int
    first_published_at: datetime | None
    last_published_at: datetime | None
    deadline_at: datetime | None
    url: str


class NoticePage(msgspec.Struct):
    items: list[NoticeSummary]
    next: str | None


class RelatedNotice(msgspec.Struct):
    id: int
    kind: str
    kind_name: str
    title: str
    status: str
    last_published_at: datetime | None


class NoticeDetail(msgspec.Struct):
    id: int
    kind: str
    kind_name: str
    status: str
    title: str
    body: str
    fields: dict[str, Any]
    #: The procedure's named moments (bid_deadline …), ISO-8601 in UTC.
    timetable: dict[str, str]
    trade_kind: str
    region_code: str
    region_name: str
    project_id: int
    project_name: str
    trade_code: str
    section_ids: list[int]
    target_notice_id: int | None
    version: int
    first_published_at: datetime | None
    last_published_at: datetime | None
    deadline_at: datetime | None
    content_hash: str | None
    versions: list[VersionSummary]
    attachments: list[AttachmentRead]
    related: list[RelatedNotice]
    url: str


class ChangeItem(msgspec.Struct):
    seq: int
    notice_id: int
    version: int
    kind: str
    title: str
    published_at: datetime
    content_hash: str
    url: str
    document_url: str


class ChangesPage(msgspec.Struct):
    items: list[ChangeItem]
    next: str | None
    #: The highest sequence number committed when this page was read; everything up to it is final.
    watermark: int
