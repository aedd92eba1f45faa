"""The platform's trade code (交易编号): round trips, ordering, and a reason for every refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.errors import InvalidInput
from trading.projects.trade_code import (
    KIND_LETTERS,
    KIND_NAMES_ZH,
    MAX_SERIAL,
    TRADE_KINDS,
    TradeCode,
    make_trade_code,
    parse_trade_code,
    validate_trade_code,
)
from trading.regions import REGIONS

region_codes = st.sampled_from(sorted(REGIONS))
years = st.integers(min_value=2000, max_value=2099)
kinds = st.sampled_from(TRADE_KINDS)
serials = st.integers(min_value=1, max_value=MAX_SERIAL)


def refusal(code: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_trade_code(code)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_trade_code"
    assert caught.value.message_zh and caught.value.message_en
    return caught.value


def test_layout() -> None:
    assert make_trade_code("430723", 2025, "works", 42) == "4307232025A0000042"
    assert make_trade_code("430100", 2026, "procurement", 9_999_999) == "4301002026D9999999"
    assert make_trade_code("430000", 2000, "land", 1) == "4300002000B0000001"
    assert make_trade_code("433100", 2099, "property", 1234567) == "4331002099C1234567"


def test_kinds_are_exactly_the_four_trades() -> None:
    assert set(TRADE_KINDS) == {"works", "procurement", "land", "property"}
    assert set(KIND_LETTERS) == set(KIND_NAMES_ZH) == set(TRADE_KINDS)
    assert sorted(KIND_LETTERS.values()) == ["A", "B", "C", "D"]


def test_parse_gives_the_parts() -> None:
    parsed = parse_trade_code("4307232025A0000042")
    assert parsed == TradeCode(region_code="430723", year=2025, trade_kind="works", serial=42)
    assert str(parsed) == "4307232025A0000042"


def test_input_is_normalised() -> None:
    assert validate_trade_code(" 430723 2025 a 0000042 ") == "4307232025A0000042"
    assert validate_trade_code("４３０７２３２０２５Ａ０００００４２") == "4307232025A0000042"


@given(region_codes, years, kinds, serials)
def test_round_trip(region_code: str, year: int, kind: str, serial: int) -> None:
    code = make_trade_code(region_code, year, kind, serial)
    assert len(code) == 18
    assert parse_trade_code(code) == TradeCode(region_code=region_code, year=year, trade_kind=kind, serial=serial)
    assert validate_trade_code(code) == code
    assert validate_trade_code(code.lower()) == code


@given(region_codes, years, kinds, serials, serials)
def test_codes_sort_by_serial_within_region_year_and_kind(
    region_code: str, year: int, kind: str, first: int, second: int
) -> None:
    a = make_trade_code(region_code, year, kind, first)
    b = make_trade_code(region_code, year, kind, second)
    assert (a < b) == (first < second)


@given(st.text(max_size=24))
def test_arbitrary_text_is_either_a_code_or_refused_politely(text: str) -> None:
    try:
        canonical = validate_trade_code(text)
    except InvalidInput as error:
        assert error.code == "invalid_trade_code"
    else:
        assert validate_trade_code(canonical) == canonical


@pytest.mark.parametrize(
    ("code", "detail"),
    [
        ("4307232025A000042", {"length": 17}),
        ("4307232025A00000420", {"length": 19}),
        ("", {"length": 0}),
        ("9999992025A0000042", {"region_code": "999999"}),
        ("4301242025A0000042", {"region_code": "430124"}),
        ("43O7232025A0000042", {"region_code": "43O723"}),
        ("4307231999A0000042", {"year": "1999"}),
        ("43072320X5A0000042", {"year": "20X5"}),
        ("4307232025E0000042", {"letter": "E"}),
        ("430723202510000042", {"letter": "1"}),
        ("4307232025A0000000", {"serial": "0000000"}),
        ("4307232025A00000-2", {"serial": "00000-2"}),
    ],
)
def test_malformed_codes_are_refused_with_the_faulty_part(code: str, detail: dict[str, object]) -> None:
    assert refusal(code).details == detail


def test_a_bad_kind_letter_lists_the_allowed_ones() -> None:
    error = refusal("4307232025E0000042")
    for letter in "ABCD":
        assert letter in error.message_zh and letter in error.message_en


def test_non_strings_are_refused() -> None:
    refusal(None)
    refusal(4307232025)


def test_make_refuses_an_unknown_region() -> None:
    with pytest.raises(InvalidInput) as caught:
        make_trade_code("110101", 2025, "works", 1)
    assert caught.value.code == "unknown_region"


@pytest.mark.parametrize(
    ("year", "kind", "serial", "fragment"),
    [
        (1999, "works", 1, "year"),
        (2100, "works", 1, "year"),
        (True, "works", 1, "year"),
        (2025, "tender", 1, "trade kind"),
        (2025, "A", 1, "trade kind"),
        (2025, "works", 0, "serial"),
        (2025, "works", MAX_SERIAL + 1, "serial"),
        (2025, "works", True, "serial"),
    ],
)
def test_make_refuses_bad_parts(year: int, kind: str, serial: int, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_trade_code("430723", year, kind, serial)
    assert caught.value.code == "invalid_trade_code"
    assert fragment in caught.value.message_en
