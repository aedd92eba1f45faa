"""Tables for the expert pool and the checkable expert draw (trading.evaluation.draw)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base, BigIntPK, JSONDoc, UTCDateTime


class Expert(Base):
    """An evaluation expert (评标专家) in the pool kept by staff; linked to an evaluator account if they have one."""

    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    specialities: Mapped[list[str]] = mapped_column(JSONDoc)
    organisation_name: Mapped[str] = mapped_column(String(200), default="")
    #: The credit code of the expert's employer: the draw passes over the tenderer's and the bidders' people.
    organisation_credit_code: Mapped[str] = mapped_column(String(18), default="")
    region_code: Mapped[str] = mapped_column(String(6))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExpertDraw(Base):
    """A section's draw: committed before the deadline (seed hash and pool logged), run after the opening
    with the deadline checkpoint's root as the beacon, revealed with the result."""

    __tablename__ = "expert_draws"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    count: Mapped[int] = mapped_column(SmallInteger)
    specialities: Mapped[list[str]] = mapped_column(JSONDoc)
    #: Secret until the result is published; its SHA-256 is logged at commitment.
    seed: Mapped[bytes] = mapped_column(LargeBinary)
    commitment: Mapped[str] = mapped_column(String(64))
    #: The pool as the draw sees it (ids, specialities, organisations; no names), fixed at commitment.
    pool: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    pool_hash: Mapped[str] = mapped_column(String(64))
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    committed_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    beacon: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    beacon_tree_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: {"order": [...], "drawn": [...], "passed_over": {id: reason}, "short": n, "bidders": [...], "tenderer": ...}
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, default=None)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ExpertConflict(Base):
    """An expert's declaration of a conflict of interest (回避) for a section: passed over, or replaced."""

    __tablename__ = "expert_conflicts"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)
