"""The canonical encoding: a document with an already-encoded member is the same bytes as the document encoded
whole, so a record of megabytes can be encoded once and placed in each document that holds it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.canonical import Encoded, canonical_bytes

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), JSON, min_size=1, max_size=6), st.data())
def test_an_encoded_member_gives_the_bytes_of_the_whole(document, data):
    placed = data.draw(st.sets(st.sampled_from(sorted(document)), min_size=1))
    spliced = {key: Encoded.of(value) if key in placed else value for key, value in document.items()}
    assert canonical_bytes(spliced) == canonical_bytes(document)


def test_the_opening_record_s_shape_with_chinese_text():
    fields = {"bids": [{"bidder": "湖南建工第1工程有限公司", "form": {"total_price_fen": 4_000_000_097}}], "k": 2}
    document = {"notice_id": 7, "version": 1, "fields": fields, "title": "开标记录\n", "published_at": None}
    assert canonical_bytes({**document, "fields": Encoded.of(fields)}) == canonical_bytes(document)


def test_an_encoded_value_is_placed_only_as_a_member_of_an_object():
    with pytest.raises(TypeError):
        canonical_bytes({"fields": [Encoded.of({"a": 1})]})
    with pytest.raises(TypeError):
        canonical_bytes({1: Encoded.of({"a": 1})})


def _json(value):
    """The reference: what canonical_bytes wrote before it took msgspec's quicker encoding where it gives the same."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


_ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)  # every character but lone surrogates
_ANY = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too
    | st.floats()  # NaN and infinities too: json refuses them
    | _ANY_TEXT
    | st.sampled_from(['\b\f\n\r\t\x00\x1f\x7f\u2028\u2029"\\/', "开标记录（第1号）", "e+16", "1e16"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(_ANY_TEXT, children, max_size=4)
        | st.dictionaries(st.integers(), children, min_size=1, max_size=2)
    ),
    max_leaves=25,
)


def _outcome(encode, value):
    try:
        return encode(value)
    except (TypeError, ValueError) as exc:  # json's refusals: NaN, a key it cannot sort, …
        return type(exc)


@given(_ANY)
def test_the_quick_encoding_is_json_s_to_the_byte_or_not_used(value):
    assert _outcome(canonical_bytes, value) == _outcome(_json, value)


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1e16, "b": 1e-7, "c": 0.5},  # msgspec writes 1e16 and 1e-7
        [float("nan")],  # msgspec writes null
        {"a": float("inf")},
        {"key": b"bytes"},  # msgspec writes base64
        {"at": datetime(2026, 3, 2, tzinfo=UTC)},  # msgspec writes the ISO form
        {"set": {1, 2}},
        {2: "b", 10: "a"},  # json writes the keys as strings, sorted as numbers
        {"tuple": (1, "两")},
        {"nested": [{"z": 1, "a": [True, None, -(2**80)]}]},
    ],
)
def test_what_msgspec_would_write_otherwise_is_json_s_answer(value):
    assert _outcome(canonical_bytes, value) == _outcome(_json, value)
