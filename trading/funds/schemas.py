"""Request and response bodies for contracts, payments, a project's fund usage, the summaries and supervisors'
alerts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from trading.accounts.schemas import Strict

Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ContractPartyIn(Strict):
    name: Text200
    #: Unified social credit code (统一社会信用代码); checked, then stored in canonical form.
    credit_code: Annotated[str, msgspec.Meta(min_length=18, max_length=30)]


class ContractTermIn(Strict):
    """The contract term (合同期限): the dates it runs between and how the contract itself words it."""

    starts_on: date
    ends_on: date
    description: Annotated[str, msgspec.Meta(min_length=2, max_length=200)]


class ContractIn(Strict):
    """A signed contract, as staff record it; the platform checks it against the award and publishes it."""

    #: 甲方: the tenderer (招标人) or purchaser (采购人) of the project.
    tenderer: ContractPartyIn
    #: 乙方: the winner named by the section's published result notice.
    contractor: ContractPartyIn
    #: In fen; equal to the award amount unless ``variation_reason`` says why not (法 §46).
    amount_fen: Annotated[int, msgspec.Meta(gt=0, le=10**15)]
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
    signed_on: date
    term: ContractTermIn
    document_sha256: Annotated[str, msgspec.Meta(pattern="^[0-9a-fA-F]{64}$")]
    variation_reason: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    performance_place: Annotated[str, msgspec.Meta(max_length=300)] = ""
    notes: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class ContractParty(msgspec.Struct):
    #: 甲方 | 乙方
    role: str
    name: str
    credit_code: str


class ContractRead(msgspec.Struct):
    id: int
    section_id: int
    project_id: int
    result_notice_id: int
    #: The contract publicity notice (合同公示) the platform published.
    notice_id: int
    parties: list[ContractParty]
    amount_fen: int
    currency: str
    award_amount_fen: int
    #: amount_fen − award_amount_fen; non-zero only with a variation_reason.
    difference_fen: int
    variation_reason: str
    signed_on: date
    starts_on: date
    ends_on: date
    term: str
    document_sha256: str
    performance_place: str
    notes: str
    #: Calendar days from the result notice's first publication to the signing.
    days_after_award: int
    #: Signed more than 30 days after the award notice (法 §46, 采购法 §46).
    late: bool
    recorded_at: datetime


class PaymentIn(Strict):
    #: payment (支付 to the contractor) | collection (收缴: an instalment of a land or property price)
    kind: Annotated[str, msgspec.Meta(pattern="^(payment|collection)$")]
    paid_on: date
    #: In fen; a payment is never zero or negative (a refund is recorded by the payer's side as its own record).
    amount_fen: Annotated[int, msgspec.Meta(gt=0, le=10**15)]
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
    payer: Text200
    payee: Text200
    purpose: Annotated[str, msgspec.Meta(min_length=2, max_length=300)]
    evidence_sha256: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
    payee_credit_code: Annotated[str, msgspec.Meta(max_length=18)] = ""
    milestone: Annotated[str, msgspec.Meta(max_length=200)] = ""
    #: The contract notice paid under; needed when the project has several contracts (one per section).
    contract_notice_id: int | None = None
    #: Needed (with a reason) when this payment takes the total past the contract amount.
    over_contract_reason: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class PaymentRead(msgspec.Struct):
    id: int
    project_id: int
    contract_notice_id: int | None
    kind: str
    paid_on: date
    amount_fen: int
    currency: str
    payer: str
    payee: str
    payee_credit_code: str
    purpose: str
    milestone: str
    evidence_sha256: str
    flags: list[str]
    recorded_at: datetime


class SourceRead(msgspec.Struct):
    kind: str
    kind_zh: str
    description: str
    amount_fen: int


class ContractFacts(msgspec.Struct):
    notice_id: int
    title: str
    section_ids: list[int]
    amount_fen: int
    contractor: str
    contractor_credit_code: str
    signed_on: str | None


class FundsRead(msgspec.Struct):
    """A project's fund usage: where the money comes from, what was awarded and contracted, what was paid."""

    project_id: int
    trade_code: str
    name: str
    trade_kind: str
    funding: list[SourceRead]
    funding_total_fen: int
    budget_fen: int | None
    control_price_fen: int | None
    award_fen: int | None
    #: One per section under contract; ``contract_fen`` is their total.
    contracts: list[ContractFacts]
    contract_fen: int | None
    payments: list[PaymentRead]
    paid_fen: int
    #: paid ÷ contract amount (or ÷ transfer price for collections), when there is one.
    disbursed: float | None


class SummaryRow(msgspec.Struct):
    key: str
    name_zh: str
    projects: int
    funding_fen: int
    contracted_fen: int
    paid_fen: int
    #: Land prices and property transfer proceeds collected (收缴): money the trade brings in, not spends.
    collected_fen: int = 0
    #: Whether the trade kind spends project funds (works, procurement) or brings money in (land, property).
    spends: bool = True


class SummaryRead(msgspec.Struct):
    year: int | None
    region_code: str | None
    by_trade_kind: list[SummaryRow]
    by_funding_source: list[SummaryRow]
    totals: dict[str, Any]


class AlertRead(msgspec.Struct):
    id: int
    kind: str
    project_id: int
    subject_type: str
    subject_id: int
    message_zh: str
    message_en: str
    details: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
