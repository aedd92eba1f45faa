"""The one canonical encoding for hashed and signed documents: UTF-8 JSON, keys sorted, no spaces.

It is the RFC 8785 (JCS) shape for the values the platform stores — strings, integers, booleans, null,
lists and objects. Money is integer fen, so floats are rare (areas, ratios) and Python writes them in
their shortest round-trip form. A document is hashed as these exact bytes and stored as them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import msgspec


@dataclass(frozen=True, slots=True)
class Encoded:
    """A value already in canonical form. As a member of an object given to :func:`canonical_bytes` its bytes are
    placed as they are: an opening record of megabytes is encoded once, then placed in each document that holds it
    (the draft's, the published version's)."""

    data: bytes

    @classmethod
    def of(cls, value: Any) -> Encoded:
        return cls(canonical_bytes(value))


def canonical_bytes(value: Any) -> bytes:
    if isinstance(value, dict) and any(isinstance(member, Encoded) for member in value.values()):
        return _object(value)
    quick = _quick(value)
    if quick is not None:
        return quick
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


class _Float(Exception):
    pass


def _no_float(_literal: str) -> Any:
    raise _Float


_SORTED = msgspec.json.Encoder(order="sorted")
_FLOATLESS = msgspec.json.Decoder(float_hook=_no_float)


def _quick(value: Any) -> bytes | None:
    """The encoding by msgspec (several times faster than json's: an opening record is ten megabytes), when it is
    json's to the byte; else None. The two write strings, integers, true, false and null alike and sort keys the
    same way (``tests/test_canonical.py`` holds them to it), and differ in what msgspec does where json refuses or
    spells otherwise: floats (1e16, not 1e+16), NaN and infinities (null, not an error), bytes (base64), dates,
    tuples and sets (lists), keys that are not strings. Decoded back — refusing any float — a value made only of
    what the two share comes back equal to itself; anything else is left to json."""
    try:
        data = _SORTED.encode(value)
        if _FLOATLESS.decode(data) == value:
            return data
    except (TypeError, ValueError, _Float, msgspec.EncodeError):  # (msgspec.DecodeError is a ValueError)
        pass
    return None


def _object(value: dict[str, Any]) -> bytes:
    """What the encoder above writes for an object — its members in key order, ``"key":value`` joined by commas —
    with each :class:`Encoded` member's bytes as they are."""
    if not all(isinstance(key, str) for key in value):
        raise TypeError("an object with encoded members has string keys only")
    return (
        b"{"
        + b",".join(
            canonical_bytes(key) + b":" + (member.data if isinstance(member, Encoded) else canonical_bytes(member))
            for key, member in sorted(value.items())
        )
        + b"}"
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document_hash(value: Any) -> str:
    return sha256_hex(canonical_bytes(value))
