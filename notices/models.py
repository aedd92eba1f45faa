"""Tables for notices (公告), their immutable published versions and their attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base, BigIntPK, JSONDoc, UTCDateTime


class Notice(Base):
    """A notice and its current state. The published text lives in :class:`NoticeVersion` rows."""

    __tablename__ = "notices"
    __table_args__ = (
        # list and filter: newest first, keyset on (last_published_at, id)
        Index("ix_notices_status_published", "status", "last_published_at", "id"),
        Index("ix_notices_kind_published", "kind", "status", "last_published_at", "id"),
        Index("ix_notices_region_published", "region_code", "status", "last_published_at", "id"),
        Index("ix_notices_city_published", "city_code", "status", "last_published_at", "id"),
        Index("ix_notices_trade_kind_published", "trade_kind", "status", "last_published_at", "id"),
        # a project's timeline, in publication order (the related notices on a notice page)
        Index("ix_notices_project", "project_id", "first_published_at", "id"),
        Index("ix_notices_deadline", "deadline_at"),
        # Chinese search on PostgreSQL: a GIN index over the bigram array (see notices.search).
        Index(
            "ix_notices_search_terms",
            text("string_to_array(search_terms, ' ')"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    #: The bid sections it covers.
    section_ids: Mapped[list[int]] = mapped_column(JSONDoc, default=list)
    #: Denormalised from the project so that filters need no join.
    region_code: Mapped[str] = mapped_column(String(6))
    #: The prefecture-level division the region lies in (itself for a city), so a city's notices are one
    #: index range in publication order.
    city_code: Mapped[str] = mapped_column(String(6))
    trade_kind: Mapped[str] = mapped_column(String(20))
    #: For amendments (变更/澄清公告) and terminations: the notice they act on.
    target_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), default=None)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    #: The fields: a draft's as staff edit them, a published notice's as its current version has them. None (the
    #: JSON value null) for a notice the platform publishes whole from its own records — the opening record,
    #: megabytes for thousands of bids — whose fields are stored once, in its published document
    #: (notices.reads.notice_fields reads them).
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, nullable=False, default=dict)
    #: For notices that open a trade: the procedure's named moments, ISO-8601 strings in UTC.
    timetable: Mapped[dict[str, str]] = mapped_column(JSONDoc, default=dict)
    current_version: Mapped[int] = mapped_column(Integer, default=0)
    first_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: Space-separated search terms (CJK bigrams and lower-cased words) of the current title and body.
    search_terms: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NoticeVersion(Base):
    """One published version of a notice. Never updated: an amendment adds a version."""

    __tablename__ = "notice_versions"
    __table_args__ = (UniqueConstraint("notice_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    #: The exact bytes published (canonical JSON); ``content_hash`` is their SHA-256. The version's fields are
    #: stored here only (:meth:`published_fields`).
    document: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    #: Position in the changes feed: gap-free, and committed in order (see trading.sequences).
    change_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    #: The amendment notice that produced this version (None for version 1).
    amendment_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), default=None)
    change_summary: Mapped[str] = mapped_column(Text, default="")

    def published_fields(self) -> dict[str, Any]:
        """The fields as this version published them (read from its document)."""
        return published_fields(self.document)


def published_fields(document: bytes) -> dict[str, Any]:
    """The fields of a published version's document."""
    fields = msgspec.json.decode(document)["fields"]
    return fields if isinstance(fields, dict) else {}


class Attachment(Base):
    """A file attached to a notice (tender documents, maps), stored in the blob store by SHA-256."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    #: The version that first published it; None while the notice is a draft.
    published_in_version: Mapped[int | None] = mapped_column(Integer, default=None)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
