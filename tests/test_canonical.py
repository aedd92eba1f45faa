"""The canonical encoding: a document with an already-encoded member is the same bytes as the document encoded
whole, so a record of megabytes can be encoded once and placed in each document that holds it."""

from __future__ import annotations

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
