"""The expert draw as pure code: determinism, exclusions with reasons, replacement, fairness, and the
recomputation anyone can do from the published seed (checked against an implementation written here)."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluation.draw import (
    BIDDER,
    CONFLICT,
    TENDERER,
    PoolEntry,
    commitment,
    draw,
    order,
    pool_for,
    pool_hash,
)

TENDERER_CODE = "11430700MB1C0011XX"
BIDDERS = ("91430700MA000001AA", "91430700MA000002BB")


def _pool(n: int = 12) -> list[PoolEntry]:
    orgs = ["", TENDERER_CODE, BIDDERS[0], "", "", BIDDERS[1], "", "", "", "", "", ""]
    return [
        PoolEntry(
            expert_id=i + 1,
            specialities=("市政", "道路") if i % 2 else ("市政",),
            organisation_credit_code=orgs[i % 12],
        )
        for i in range(n)
    ]


def _seed(i: int) -> bytes:
    return hashlib.sha256(f"seed-{i}".encode()).digest()


BEACON = hashlib.sha256(b"deadline checkpoint root").digest()


def _independent_order(seed: bytes, beacon: bytes, ids: list[int]) -> list[int]:
    """The recomputation as the published description states it, written without the module's code."""

    def key(expert_id: int) -> tuple[bytes, int]:
        message = b"trading-expert-draw/v1\x00" + beacon + expert_id.to_bytes(8, "big")
        return hmac.new(seed, message, hashlib.sha256).digest(), expert_id

    return sorted(ids, key=key)


def test_the_same_seed_and_beacon_always_give_the_same_draw_and_anyone_can_recompute_it():
    pool = _pool()
    kwargs = dict(count=5, tenderer_credit_code=TENDERER_CODE, bidder_credit_codes=BIDDERS)
    first = draw(_seed(1), BEACON, pool, **kwargs)
    assert first == draw(_seed(1), BEACON, list(reversed(pool)), **kwargs)  # pool order does not matter
    assert list(first.order) == _independent_order(_seed(1), BEACON, [e.expert_id for e in pool])
    assert first.drawn == tuple([i for i in first.order if i not in first.passed_over][:5])
    assert draw(_seed(2), BEACON, pool, **kwargs).order != first.order
    assert draw(_seed(1), hashlib.sha256(b"another root").digest(), pool, **kwargs).order != first.order


def test_the_tenderers_and_bidders_people_and_declared_conflicts_are_passed_over_with_the_reason():
    pool = _pool()
    by_org = {e.expert_id: e.organisation_credit_code for e in pool}
    result = draw(
        _seed(3), BEACON, pool, count=5, tenderer_credit_code=TENDERER_CODE, bidder_credit_codes=BIDDERS, conflicts=[4]
    )
    for expert_id in result.drawn:
        assert by_org[expert_id] not in (TENDERER_CODE, *BIDDERS) and expert_id != 4
    last = result.order.index(result.drawn[-1])
    for expert_id in result.order[: last + 1]:
        if expert_id in result.drawn:
            continue
        reason = result.passed_over[expert_id]
        expected = (
            TENDERER if by_org[expert_id] == TENDERER_CODE else BIDDER if by_org[expert_id] in BIDDERS else CONFLICT
        )
        assert reason == expected
    assert len(result.drawn) == 5 and result.short == 0


def test_a_drawn_expert_declaring_a_conflict_is_replaced_by_the_next_in_the_same_order():
    pool = _pool()
    kwargs = dict(count=5, tenderer_credit_code=TENDERER_CODE, bidder_credit_codes=BIDDERS)
    before = draw(_seed(4), BEACON, pool, **kwargs)
    withdrawn = before.drawn[1]
    after = draw(_seed(4), BEACON, pool, conflicts=[withdrawn], **kwargs)
    assert after.order == before.order
    assert after.drawn[:4] == tuple(i for i in before.drawn if i != withdrawn)
    assert after.passed_over[withdrawn] == CONFLICT
    assert after.drawn[4] not in before.drawn


def test_a_pool_too_small_says_how_many_are_missing():
    result = draw(_seed(5), BEACON, _pool(6), count=5, tenderer_credit_code=TENDERER_CODE, bidder_credit_codes=BIDDERS)
    assert len(result.drawn) == 3 and result.short == 2


def test_every_expert_is_equally_likely_to_be_drawn_first():
    pool = [PoolEntry(expert_id=i, specialities=("市政",)) for i in range(1, 11)]
    firsts = Counter(order(_seed(i), BEACON, pool)[0] for i in range(4000))
    assert set(firsts) == set(range(1, 11))
    assert all(320 <= n <= 480 for n in firsts.values()), firsts  # 400 each expected; ±20% is > 6 sigma


def test_the_commitment_and_the_pool_hash():
    assert commitment(_seed(1)) == hashlib.sha256(_seed(1)).hexdigest()
    with pytest.raises(ValueError):
        commitment(b"short")
    pool = _pool()
    assert pool_hash(pool) == pool_hash(list(reversed(pool)))
    changed = [*pool[:-1], PoolEntry(expert_id=pool[-1].expert_id, specialities=("水利",))]
    assert pool_hash(changed) != pool_hash(pool)
    assert [e.expert_id for e in pool_for(pool, ["道路"])] == [e.expert_id for e in pool if "道路" in e.specialities]


@given(
    seed=st.binary(min_size=32, max_size=32),
    size=st.integers(min_value=1, max_value=40),
    count=st.integers(min_value=1, max_value=15),
    conflicts=st.sets(st.integers(min_value=1, max_value=40), max_size=10),
)
def test_properties(seed, size, count, conflicts):
    pool = _pool(size)
    result = draw(
        seed,
        BEACON,
        pool,
        count=count,
        tenderer_credit_code=TENDERER_CODE,
        bidder_credit_codes=BIDDERS,
        conflicts=conflicts,
    )
    assert sorted(result.order) == sorted(e.expert_id for e in pool)  # a permutation of the pool
    assert len(set(result.drawn)) == len(result.drawn) == count - result.short
    assert not set(result.drawn) & set(result.passed_over)
    positions = [result.order.index(i) for i in result.drawn]
    assert positions == sorted(positions)  # drawn in rank order
