"""Tests of the sealed-bid envelope format (bidding.envelope), and the helpers they share."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bidding.envelope import BidContext, OpenerPrivateKey, encode_public_key, generate_opener_key

PRICE_FORM = {"total_price_fen": 1_286_450_000, "duration_days": 365, "quality": "合格", "project_manager": "张建国"}


@dataclass
class Committee:
    suite: str
    k: int
    keys: list[OpenerPrivateKey]

    @property
    def n(self) -> int:
        return len(self.keys)

    @property
    def public_keys(self) -> tuple[bytes, ...]:
        return tuple(encode_public_key(self.suite, key.public_key()) for key in self.keys)


def make_committee(suite: str, k: int = 2, n: int = 3) -> Committee:
    return Committee(suite, k, [generate_opener_key(suite) for _ in range(n)])


def make_context(committee: Committee, **changes: object) -> BidContext:
    fields: dict[str, object] = {
        "section_id": 4301,
        "trade_code": "A4301002026000123",
        "section_code": "A4301002026000123001",
        "bidder_credit_code": "91430100MA4L2X3Y5K",
        "suite": committee.suite,
        "k": committee.k,
        "n": committee.n,
        "opener_keys": committee.public_keys,
    }
    fields.update(changes)
    return BidContext(**fields)  # type: ignore[arg-type]


def new_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()
