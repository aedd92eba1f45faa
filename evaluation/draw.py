"""The expert draw (专家抽取) as pure, checkable code.

Evaluators are drawn at random from the expert pool (条例 §46, 87号令 §47–48), and anyone must be able to
check afterwards that the draw was not steered. The construction:

1. Before the bid deadline the platform commits to the draw: a random 32-byte seed, kept secret, and the
   pool it will draw from (the experts with the wanted specialities, each with their organisation). The
   log records ``SHA-256(seed)`` and the pool's hash, so neither can change later.
2. After the deadline the draw takes a value nobody could know at commitment time: the root hash of the
   transparency log's deadline checkpoint (the *beacon*).
3. Every expert in the pool gets a rank, ``HMAC-SHA256(seed, LABEL ‖ beacon ‖ expert id)``; the pool is
   sorted by rank (then id). Experts from the tenderer or any bidder's organisation, and any who declared a
   conflict, are passed over with the reason; the first ``count`` of the rest are drawn. A drawn expert who
   declares a conflict later is replaced by the next one in the same order.
4. With the result, the seed is published: anyone recomputes the order from the seed, the beacon and the
   pool, and checks the commitment.

Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from trading.canonical import canonical_bytes

LABEL = b"trading-expert-draw/v1\x00"

#: Why an expert was passed over.
TENDERER = "tenderer"  # works for the tenderer (条例 §46: 与投标人有利害关系 / 招标人代表 rules)
BIDDER = "bidder"  # works for a bidder
CONFLICT = "conflict"  # declared a conflict of interest (回避)


@dataclass(frozen=True)
class PoolEntry:
    """One expert as the draw sees them: an id, specialities, and the credit code of their organisation."""

    expert_id: int
    specialities: tuple[str, ...]
    organisation_credit_code: str = ""

    def document(self) -> dict[str, object]:
        return {
            "expert_id": self.expert_id,
            "specialities": sorted(self.specialities),
            "organisation_credit_code": self.organisation_credit_code,
        }


@dataclass(frozen=True)
class DrawResult:
    #: Every pool entry, by rank.
    order: tuple[int, ...]
    #: The first ``count`` not passed over, in rank order.
    drawn: tuple[int, ...]
    #: Expert id → why they were passed over (those ranked before the last one drawn).
    passed_over: Mapping[int, str] = field(default_factory=dict)
    #: How many more were wanted than the pool could give.
    short: int = 0


def commitment(seed: bytes) -> str:
    if len(seed) != 32:
        raise ValueError("the seed is 32 bytes")
    return hashlib.sha256(seed).hexdigest()


def pool_for(entries: Iterable[PoolEntry], specialities: Iterable[str]) -> list[PoolEntry]:
    """The experts with any of the wanted specialities, by id."""
    wanted = set(specialities)
    return sorted((e for e in entries if wanted & set(e.specialities)), key=lambda e: e.expert_id)


def pool_hash(pool: Iterable[PoolEntry]) -> str:
    """SHA-256 of the pool's canonical JSON (sorted by id): logged with the commitment."""
    return hashlib.sha256(canonical_bytes([e.document() for e in sorted(pool, key=lambda e: e.expert_id)])).hexdigest()


def rank(seed: bytes, beacon: bytes, expert_id: int) -> bytes:
    return hmac.new(seed, LABEL + beacon + expert_id.to_bytes(8, "big"), hashlib.sha256).digest()


def order(seed: bytes, beacon: bytes, pool: Iterable[PoolEntry]) -> tuple[int, ...]:
    return tuple(e.expert_id for e in sorted(pool, key=lambda e: (rank(seed, beacon, e.expert_id), e.expert_id)))


def draw(
    seed: bytes,
    beacon: bytes,
    pool: Iterable[PoolEntry],
    *,
    count: int,
    tenderer_credit_code: str,
    bidder_credit_codes: Iterable[str],
    conflicts: Iterable[int] = (),
) -> DrawResult:
    """Draw ``count`` experts; the same inputs always give the same result."""
    if count < 1:
        raise ValueError("count must be at least 1")
    entries = {e.expert_id: e for e in pool}
    bidders = set(bidder_credit_codes)
    declared = set(conflicts)
    ranked = order(seed, beacon, entries.values())
    drawn: list[int] = []
    passed: dict[int, str] = {}
    for expert_id in ranked:
        if len(drawn) == count:
            break
        org = entries[expert_id].organisation_credit_code
        if org and org == tenderer_credit_code:
            passed[expert_id] = TENDERER
        elif org and org in bidders:
            passed[expert_id] = BIDDER
        elif expert_id in declared:
            passed[expert_id] = CONFLICT
        else:
            drawn.append(expert_id)
    return DrawResult(order=ranked, drawn=tuple(drawn), passed_over=passed, short=count - len(drawn))
