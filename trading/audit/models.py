"""The audit trail table. Rows are only ever inserted; the application has no way to change them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base, BigIntPK, JSONDoc, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_subject", "subject_type", "subject_id"),
        Index("ix_audit_entries_centre", "centre_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: (Not indexed: the trail is read by centre, by subject and by id, never by time — migration 0028.)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    actor_name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    before_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    after_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    #: The trading centre whose business the act was (its supervisors read it); None for the province's own
    #: records (accounts, the calendar, the expert pool), which only the admin reads. No foreign key:
    #: the trail outlives what it names.
    centre_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
