"""Tables of the transparency log: entries (queued, then sequenced), tree nodes, checkpoints, cosignatures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base, BigIntPK, UTCDateTime


class LogEntry(Base):
    """One event for the log. Written in the same transaction as the act it records (so an act and its
    entry commit together), then given its leaf index by the integrator. ``event_key`` makes a retried
    request leave one entry; ``data`` is the exact canonical bytes whose leaf hash is in the tree."""

    __tablename__ = "log_entries"
    __table_args__ = (
        # Partial: the pending index holds only the entries still waiting for the integrator (a few, not every
        # entry the log ever took), the leaf-hash index only integrated ones — a queued entry (one per bid) writes
        # no leaf-hash entry, and its integration no new pending one (migration 0028).
        Index(
            "ix_log_entries_pending",
            "id",
            sqlite_where=text("leaf_index IS NULL"),
            postgresql_where=text("leaf_index IS NULL"),
        ),
        Index(
            "ix_log_entries_leaf_hash",
            "leaf_hash",
            sqlite_where=text("leaf_hash IS NOT NULL"),
            postgresql_where=text("leaf_hash IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    #: When the act happened (the platform clock): the deadline cut-off compares against it.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True, default=None)
    leaf_hash: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    integrated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class LogNode(Base):
    """The hash of an aligned perfect subtree: leaves [index·2^level, (index+1)·2^level)."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LogCheckpoint(Base):
    """A signed tree head, as the exact note text the platform signed (C2SP checkpoint)."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LogCosignature(Base):
    """A witness's cosignature line on one checkpoint (C2SP tlog-cosignature)."""

    __tablename__ = "log_cosignatures"
    __table_args__ = (UniqueConstraint("size", "witness"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    size: Mapped[int] = mapped_column(ForeignKey("log_checkpoints.size"))
    witness: Mapped[str] = mapped_column(String(200))
    line: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeadlineCheckpoint(Base):
    """The checkpoint signed at a section's bid deadline: exactly the entries created before it."""

    __tablename__ = "log_deadline_checkpoints"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    size: Mapped[int] = mapped_column(ForeignKey("log_checkpoints.size"))
    #: The signed deadline cut (trading.log.cuts), as the exact note text; logged as a ``deadline_cut`` entry.
    cut_note: Mapped[str | None] = mapped_column(Text, default=None)
    cut_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
