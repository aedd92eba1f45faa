"""Canonical JSON: the quick way to a canonical document's value agrees with the strict parser on every input —
the same value for a canonical document, the strict parser's refusal for anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidding.envelope.encoding import MAX_JSON_INT, _parse_strict, canonical_json, parse_canonical_json
from bidding.envelope.errors import Malformed

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_JSON_INT, MAX_JSON_INT)
    | st.integers(MAX_JSON_INT + 1, 2**70)  # outside the JSON-safe range: never canonical
    | st.floats(allow_nan=True)  # never canonical
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _outcome(parse, data: bytes):
    try:
        return ("value", parse(data, "doc"))
    except Malformed as exc:
        return ("refused", exc.message_en)


def _spellings(value) -> list[bytes]:
    """The canonical spelling if there is one, and others of the same value that are not canonical."""
    out = []
    for kwargs in (
        {"ensure_ascii": False, "sort_keys": True, "separators": (",", ":")},
        {"ensure_ascii": True, "sort_keys": True, "separators": (",", ":")},
        {"ensure_ascii": False, "sort_keys": False, "separators": (", ", ": ")},
    ):
        try:
            out.append(json.dumps(value, **kwargs).encode("utf-8", "surrogatepass"))
        except (ValueError, TypeError):
            pass
    return out


@given(values)
def test_the_quick_path_and_the_strict_parser_agree_on_every_spelling(value):
    for data in _spellings(value):
        assert _outcome(parse_canonical_json, data) == _outcome(_parse_strict, data)


@given(st.binary(max_size=40) | st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_the_quick_path_and_the_strict_parser_agree_on_any_bytes(data):
    assert _outcome(parse_canonical_json, data) == _outcome(_parse_strict, data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1,"a":1}',  # duplicate key
        b'{"a":1.0}',  # a float
        b'{"a":NaN}',
        b'{"b":1,"a":2}',  # unsorted
        b'{"a": 1}',  # a space
        b'{"a":"\\u00e9"}',  # escaped where canonical JSON writes the character
        b'{"a":1}\n',
        b'{"a":9007199254740992}',  # 2^53
        b'"\\ud800"',  # a lone surrogate
    ],
)
def test_non_canonical_documents_are_refused_with_the_strict_parsers_reason(data):
    assert _outcome(parse_canonical_json, data) == _outcome(_parse_strict, data)
    with pytest.raises(Malformed):
        parse_canonical_json(data, "doc")


def test_a_canonical_document_gives_its_value():
    value = {"quality": "合格", "total_price_fen": 4_000_000_000, "items": [1, "二", None, True, {"x": []}]}
    assert parse_canonical_json(canonical_json(value), "doc") == value


def test_the_quick_path_spells_every_code_point_and_key_order_as_canonical_json_does():
    """The quick path re-encodes with msgspec (sorted keys) where canonical_json uses json.dumps: the two give the
    same bytes for every string (each code point but the lone surrogates, which neither can encode), every order
    of keys and every integer in the JSON-safe range, so a document is canonical by one exactly when by the other."""
    import random

    import msgspec

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert msgspec.json.encode(every) == canonical_json(every)
    assert msgspec.json.encode([every[i : i + 7] for i in range(0, 5000, 7)]) == canonical_json(
        [every[i : i + 7] for i in range(0, 5000, 7)]
    )
    rnd = random.Random(20261206)
    alphabet = [chr(c) for c in [*range(0x20, 0x80), 0x80, 0xE9, 0x4E2D, 0xFFFF, 0x1F600, 0x10FFFF]]
    for _ in range(5000):
        keys = ("".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 4))) for _ in range(rnd.randint(1, 6)))
        value = {k: rnd.choice([None, True, 0, -MAX_JSON_INT, MAX_JSON_INT, "文", [1, {"b": 2, "a": 1}]]) for k in keys}
        assert msgspec.json.encode(value, order="sorted") == canonical_json(value), value
