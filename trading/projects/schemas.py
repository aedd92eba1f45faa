"""Request and response shapes for trading projects, funding sources and sections."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from trading.accounts.schemas import Name, RegionCode, Strict

TradeKind = Literal["works", "procurement", "land", "property"]
FundingKind = Literal["fiscal", "special_bond", "self_raised", "bank_loan", "other"]
Fen = Annotated[int, msgspec.Meta(ge=0, le=10**15)]

TRADE_KIND_NAMES = {
    "works": ("工程建设", "Construction works"),
    "procurement": ("政府采购", "Government procurement"),
    "land": ("国有建设用地使用权出让", "State land-use rights transfer"),
    "property": ("国有产权交易", "State-owned property rights"),
}
FUNDING_KIND_NAMES = {
    "fiscal": ("财政资金", "Fiscal funds"),
    "special_bond": ("专项债券", "Special-purpose bonds"),
    "self_raised": ("自筹资金", "Self-raised funds"),
    "bank_loan": ("银行贷款", "Bank loans"),
    "other": ("其他", "Other"),
}


class FundingSourceIn(Strict):
    kind: FundingKind
    amount_fen: Fen
    description: Annotated[str, msgspec.Meta(max_length=200)] = ""


class SectionIn(Strict):
    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9-]{1,40}$")]
    name: Name
    estimated_price_fen: Fen | None = None


class ProjectCreate(Strict):
    name: Annotated[str, msgspec.Meta(min_length=2, max_length=300)]
    trade_kind: TradeKind
    procedure: str
    region_code: RegionCode
    tenderer_id: int
    sections: Annotated[list[SectionIn], msgspec.Meta(min_length=1, max_length=100)]
    agent_id: int | None = None
    description: Annotated[str, msgspec.Meta(max_length=20000)] = ""
    budget_fen: Fen | None = None
    control_price_fen: Fen | None = None
    funding_sources: Annotated[list[FundingSourceIn], msgspec.Meta(max_length=50)] = []
    #: Admins name the centre; staff always act for their own.
    centre_id: int | None = None


class FundingSourceRead(msgspec.Struct):
    kind: str
    kind_zh: str
    description: str
    amount_fen: int


class SectionRead(msgspec.Struct):
    id: int
    code: str
    name: str
    state: str
    estimated_price_fen: int | None
    timetable: dict[str, str]
    deadline_at: datetime | None


class ProjectRead(msgspec.Struct):
    id: int
    trade_code: str
    name: str
    trade_kind: str
    procedure: str
    region_code: str
    region_name: str
    centre_id: int
    tenderer_id: int
    tenderer_name: str
    agent_id: int | None
    agent_name: str | None
    description: str
    budget_fen: int | None
    control_price_fen: int | None
    state: str
    created_at: datetime
    funding_sources: list[FundingSourceRead]
    sections: list[SectionRead]


class ProjectSummary(msgspec.Struct):
    id: int
    trade_code: str
    name: str
    trade_kind: str
    procedure: str
    region_code: str
    state: str
    budget_fen: int | None


class ProjectPage(msgspec.Struct):
    items: list[ProjectSummary]
    next: str | None
