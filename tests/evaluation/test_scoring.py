"""The scoring formulas as pure unit tests: both methods, both price formulas, outliers, abnormally low
prices, ties broken by the tender's rule (then a lot from a published seed), and the void tender."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from evaluation.scoring import (
    Bid,
    Criterion,
    PriceFormula,
    abnormally_low,
    comprehensive,
    criterion_average,
    lowest_evaluated_price,
    price_scores,
)

BIDS = [
    Bid(1, 4_500_000_000, received_at="2026-03-23T09:01"),
    Bid(2, 4_000_000_000, received_at="2026-03-23T09:02"),
    Bid(3, 5_000_000_000, received_at="2026-03-23T09:00"),
]


def test_the_lowest_price_formula_gives_full_points_to_the_lowest_and_the_rest_in_proportion():
    scores = price_scores(BIDS, PriceFormula("lowest", full=D(30)))
    assert scores == {1: D("26.67"), 2: D("30.00"), 3: D("24.00")}  # 30 × 4000/4500, 30, 30 × 4000/5000


def test_the_highest_price_formula_gives_full_points_to_the_highest_offer_as_a_sale_wants():
    scores = price_scores(BIDS, PriceFormula("highest", full=D(70)))
    assert scores == {1: D("63.00"), 2: D("56.00"), 3: D("70.00")}  # 70 × 4500/5000, 70 × 4000/5000, 70
    with pytest.raises(ValueError):
        PriceFormula("dearest")


def test_the_average_formula_takes_points_off_per_percent_from_the_discounted_mean():
    # mean 4,500 万; base = 4,500 × (1 − 2 %) = 4,410 万
    formula = PriceFormula("average", full=D(40), discount=D("0.02"), above=D(2), below=D(1))
    scores = price_scores(BIDS, formula)
    # bid 1: +2.0408…% above → 40 − 4.08 = 35.92; bid 2: −9.297…% below → 40 − 9.30 = 30.70;
    # bid 3: +13.378…% above → 40 − 26.76 = 13.24
    assert scores == {1: D("35.92"), 2: D("30.70"), 3: D("13.24")}
    harsh = price_scores(BIDS, PriceFormula("average", full=D(10), above=D(5)))
    assert harsh[3] == D("0.00")  # never below zero


def test_outliers_are_dropped_only_with_five_or_more_evaluators():
    five = {"a": D(20), "b": D(21), "c": D(22), "d": D(23), "e": D(2)}
    assert criterion_average(five, drop_extremes=True) == (D("21.00"), ("e", "d"))
    assert criterion_average(five, drop_extremes=False) == (D("17.60"), ())
    three = {"a": D(20), "b": D(21), "c": D(2)}
    assert criterion_average(three, drop_extremes=True) == (D("14.33"), ())


def _scores(values: dict[int, tuple[list[int], list[int]]]) -> dict:
    evaluators = ["甲", "乙", "丙", "丁", "戊"]
    return {
        bid: {
            "tech": dict(zip(evaluators, map(D, tech), strict=True)),
            "biz": dict(zip(evaluators, map(D, biz), strict=True)),
        }
        for bid, (tech, biz) in values.items()
    }


CRITERIA = [Criterion("tech", "施工组织设计", D(50)), Criterion("biz", "企业业绩与信誉", D(20), group="commercial")]


def test_comprehensive_scoring_ranks_by_total_and_reports_every_piece():
    scores = _scores(
        {
            1: ([40, 42, 41, 43, 10], [15, 16, 15, 16, 15]),  # an evaluator far below the others
            2: ([35, 36, 35, 36, 35], [14, 14, 14, 14, 14]),
            3: ([45, 45, 46, 44, 45], [18, 18, 18, 18, 18]),
        }
    )
    outcome = comprehensive(BIDS, CRITERIA, scores, formula=PriceFormula("lowest", full=D(30)))
    assert not outcome.void
    assert [r.bid_id for r in outcome.ranking] == [3, 1, 2]
    first = outcome.ranking[0]
    assert (first.price_score, first.technical, first.commercial, first.total) == (
        D("24.00"),
        D("45.00"),
        D("18.00"),
        D("87.00"),
    )
    assert outcome.criteria[1]["tech"] == D("41.00")  # 10 and 43 dropped: (40 + 42 + 41) / 3
    assert outcome.dropped[1]["tech"] == ("戊", "丁")
    assert outcome.ranking[1].total == D("26.67") + D("41.00") + D("15.33")
    assert len(outcome.candidates()) == 3


def test_ties_are_broken_by_the_tenders_rule_then_by_lot():
    same = _scores({b.bid_id: ([40] * 5, [15] * 5) for b in BIDS})
    flat = PriceFormula("average", full=D(0))  # no price points: all three totals equal
    outcome = comprehensive(BIDS, CRITERIA, same, formula=flat, tie_rules=("lower_price",))
    assert [r.bid_id for r in outcome.ranking] == [2, 1, 3]
    assert {r.tie_broken_by for r in outcome.ranking} == {"lower_price"}
    twins = [
        Bid(1, 4_000_000_000, received_at="b"),
        Bid(2, 4_000_000_000, received_at="a"),
        Bid(3, 4_000_000_000, received_at="c"),
    ]
    by_time = lowest_evaluated_price(twins, tie_rules=("lower_price", "earlier_submission"))
    assert [r.bid_id for r in by_time.ranking] == [2, 1, 3] and by_time.ranking[0].tie_broken_by == "earlier_submission"
    one = lowest_evaluated_price(twins, tie_rules=(), lot_seed=b"seed-1")
    two = lowest_evaluated_price(twins, tie_rules=(), lot_seed=b"seed-1")
    assert one == two and {r.tie_broken_by for r in one.ranking} == {"lot"}
    orders = {
        tuple(r.bid_id for r in lowest_evaluated_price(twins, tie_rules=(), lot_seed=bytes([i])).ranking)
        for i in range(40)
    }
    assert len(orders) > 1  # the lot depends on the published seed


def test_the_lowest_evaluated_price_counts_the_agreed_adjustments():
    bids = [Bid(1, 4_000_000_000, adjustment_fen=600_000_000), Bid(2, 4_500_000_000), Bid(3, 4_550_000_000)]
    outcome = lowest_evaluated_price(bids)
    assert [(r.bid_id, r.evaluated_price_fen) for r in outcome.ranking] == [
        (2, 4_500_000_000),
        (3, 4_550_000_000),
        (1, 4_600_000_000),
    ]


def test_fewer_than_three_qualified_bids_void_the_tender():
    bids = [*BIDS[:2], Bid(3, 5_000_000_000, qualified=False)]
    for outcome in (
        lowest_evaluated_price(bids),
        comprehensive(bids, CRITERIA, {}, formula=PriceFormula()),
    ):
        assert outcome.void and outcome.ranking == () and "87号令 §44" in outcome.void_reason


def test_abnormally_low_prices_are_flagged_against_the_others_mean():
    bids = [Bid(1, 3_000_000_000), Bid(2, 4_500_000_000), Bid(3, 4_600_000_000), Bid(4, 1_000, qualified=False)]
    assert abnormally_low(bids) == (1,)  # 3,000 < 0.8 × 4,550
    assert abnormally_low(bids, D("0.6")) == ()


def test_bad_scores_and_formulas_are_refused():
    with pytest.raises(ValueError, match="within"):
        comprehensive(BIDS, CRITERIA, _scores({b.bid_id: ([51] * 5, [15] * 5) for b in BIDS}), formula=PriceFormula())
    with pytest.raises(ValueError, match="formula"):
        PriceFormula("median")
    with pytest.raises(ValueError, match="tie rule"):
        lowest_evaluated_price(BIDS, tie_rules=("coin",))
