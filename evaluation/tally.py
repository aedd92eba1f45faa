"""From the panel's submitted score sheets to the evaluation report, as pure code (no I/O).

* A bid is rejected (否决) when more than half of the panel reject it (法 §40: the panel decides by
  majority), on the ground most of them named; a price above the opened control price is rejected by the
  platform itself (条例 §51(5)), whatever the sheets say.
* Lowest evaluated price: the agreed adjustment of a bid is the median of the adjustments its qualifying
  evaluators priced.
* Comprehensive scoring: the criterion points of the evaluators who qualified a bid go to
  :func:`evaluation.scoring.comprehensive`, which averages them (dropping outliers when the plan says so)
  and adds the price score. (An evaluator outvoted on a rejection gave the bid no points: it does not
  count in that bid's averages.)
* Ties are broken by the plan's rules, then by a lot drawn from the expert draw's seed — secret until the
  result and published with it, so anyone can redraw the lot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from evaluation import scoring
from evaluation.plans import criteria_of, formula_of


@dataclass(frozen=True)
class BidFacts:
    bid_id: int
    bidder: str
    credit_code: str
    price_fen: int
    received_at: str
    form: Mapping[str, Any]


def _median(values: Sequence[int]) -> int:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] if ordered else 0


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def compile_report(
    plan: Mapping[str, Any],
    bids: Sequence[BidFacts],
    sheets: Mapping[int, Sequence[Mapping[str, Any]]],
    *,
    ceiling_fen: int | None,
    lot_seed: bytes,
) -> dict[str, Any]:
    """``sheets[expert_id]`` is that evaluator's submitted entries. Returns the report's content."""
    panel = sorted(sheets)
    entries = {expert: {int(e["bid_id"]): e for e in sheet_entries} for expert, sheet_entries in sheets.items()}
    verdicts: dict[int, dict[str, Any]] = {}
    for bid in bids:
        rejecting = [(x, entries[x][bid.bid_id]) for x in panel if not entries[x][bid.bid_id]["qualified"]]
        verdict: dict[str, Any] = {"rejected_by": [x for x, _ in rejecting]}
        if ceiling_fen is not None and bid.price_fen > ceiling_fen:
            verdict["rejection"] = {
                "ground": "below_cost_or_above_ceiling",
                "by": "platform",
                "note": f"投标报价 {bid.price_fen / 100:,.2f} 元高于最高投标限价 {ceiling_fen / 100:,.2f} 元",
            }
        elif len(rejecting) * 2 > len(panel):
            grounds = Counter(e["rejection"] for _, e in rejecting)
            ground = min(grounds, key=lambda g: (-grounds[g], g))
            verdict["rejection"] = {
                "ground": ground,
                "by": "panel",
                "votes": len(rejecting),
                "notes": [e["note"] for _, e in rejecting if e["rejection"] == ground],
            }
        verdicts[bid.bid_id] = verdict
    scored = [
        scoring.Bid(
            bid_id=b.bid_id,
            price_fen=b.price_fen,
            adjustment_fen=_median(
                [int(entries[x][b.bid_id].get("adjustment_fen", 0)) for x in panel if entries[x][b.bid_id]["qualified"]]
            ),
            qualified="rejection" not in verdicts[b.bid_id],
            received_at=b.received_at,
        )
        for b in bids
    ]
    tie_rules = plan.get("tie_rules") or (
        ["lower_price", "higher_technical"] if plan["method"] == "comprehensive" else ["earlier_submission"]
    )
    ratio = Decimal(str(plan.get("abnormal_ratio", "0.8")))
    if plan["method"] == "comprehensive":
        points = {
            b.bid_id: {
                c.key: {
                    str(x): Decimal(str(entries[x][b.bid_id]["scores"][c.key]))
                    for x in panel
                    if entries[x][b.bid_id]["qualified"]
                }
                for c in criteria_of(plan)
            }
            for b in scored
            if b.qualified
        }
        outcome = scoring.comprehensive(
            scored,
            criteria_of(plan),
            points,
            formula=formula_of(plan),
            drop_extremes=bool(plan.get("drop_extremes", True)),
            tie_rules=tie_rules,
            lot_seed=lot_seed,
            abnormal_ratio=ratio,
        )
    else:
        outcome = scoring.lowest_evaluated_price(scored, tie_rules=tie_rules, lot_seed=lot_seed, abnormal_ratio=ratio)
    by_id = {b.bid_id: b for b in bids}
    adjustments = {b.bid_id: b.adjustment_fen for b in scored}
    return {
        "method": plan["method"],
        "panel": panel,
        "bids": [
            {
                "bid_id": b.bid_id,
                "bidder": b.bidder,
                "credit_code": b.credit_code,
                "price_fen": b.price_fen,
                "received_at": b.received_at,
                "qualified": "rejection" not in verdicts[b.bid_id],
                **verdicts[b.bid_id],
                "abnormally_low": b.bid_id in outcome.abnormally_low,
                "adjustment_fen": adjustments[b.bid_id] if plan["method"] == "lowest_price" else None,
                "criteria": {k: str(v) for k, v in outcome.criteria.get(b.bid_id, {}).items()},
                "dropped": {k: list(v) for k, v in outcome.dropped.get(b.bid_id, {}).items() if v},
            }
            for b in bids
        ],
        "sheets": {
            str(x): [
                {
                    "bid_id": e["bid_id"],
                    "qualified": e["qualified"],
                    "rejection": e.get("rejection"),
                    "note": e.get("note", ""),
                    "scores": e.get("scores", {}),
                    "adjustment_fen": e.get("adjustment_fen", 0),
                }
                for e in sorted(entries[x].values(), key=lambda e: e["bid_id"])
            ]
            for x in panel
        },
        "ranking": [
            {
                "rank": r.rank,
                "bid_id": r.bid_id,
                "bidder": by_id[r.bid_id].bidder,
                "credit_code": by_id[r.bid_id].credit_code,
                "price_fen": by_id[r.bid_id].price_fen,
                "total": _s(r.total),
                "price_score": _s(r.price_score),
                "technical": _s(r.technical),
                "commercial": _s(r.commercial),
                "evaluated_price_fen": r.evaluated_price_fen,
                "tie_broken_by": r.tie_broken_by,
            }
            for r in outcome.ranking
        ],
        "candidates": [r.bid_id for r in outcome.candidates(int(plan.get("candidates", 3)))],
        "void": outcome.void,
        "void_reason": outcome.void_reason,
    }
