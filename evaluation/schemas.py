"""Request and response bodies for the expert pool, the expert draw, the evaluation, the publicity and the award."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from trading.accounts.schemas import Strict

Speciality = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class ExpertIn(Strict):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    specialities: Annotated[list[Speciality], msgspec.Meta(min_length=1, max_length=20)]
    region_code: Annotated[str, msgspec.Meta(pattern=r"^\d{6}$")]
    organisation_name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    organisation_credit_code: Annotated[str, msgspec.Meta(max_length=18)] = ""
    #: An evaluator account, so the expert can sign in to evaluate.
    person_id: int | None = None
    active: bool = True


class ExpertRead(msgspec.Struct):
    id: int
    name: str
    specialities: list[str]
    region_code: str
    organisation_name: str
    organisation_credit_code: str
    person_id: int | None
    active: bool


class DrawIn(Strict):
    #: How many evaluators: an odd number, at least ``settings.min_evaluators``.
    count: Annotated[int, msgspec.Meta(ge=1, le=99)]
    specialities: Annotated[list[Speciality], msgspec.Meta(min_length=1, max_length=20)]


class ConflictIn(Strict):
    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=2000)]


class DrawRead(msgspec.Struct):
    """The draw as the public sees it: before the result, only what was committed and when."""

    section_id: int
    state: str  # committed | drawn | revealed
    count: int
    specialities: list[str]
    commitment: str
    pool_hash: str
    pool_size: int
    committed_at: datetime
    drawn_at: datetime | None
    #: After the result is published: everything needed to recompute the draw, and the panel's names.
    seed: str | None = None
    beacon: str | None = None
    beacon_tree_size: int | None = None
    pool: list[dict[str, Any]] | None = None
    result: dict[str, Any] | None = None
    conflicts: list[int] | None = None
    panel: list[dict[str, Any]] | None = None


# --- the evaluation ----------------------------------------------------------------------------------------

#: Points and ratios come as decimal strings ("8.5"); msgspec cannot bound a Decimal: the services check them.
Points = Decimal
CriterionKey = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$")]

#: Grounds for rejecting a bid (否决投标), 《招标投标法实施条例》第五十一条.
REJECTION_GROUNDS: dict[str, tuple[str, str]] = {
    "unsigned": ("投标文件未经投标单位盖章和单位负责人签字（条例 §51(1)）", "not sealed and signed (Reg. Art. 51(1))"),
    "no_consortium_agreement": (
        "投标联合体没有提交共同投标协议（条例 §51(2)）",
        "a consortium without its joint bidding agreement (Reg. Art. 51(2))",
    ),
    "not_qualified": (
        "投标人不符合国家或者招标文件规定的资格条件（条例 §51(3)）",
        "the bidder lacks the required qualifications (Reg. Art. 51(3))",
    ),
    "multiple_bids": (
        "同一投标人提交两个以上不同的投标文件或者投标报价（条例 §51(4)）",
        "two or more different bids or prices from one bidder (Reg. Art. 51(4))",
    ),
    "below_cost_or_above_ceiling": (
        "投标报价低于成本或者高于招标文件设定的最高投标限价（条例 §51(5)）",
        "price below cost or above the control price (Reg. Art. 51(5))",
    ),
    "not_responsive": (
        "投标文件没有对招标文件的实质性要求和条件作出响应（条例 §51(6)）",
        "does not respond to the tender's substantive requirements (Reg. Art. 51(6))",
    ),
    "collusion_or_fraud": (
        "投标人有串通投标、弄虚作假、行贿等违法行为（条例 §51(7)）",
        "collusion, fraud or bribery (Reg. Art. 51(7))",
    ),
}


class CriterionIn(Strict):
    key: CriterionKey
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    max_points: Points
    group: Literal["technical", "commercial"] = "technical"


class PriceFormulaIn(Strict):
    #: lowest (低价优先法), average (基准价法) or highest (高价优先: a sale, e.g. land transferred by tender).
    kind: Literal["lowest", "average", "highest"] = "lowest"
    full: Points = Decimal("30")
    discount: Decimal = Decimal("0")
    above: Decimal = Decimal("1")
    below: Decimal = Decimal("0.5")


class PlanIn(Strict):
    """The evaluation method the tender documents state (评标办法)."""

    method: Literal["lowest_price", "comprehensive"]
    price_formula: PriceFormulaIn | None = None
    criteria: Annotated[list[CriterionIn], msgspec.Meta(max_length=40)] = []
    #: Drop each criterion's highest and lowest score when five or more evaluators scored.
    drop_extremes: bool = True
    tie_rules: Annotated[
        list[Literal["lower_price", "higher_technical", "earlier_submission"]], msgspec.Meta(max_length=3)
    ] = []
    abnormal_ratio: Decimal = Decimal("0.8")
    candidates: Annotated[int, msgspec.Meta(ge=1, le=3)] = 3


class SheetEntryIn(Strict):
    bid_id: int
    qualified: bool
    #: When not qualified: the ground (a key of REJECTION_GROUNDS) and the evaluator's note.
    rejection: str | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    #: Comprehensive scoring: points per criterion key.
    scores: dict[CriterionKey, Points] = {}
    #: Lowest evaluated price: the price adjustment for deviations, in fen (+ or −).
    adjustment_fen: Annotated[int, msgspec.Meta(ge=-(10**15), le=10**15)] = 0


class SheetIn(Strict):
    entries: Annotated[list[SheetEntryIn], msgspec.Meta(max_length=1000)]
    #: Sign the sheet off: it can no longer change, and it counts in the report.
    submit: bool = False


class PublicityCandidateIn(Strict):
    bid_id: int
    project_leader: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    certificate: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    qualifications: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class PublicityIn(Strict):
    #: Per candidate: the project leader with certificate and how the candidate meets the qualifications.
    candidates: Annotated[list[PublicityCandidateIn], msgspec.Meta(min_length=1, max_length=3)]
    #: At least three days (条例 §54).
    days: Annotated[int, msgspec.Meta(ge=3, le=30)] = 3
    objection_how: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class ObjectionIn(Strict):
    subject: Annotated[str, msgspec.Meta(min_length=2, max_length=200)]
    text: Annotated[str, msgspec.Meta(min_length=10, max_length=20000)]


class ObjectionReplyIn(Strict):
    outcome: Literal["dismissed", "upheld"]
    reply: Annotated[str, msgspec.Meta(min_length=10, max_length=20000)]


class ComplaintIn(Strict):
    objection_id: int
    text: Annotated[str, msgspec.Meta(min_length=10, max_length=20000)]


class ComplaintDecisionIn(Strict):
    accept: bool
    note: Annotated[str, msgspec.Meta(min_length=2, max_length=5000)]
    #: 条例 §62: the supervisors may order the trade suspended while they look into it.
    suspend: bool = False


class ComplaintRulingIn(Strict):
    ruling: Annotated[str, msgspec.Meta(min_length=2, max_length=20000)]


class AwardIn(Strict):
    #: Default: the first-ranked candidate. Another candidate only with a reason (条例 §55).
    winner_bid_id: int | None = None
    reason: Annotated[str, msgspec.Meta(max_length=2000)] = ""
