"""Scoring and ranking bids, as pure code (no I/O): the two evaluation methods, price-score formulas,
outlier scores, abnormally low prices, ties and the void tender.

Money is integer fen; scores are ``Decimal`` rounded half-up to two places at each published step, so
that anyone re-adding the report's figures gets the same totals.

* **Lowest evaluated price** (经评审的最低投标价法, 条例 §53 / 87号令 §53): qualified bids ranked by their
  evaluated price — the bid price plus the adjustments the evaluators agreed (deviations priced in fen).
* **Comprehensive scoring** (综合评估法 / 综合评分法, 87号令 §55): a price score by the tender's formula plus
  technical and commercial scores per criterion, each criterion averaged over the evaluators — after
  dropping the highest and the lowest when the tender says so and at least five evaluators scored.

Price-score formulas:

* ``lowest`` (低价优先法, 87号令 §55): base = the lowest qualified price; score = full × base ÷ price.
* ``average`` (基准价法, common in works tenders): base = mean of the qualified prices × (1 − ``discount``);
  score = full − deviation% × ``above`` (price above the base) or × ``below`` (below it), never less than 0.
* ``highest`` (高价优先, for a sale such as land transferred by tender, where the higher offer is the better:
  39号令 §13 practice): base = the highest qualified price; score = full × price ÷ base.

A price below ``abnormal_ratio`` of the mean of the *other* qualified prices is flagged as abnormally low
(条例 §51(5) / 87号令 §60: the bidder must explain it; the evaluators may then disqualify). Fewer than three
qualified bids make the tender void (采购法 §36, 87号令 §44; for works 条例 §44 and 法 §28 practice).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

TWO = Decimal("0.01")
MIN_QUALIFIED = 3

#: Tie-break rules a tender may state, applied in its order (then a lot drawn from the published seed).
TIE_RULES = ("lower_price", "higher_technical", "earlier_submission")


def q(value: Decimal | int | float | str) -> Decimal:
    return Decimal(str(value)).quantize(TWO, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Bid:
    bid_id: int
    price_fen: int
    #: Adjustments the evaluators agreed for the lowest-evaluated-price method (fen, + or −).
    adjustment_fen: int = 0
    qualified: bool = True
    #: Used by the ``earlier_submission`` tie rule (any sortable value, e.g. an ISO time).
    received_at: str = ""


@dataclass(frozen=True)
class PriceFormula:
    kind: str = "lowest"  # lowest | average | highest
    full: Decimal = Decimal("30")
    discount: Decimal = Decimal("0")  # average: the base is the mean × (1 − discount)
    above: Decimal = Decimal("1")  # average: points off per 1 % above the base
    below: Decimal = Decimal("0.5")  # average: points off per 1 % below the base

    def __post_init__(self) -> None:
        if self.kind not in ("lowest", "average", "highest"):
            raise ValueError(f"unknown price formula {self.kind!r}")


@dataclass(frozen=True)
class Criterion:
    key: str
    name: str
    max_points: Decimal
    group: str = "technical"  # technical | commercial


@dataclass(frozen=True)
class Ranked:
    bid_id: int
    rank: int
    total: Decimal | None = None  # comprehensive scoring
    evaluated_price_fen: int | None = None  # lowest evaluated price
    price_score: Decimal | None = None
    technical: Decimal | None = None
    commercial: Decimal | None = None
    tie_broken_by: str | None = None


@dataclass(frozen=True)
class Outcome:
    ranking: tuple[Ranked, ...]
    void: bool = False
    void_reason: str = ""
    abnormally_low: tuple[int, ...] = ()
    #: Per bid and criterion: the averaged score, and which evaluators' scores were dropped as outliers.
    criteria: Mapping[int, Mapping[str, Decimal]] = field(default_factory=dict)
    dropped: Mapping[int, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def candidates(self, at_most: int = 3) -> tuple[Ranked, ...]:
        """The ranked candidates to publish (at most three, 条例 §53)."""
        return self.ranking[:at_most]


# --- pieces --------------------------------------------------------------------------------------------------


def abnormally_low(bids: Sequence[Bid], ratio: Decimal = Decimal("0.8")) -> tuple[int, ...]:
    """Qualified bids priced below ``ratio`` × the mean of the other qualified prices."""
    qualified = [b for b in bids if b.qualified]
    flagged = []
    for bid in qualified:
        others = [b.price_fen for b in qualified if b.bid_id != bid.bid_id]
        if others and Decimal(bid.price_fen) < ratio * Decimal(sum(others)) / len(others):
            flagged.append(bid.bid_id)
    return tuple(flagged)


def price_scores(bids: Sequence[Bid], formula: PriceFormula) -> dict[int, Decimal]:
    qualified = [b for b in bids if b.qualified]
    if not qualified:
        return {}
    if formula.kind == "lowest":
        base = Decimal(min(b.price_fen for b in qualified))
        return {b.bid_id: q(formula.full * base / Decimal(b.price_fen)) for b in qualified}
    if formula.kind == "highest":
        base = Decimal(max(b.price_fen for b in qualified))
        return {b.bid_id: q(formula.full * Decimal(b.price_fen) / base) for b in qualified}
    mean = Decimal(sum(b.price_fen for b in qualified)) / len(qualified)
    base = mean * (1 - formula.discount)
    scores = {}
    for b in qualified:
        deviation = (Decimal(b.price_fen) - base) / base * 100  # percent
        off = deviation * formula.above if deviation > 0 else -deviation * formula.below
        scores[b.bid_id] = q(max(Decimal(0), formula.full - off))
    return scores


def criterion_average(scores: Mapping[str, Decimal], *, drop_extremes: bool) -> tuple[Decimal, tuple[str, ...]]:
    """The mean of one criterion over the evaluators (keys: evaluator ids); with ``drop_extremes`` and at
    least five scores, one highest and one lowest are dropped first. Returns (mean, dropped evaluators)."""
    if not scores:
        raise ValueError("no scores")
    items = sorted(scores.items(), key=lambda kv: (kv[1], kv[0]))
    dropped: tuple[str, ...] = ()
    if drop_extremes and len(items) >= 5:
        dropped = (items[0][0], items[-1][0])
        items = items[1:-1]
    return q(sum(Decimal(v) for _, v in items) / len(items)), dropped


def _lot(seed: bytes, bid_id: int) -> bytes:
    return hashlib.sha256(b"trading-tie-lot/v1\x00" + seed + bid_id.to_bytes(8, "big")).digest()


def _void(qualified: int) -> str:
    return (
        f"通过评审的投标人只有 {qualified} 个，不足 3 个，本次招标（采购）无效，依法重新组织"
        f" / only {qualified} qualified bids, fewer than three: the tender is void (采购法 §36, 87号令 §44)"
    )


# --- the two methods ---------------------------------------------------------------------------------------


def lowest_evaluated_price(
    bids: Sequence[Bid],
    *,
    tie_rules: Sequence[str] = ("earlier_submission",),
    lot_seed: bytes = b"",
    abnormal_ratio: Decimal = Decimal("0.8"),
) -> Outcome:
    qualified = [b for b in bids if b.qualified]
    flagged = abnormally_low(bids, abnormal_ratio)
    if len(qualified) < MIN_QUALIFIED:
        return Outcome(ranking=(), void=True, void_reason=_void(len(qualified)), abnormally_low=flagged)

    def key(b: Bid) -> tuple[object, ...]:
        # (no technical score in this method: "higher_technical" separates nothing)
        return _rank_key(b, b.price_fen + b.adjustment_fen, Decimal(0), tie_rules, lot_seed)

    ordered = sorted(qualified, key=key)
    ranking = []
    for i, b in enumerate(ordered):
        tied = [o for o in ordered if o is not b and o.price_fen + o.adjustment_fen == b.price_fen + b.adjustment_fen]
        ranking.append(
            Ranked(
                bid_id=b.bid_id,
                rank=i + 1,
                evaluated_price_fen=b.price_fen + b.adjustment_fen,
                tie_broken_by=_broken_by(b, tied, tie_rules, key) if tied else None,
            )
        )
    return Outcome(ranking=tuple(ranking), abnormally_low=flagged)


def comprehensive(
    bids: Sequence[Bid],
    criteria: Sequence[Criterion],
    scores: Mapping[int, Mapping[str, Mapping[str, Decimal]]],
    *,
    formula: PriceFormula,
    drop_extremes: bool = True,
    tie_rules: Sequence[str] = ("lower_price", "higher_technical"),
    lot_seed: bytes = b"",
    abnormal_ratio: Decimal = Decimal("0.8"),
) -> Outcome:
    """``scores[bid_id][criterion_key][evaluator] = points`` for the qualified bids."""
    for criterion in criteria:
        for bid_scores in scores.values():
            for evaluator, value in bid_scores.get(criterion.key, {}).items():
                if not Decimal(0) <= Decimal(value) <= criterion.max_points:
                    raise ValueError(f"{evaluator}: {criterion.key} must be within 0..{criterion.max_points}")
    qualified = [b for b in bids if b.qualified]
    flagged = abnormally_low(bids, abnormal_ratio)
    if len(qualified) < MIN_QUALIFIED:
        return Outcome(ranking=(), void=True, void_reason=_void(len(qualified)), abnormally_low=flagged)
    price = price_scores(bids, formula)
    averaged: dict[int, dict[str, Decimal]] = {}
    dropped: dict[int, dict[str, tuple[str, ...]]] = {}
    totals: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
    for b in qualified:
        averaged[b.bid_id], dropped[b.bid_id] = {}, {}
        groups = {"technical": Decimal(0), "commercial": Decimal(0)}
        for criterion in criteria:
            given = scores.get(b.bid_id, {}).get(criterion.key)
            if not given:
                raise ValueError(f"bid {b.bid_id} has no scores for {criterion.key}")
            mean, out = criterion_average(given, drop_extremes=drop_extremes)
            averaged[b.bid_id][criterion.key], dropped[b.bid_id][criterion.key] = mean, out
            groups[criterion.group] += mean
        total = q(price[b.bid_id] + groups["technical"] + groups["commercial"])
        totals[b.bid_id] = (total, groups["technical"], groups["commercial"])

    def key(b: Bid) -> tuple[object, ...]:
        return _rank_key(b, -totals[b.bid_id][0], totals[b.bid_id][1], tie_rules, lot_seed)

    ordered = sorted(qualified, key=key)
    ranking = []
    for i, b in enumerate(ordered):
        tied = [o for o in ordered if o is not b and totals[o.bid_id][0] == totals[b.bid_id][0]]
        ranking.append(
            Ranked(
                bid_id=b.bid_id,
                rank=i + 1,
                total=totals[b.bid_id][0],
                price_score=price[b.bid_id],
                technical=totals[b.bid_id][1],
                commercial=totals[b.bid_id][2],
                tie_broken_by=_broken_by(b, tied, tie_rules, key) if tied else None,
            )
        )
    return Outcome(ranking=tuple(ranking), abnormally_low=flagged, criteria=averaged, dropped=dropped)


def _rank_key(
    bid: Bid, primary: object, technical: Decimal, rules: Sequence[str], lot_seed: bytes
) -> tuple[object, ...]:
    """Sort key: the method's primary figure, then the tender's tie rules in order, then the lot."""
    parts: list[object] = [primary]
    for rule in rules:
        if rule == "lower_price":
            parts.append(bid.price_fen)
        elif rule == "higher_technical":
            parts.append(-technical)
        elif rule == "earlier_submission":
            parts.append(bid.received_at)
        else:
            raise ValueError(f"unknown tie rule {rule!r}")
    parts.append(_lot(lot_seed, bid.bid_id))
    return tuple(parts)


def _broken_by(bid: Bid, tied: list[Bid], rules: Sequence[str], key) -> str:  # type: ignore[no-untyped-def]
    """Which rule separated this bid from those with the same score: the first rule position that differs
    for every tied bid, else the lot."""
    mine = key(bid)
    position = 1
    for rule in rules:
        if all(key(o)[position] != mine[position] for o in tied):
            return rule
        position += 1
    return "lot"
