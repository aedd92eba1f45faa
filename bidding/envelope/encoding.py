"""The two byte encodings of the v1 format: length-prefixed fields for hash inputs, canonical JSON for documents.

Hash inputs, AEAD associated data and HPKE info strings are concatenations of *items*; an item is either a byte
string written as its 4-byte big-endian length and then its bytes (:func:`lp`), or an integer written as 8 bytes
big-endian (:func:`u64`). Because every item's extent is fixed by its kind or by its prefix, no two different
sequences of items give the same bytes.

Documents (the manifest, the opening form, ``shares.json``) are canonical JSON: UTF-8, object keys sorted, no
insignificant whitespace, only strings, integers in the JSON-safe range, booleans, null, lists and objects with
string keys (the RFC 8785 shape for those values). Floats are refused: money is integer fen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

import msgspec

from .errors import Malformed

#: The largest integer every JSON implementation represents exactly (2^53 − 1).
MAX_JSON_INT = 2**53 - 1


def lp(data: bytes) -> bytes:
    """A byte-string item: 4-byte big-endian length, then the bytes."""
    if len(data) > 0xFFFFFFFF:
        raise ValueError("item too long")
    return len(data).to_bytes(4, "big") + data


def lp_str(text: str) -> bytes:
    """A text item: its UTF-8 bytes as a byte-string item."""
    return lp(text.encode("utf-8"))


def u64(value: int) -> bytes:
    """An integer item: 8 bytes, big-endian, unsigned."""
    return value.to_bytes(8, "big")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_json_value(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if not -MAX_JSON_INT <= value <= MAX_JSON_INT:
            raise ValueError(f"{path}: integer outside the JSON-safe range")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json_value(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: object keys must be strings")
            _check_json_value(item, f"{path}.{key}")
        return
    raise ValueError(f"{path}: {type(value).__name__} has no canonical JSON form (floats are not allowed)")


def canonical_json(value: Any) -> bytes:
    """The canonical JSON bytes of ``value`` (raises ``ValueError`` for a value outside the allowed shape)."""
    _check_json_value(value, "$")
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _reject_float(text: str) -> Any:
    raise ValueError(f"a number with a fraction or exponent ({text}) is not allowed")


def _reject_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_canonical_json(data: bytes, what: str) -> Any:
    """Parse ``data`` and insist it is already canonical: the same value re-encoded gives the same bytes.

    One value has one encoding, so a document's hash names the document, not one of its spellings.
    """
    value = _canonical_value(data)
    if value is not _NOT_CANONICAL:
        return value
    return _parse_strict(data, what)


def _parse_strict(data: bytes, what: str) -> Any:
    """:func:`parse_canonical_json` step by step, with the reason a document is refused."""
    try:
        text = data.decode("utf-8")
        value = json.loads(
            text, parse_float=_reject_float, parse_constant=_reject_constant, object_pairs_hook=_unique_object
        )
        if canonical_json(value) != data:
            raise ValueError("not in canonical form (sorted keys, no spaces, UTF-8)")
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Malformed(
            f"{what} 不是规范的 JSON：{exc}", f"{what} is not canonical JSON: {exc}", details={"document": what}
        ) from None
    return value


_NOT_CANONICAL = object()


def _canonical_value(data: bytes) -> Any:
    """The value of *data* when it is canonical, found without the strict parser (:func:`_parse_strict`):
    decoded by msgspec, then encoded canonically again. If that gives *data* back, *data* is :func:`canonical_json`
    of the value — so the strict parser would find no float, constant or duplicate key in it and return the same
    value. Anything else (not decodable, a float, not canonical) is :data:`_NOT_CANONICAL`, for the strict parser
    to refuse with its own reason. (An opening parses ten thousand opening forms; the strict parser's per-object
    hook was most of the time.) The value is encoded again by msgspec with sorted keys, which spells every value
    of the allowed shape as :func:`canonical_json` does — every code point, every key order, every integer in
    range (tests/envelope/test_encoding.py) — in a tenth of its time: each bid's manifest passes through here."""
    try:
        value = msgspec.json.decode(data)
        _check_json_value(value, "$")
        if msgspec.json.encode(value, order="sorted") == data:
            return value
    except (msgspec.DecodeError, ValueError, RecursionError):
        pass
    return _NOT_CANONICAL


def b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4) with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str) -> bytes:
    """Strict standard base64 with padding; anything else is :class:`Malformed`."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise Malformed(f"{what} 不是有效的 base64", f"{what} is not valid base64", details={"field": what}) from None
    if base64.b64encode(data).decode("ascii") != text:
        raise Malformed(f"{what} 的 base64 不规范", f"{what} is not canonical base64", details={"field": what})
    return data


def hex_decode(text: str, length: int, what: str) -> bytes:
    """Lower-case hex of exactly ``length`` bytes."""
    if len(text) != 2 * length or text != text.lower():
        raise Malformed(
            f"{what} 应为 {length} 字节的小写十六进制",
            f"{what} must be {length} bytes of lower-case hex",
            details={"field": what},
        )
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise Malformed(f"{what} 不是十六进制", f"{what} is not hex", details={"field": what}) from None
