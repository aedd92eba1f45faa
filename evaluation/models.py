"""Tables for the expert pool and the checkable expert draw (evaluation.draw), the evaluation itself (plan,
score sheets, report), the candidate publicity with its objections and complaints, and the result letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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


class EvaluationPlan(Base):
    """How a section's bids are evaluated, as its tender documents state: fixed before the bid deadline and
    logged, so the method cannot be bent after the prices are known."""

    __tablename__ = "evaluation_plans"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    method: Mapped[str] = mapped_column(String(20))  # lowest_price | comprehensive
    plan: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    plan_sha256: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[int] = mapped_column(ForeignKey("people.id"))


class ScoreSheet(Base):
    """One evaluator's sheet for a section: per bid, qualified or rejected (否决, with the 条例 §51 ground),
    the criterion scores or the price adjustments. Editable until submitted, then fixed."""

    __tablename__ = "score_sheets"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), primary_key=True)
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    state: Mapped[str] = mapped_column(String(10))  # draft | submitted
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    sheet_sha256: Mapped[str | None] = mapped_column(String(64), default=None)


class EvaluationReport(Base):
    """The evaluation report (评标报告): every evaluator's scores, the rejections, the ranking. Its hash is
    logged when it is made; its content is shown to bidders and the public only with the result."""

    __tablename__ = "evaluation_reports"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    report_sha256: Mapped[str] = mapped_column(String(64))
    void: Mapped[bool] = mapped_column(Boolean, default=False)
    produced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    produced_by: Mapped[int] = mapped_column(ForeignKey("people.id"))


class CandidatePublicity(Base):
    """The candidate publicity (中标候选人公示, 条例 §54): its notice and its window, which stops while an
    objection waits for its reply and is lengthened by the time it stood still."""

    __tablename__ = "candidate_publicities"

    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Set while the publicity is paused by unanswered objections.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    paused_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Published later than 3 days after the report (flagged to supervisors).
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class Objection(Base):
    """An objection (异议) a bidder raises during the candidate publicity (条例 §54): the trade pauses until
    staff reply, within 3 days; the reply is published without the objector's particulars."""

    __tablename__ = "objections"
    __table_args__ = (
        # The scheduler's look for replies overdue (evaluation.overdue): only the unanswered ones, by due time.
        Index(
            "ix_objections_unanswered_due",
            "reply_due_at",
            sqlite_where=text("replied_at IS NULL"),
            postgresql_where=text("replied_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    subject: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reply_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reply: Mapped[str | None] = mapped_column(Text, default=None)
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)  # dismissed | upheld
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    reply_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), default=None)


class Complaint(Base):
    """A complaint (投诉) to the supervisors (条例 §60–62): filed within 10 days, accepted or not within 3
    working days, ruled within 30 working days; the supervisors may suspend the trade meanwhile."""

    __tablename__ = "complaints"
    __table_args__ = (
        # The scheduler's looks for decisions and rulings overdue (evaluation.overdue).
        Index(
            "ix_complaints_filed_due",
            "accept_due_at",
            sqlite_where=text("state = 'filed'"),
            postgresql_where=text("state = 'filed'"),
        ),
        Index(
            "ix_complaints_accepted_due",
            "ruling_due_at",
            sqlite_where=text("state = 'accepted'"),
            postgresql_where=text("state = 'accepted'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    objection_id: Mapped[int | None] = mapped_column(ForeignKey("objections.id"), default=None)
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accept_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10))  # filed | accepted | rejected | ruled
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
    decision_note: Mapped[str | None] = mapped_column(Text, default=None)
    ruling_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ruling: Mapped[str | None] = mapped_column(Text, default=None)
    ruled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)


class ResultLetter(Base):
    """The award letter (中标通知书) to the winner and a result letter (结果通知书) to every other bidder, with
    the bidder's own rank and score; each bidder reads only its own."""

    __tablename__ = "result_letters"
    __table_args__ = (UniqueConstraint("section_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # award | result
    content: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    content_sha256: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
