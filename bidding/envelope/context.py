"""The bid context (标段与投标人): what every envelope is bound to, and its canonical bytes.

The context names the section, the bidder, the role of the sealer, the suite and the opening committee. Its bytes
go into every AEAD associated data, every HPKE info string and every commitment, so a chunk, a share or a key
taken from one bid is useless in another section, for another bidder or in the other envelope.

The committee enters the bytes as the SHA-256 of each opener's public key — the same hashes the manifest carries
— so anyone holding a manifest can rebuild the context bytes without the keys (:func:`context_bytes_from_fields`).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence

import msgspec

from .encoding import lp, lp_str, u64
from .errors import InvalidContext
from .suites import decode_public_key, suite_info

FORMAT = "trading-bid/v1"

#: Domain-separation labels (ASCII). Each is the first item of the bytes it starts.
LABEL_CONTEXT = b"trading-bid/v1 context"
LABEL_CHUNK = b"trading-bid/v1 chunk"
LABEL_KEY_COMMITMENT = b"trading-bid/v1 key-commitment"
LABEL_SHARE_COMMITMENT = b"trading-bid/v1 share-commitment"
LABEL_SHARE = b"trading-bid/v1 share"

#: A bidder's bid (投标文件).
ROLE_BIDDER = "bidder"
#: A reserve or control price (底价/最高限价) sealed by trading-centre staff before the deadline.
ROLE_RESERVE = "reserve"
ROLES = (ROLE_BIDDER, ROLE_RESERVE)

ENVELOPE_PRICE = "price"
ENVELOPE_DOCUMENTS = "documents"
ENVELOPES = (ENVELOPE_PRICE, ENVELOPE_DOCUMENTS)

MAX_OPENERS = 64
MAX_TEXT_FIELD = 128
_MAX_SECTION_ID = 2**53 - 1
TEXT_FIELD = re.compile(r"[^\x00-\x1f\x7f]+")


class BidContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a bid is sealed for: the section (标段), the bidder (统一社会信用代码) and the opening committee.

    ``opener_keys[i]`` is the raw public key of opener i+1 (:func:`~bidding.envelope.suites.encode_public_key`).
    ``role`` is ``"bidder"`` for a bid and ``"reserve"`` for a reserve/control price sealed by the trading centre,
    whose tenderer's credit code then stands in ``bidder_credit_code`` (docs/envelope.md §11).
    """

    section_id: int
    trade_code: str
    section_code: str
    bidder_credit_code: str
    suite: str
    k: int
    n: int
    opener_keys: tuple[bytes, ...]
    role: str = ROLE_BIDDER

    def validate(self) -> BidContext:
        """Raise :class:`InvalidContext` unless every field is usable; return self."""
        suite_info(self.suite)
        problems = []
        if not (isinstance(self.section_id, int) and 0 <= self.section_id <= _MAX_SECTION_ID):
            problems.append("section_id")
        for name in ("trade_code", "section_code", "bidder_credit_code"):
            value = getattr(self, name)
            if not (isinstance(value, str) and len(value) <= MAX_TEXT_FIELD and TEXT_FIELD.fullmatch(value)):
                problems.append(name)
        if self.role not in ROLES:
            problems.append("role")
        if not (1 <= self.k <= self.n <= MAX_OPENERS) or len(self.opener_keys) != self.n:
            problems.append("k/n/opener_keys")
        if problems:
            raise InvalidContext(details={"fields": problems})
        for index, key in enumerate(self.opener_keys, start=1):
            try:
                decode_public_key(self.suite, key)
            except Exception:
                raise InvalidContext(
                    f"开标人 {index} 的公钥无效", f"Opener {index}'s public key is not valid", details={"opener": index}
                ) from None
        if len(set(self.opener_keys)) != self.n:
            raise InvalidContext("开标人公钥有重复", "Two openers have the same public key")
        return self

    def opener_key_hashes(self) -> tuple[bytes, ...]:
        return _key_hashes(self.opener_keys)

    def to_bytes(self) -> bytes:
        """The canonical context bytes (docs/envelope.md, "Context")."""
        return context_bytes_from_fields(
            role=self.role,
            suite=self.suite,
            section_id=self.section_id,
            trade_code=self.trade_code,
            section_code=self.section_code,
            bidder_credit_code=self.bidder_credit_code,
            k=self.k,
            n=self.n,
            opener_key_hashes=self.opener_key_hashes(),
        )


def context_bytes_from_fields(
    *,
    role: str,
    suite: str,
    section_id: int,
    trade_code: str,
    section_code: str,
    bidder_credit_code: str,
    k: int,
    n: int,
    opener_key_hashes: Sequence[bytes],
) -> bytes:
    return _context_bytes(
        role, suite, section_id, trade_code, section_code, bidder_credit_code, k, n, tuple(opener_key_hashes)
    )


# An opening works through thousands of bids of one section: each bid's context bytes are asked for several times
# (the AEAD's associated data, each commitment), and every bid's hold the same committee's key hashes. Both are
# pure functions of their arguments, so they are remembered for the bids being worked on.
@functools.lru_cache(maxsize=64)
def _key_hashes(keys: tuple[bytes, ...]) -> tuple[bytes, ...]:
    return tuple(hashlib.sha256(key).digest() for key in keys)


@functools.lru_cache(maxsize=1024)
def _context_bytes(
    role: str,
    suite: str,
    section_id: int,
    trade_code: str,
    section_code: str,
    bidder_credit_code: str,
    k: int,
    n: int,
    opener_key_hashes: tuple[bytes, ...],
) -> bytes:
    parts = [
        lp(LABEL_CONTEXT),
        lp_str(role),
        lp_str(suite),
        u64(section_id),
        lp_str(trade_code),
        lp_str(section_code),
        lp_str(bidder_credit_code),
        u64(k),
        u64(n),
    ]
    parts.extend(lp(digest) for digest in opener_key_hashes)
    return b"".join(parts)


def check_envelope_name(envelope: str) -> str:
    if envelope not in ENVELOPES:
        raise ValueError(f"unknown envelope {envelope!r}; expected one of {ENVELOPES}")
    return envelope


def chunk_associated_data(context_bytes: bytes, envelope: str, chunk_size: int) -> bytes:
    """The AEAD associated data of every chunk of one envelope."""
    return _prefix(LABEL_CHUNK, context_bytes, envelope) + u64(chunk_size)


def key_commitment(context_bytes: bytes, envelope: str, data_key: bytes) -> bytes:
    """SHA-256 commitment to an envelope's data key (AES-GCM does not commit to its key)."""
    return hashlib.sha256(_prefix(LABEL_KEY_COMMITMENT, context_bytes, envelope) + lp(data_key)).digest()


def share_commitment(context_bytes: bytes, envelope: str, index: int, share: bytes) -> bytes:
    """SHA-256 commitment to opener ``index``'s share (shares are random, so the hash reveals nothing)."""
    return hashlib.sha256(_prefix(LABEL_SHARE_COMMITMENT, context_bytes, envelope) + u64(index) + lp(share)).digest()


def share_info(context_bytes: bytes, envelope: str, index: int) -> bytes:
    """The HPKE ``info`` with which share ``index`` is sealed to opener ``index``."""
    return _prefix(LABEL_SHARE, context_bytes, envelope) + u64(index)


@functools.lru_cache(maxsize=4096)
def _prefix(label: bytes, context_bytes: bytes, envelope: str) -> bytes:
    """``lp(label) ‖ lp(context) ‖ lp(envelope)``, the start of every commitment, info and associated data (the
    same few for all of one bid's shares: remembered while its bids are worked on)."""
    return lp(label) + lp(context_bytes) + lp_str(check_envelope_name(envelope))
