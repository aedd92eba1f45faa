"""Payments (and, for land transfers, instalments collected) and the alerts they raise for supervisors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base, BigIntPK, JSONDoc, UTCDateTime


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
