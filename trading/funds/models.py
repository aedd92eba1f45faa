"""Contracts, payments (and, for land transfers, instalments collected) and the alerts they raise for supervisors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base, BigIntPK, JSONDoc, UTCDateTime


class Contract(Base):
    """The contract signed after the award (合同), recorded by staff and published by the platform as the
    section's contract publicity notice (合同公示). One per section."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    #: The published result notice (中标/成交结果公告) the contract follows.
    result_notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    #: The contract publicity notice the platform published for it.
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), unique=True)
    #: [{"role": "甲方" | "乙方", "name": …, "credit_code": …}]
    parties: Mapped[list[dict[str, str]]] = mapped_column(JSONDoc)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: The award amount (price_fen of the result notice); a different contract amount needs a stated reason.
    award_amount_fen: Mapped[int] = mapped_column(BigInteger)
    variation_reason: Mapped[str] = mapped_column(Text, default="")
    signed_on: Mapped[date] = mapped_column(Date)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    term: Mapped[str] = mapped_column(String(300))
    #: SHA-256 of the signed contract document; the document itself stays with the parties.
    document_sha256: Mapped[str] = mapped_column(String(64))
    performance_place: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    #: Calendar days from the result notice's first publication to the signing; more than 30 is late.
    days_after_award: Mapped[int] = mapped_column(Integer)
    late: Mapped[bool] = mapped_column(Boolean)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Payment(Base):
    """One payment made under a project's contract (支付), or one instalment of a land price collected (收缴)."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    #: The published contract notice the payment is made under (a project may have one per section).
    contract_notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), default=None)
    #: payment (支付, to the contractor) | collection (收缴, a land or property price instalment)
    kind: Mapped[str] = mapped_column(String(20))
    paid_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payer: Mapped[str] = mapped_column(String(200))
    payee: Mapped[str] = mapped_column(String(200))
    payee_credit_code: Mapped[str] = mapped_column(String(18), default="")
    purpose: Mapped[str] = mapped_column(String(300))
    milestone: Mapped[str] = mapped_column(String(200), default="")
    #: SHA-256 of the evidence (payment voucher, bank slip); the document itself stays with the payer.
    evidence_sha256: Mapped[str] = mapped_column(String(64))
    #: over_contract | payee_not_contractor — each also raised as an alert for supervisors
    flags: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SupervisionAlert(Base):
    """Something supervisors should look at (监督预警): an overpayment, a payee who is not the contractor, …"""

    __tablename__ = "supervision_alerts"
    __table_args__ = (
        # One alert of a kind per subject: a check that runs again, or on two workers at once, raises nothing new.
        Index("uq_supervision_alerts_kind_subject", "kind", "subject_type", "subject_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"), default=None)
