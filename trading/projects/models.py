"""Tables for trading projects, their funding sources and their bid sections (标段)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trading.db import Base, BigIntPK, JSONDoc, UTCDateTime


class Project(Base):
    """A trading project (交易项目) with its unified trade code (统一交易标识码)."""

    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_region_code_id", "region_code", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    trade_code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    trade_kind: Mapped[str] = mapped_column(String(20))
    procedure: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(String(6))
    centre_id: Mapped[int] = mapped_column(ForeignKey("trading_centres.id"))
    tenderer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    budget_fen: Mapped[int | None] = mapped_column(BigInteger, default=None)
    control_price_fen: Mapped[int | None] = mapped_column(BigInteger, default=None)
    state: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)

    funding_sources: Mapped[list[FundingSource]] = relationship(
        back_populates="project", order_by="FundingSource.id", lazy="raise"
    )
    sections: Mapped[list[Section]] = relationship(back_populates="project", order_by="Section.id", lazy="raise")


class FundingSource(Base):
    """Where the money comes from (资金来源): 财政资金, 专项债券, 自筹, 银行贷款 …"""

    __tablename__ = "funding_sources"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(200), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger)

    project: Mapped[Project] = relationship(back_populates="funding_sources", lazy="raise")


class Section(Base):
    """A bid section (标段) with its own timetable and state."""

    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("project_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    #: Indexed: the scheduler looks every tick for sections in a state (awarded without a contract, …).
    state: Mapped[str] = mapped_column(String(30), index=True)
    estimated_price_fen: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: Named moments of the procedure (bid_deadline, documents_issued_at, …) as ISO-8601 UTC strings.
    timetable: Mapped[dict[str, str]] = mapped_column(JSONDoc, default=dict)
    #: The next deadline (bid deadline or listing close), kept as a column for "upcoming deadlines".
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    #: The published notice that opened this section's trade (its timetable and opening committee).
    opening_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", use_alter=True), default=None)

    project: Mapped[Project] = relationship(back_populates="sections", lazy="raise")
