"""The unified social credit code (统一社会信用代码): real codes pass, every one-character slip fails."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.accounts.credit_code import (
    ALPHABET,
    check_character,
    is_valid_credit_code,
    make_credit_code,
    organisation_check_character,
    validate_credit_code,
)
from trading.errors import InvalidInput

# Codes published on business licences, invoices and registers. The well-known companies are named; the
# Hunan ones appear on published invoices and contracts.
REAL_CODES = [
    ("914403001922038216", "华为技术有限公司"),
    ("91440300708461136T", "深圳市腾讯计算机系统有限公司"),
    ("91330100716105852F", "阿里巴巴（中国）有限公司"),
    ("91110000600037341L", "python-stdnum's published example"),
    ("914301007700936299", "长沙市国有资产置业有限公司"),
    ("91430100712159116H", "长沙申大科技集团股份有限公司"),
    ("91430100MA4Q5W141P", "湖南云金数科网络科技有限公司"),
    ("91430102MA4PX7RC64", "湖南客偲家装饰工程有限公司"),
    ("91430100578607044B", "a Changsha supplier on a published invoice"),
    ("91430104MA4T8FT50U", "a Changsha (岳麓区) seller on a published invoice"),
    ("12440600MB2C07549J", "a Foshan public institution (事业单位)"),
]

codes = st.builds(
    make_credit_code,
    st.sampled_from(ALPHABET),
    st.sampled_from(ALPHABET),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=8, max_size=8),
)


def refusal(code: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate_credit_code(code)
    assert caught.value.code == "invalid_credit_code"
    assert caught.value.message_zh and caught.value.message_en
    return caught.value


@pytest.mark.parametrize(("code", "holder"), REAL_CODES)
def test_published_codes_are_valid(code: str, holder: str) -> None:
    assert validate_credit_code(code) == code
    assert is_valid_credit_code(code)
    assert check_character(code[:17]) == code[17]
    assert organisation_check_character(code[8:16]) == code[16]


def test_worked_example_of_the_standard() -> None:
    # GB 32100-2015's worked example: the weighted sum is 1640, 1640 mod 31 = 28, so the check is 31 - 28 = 3.
    # Its sample ends in "Z", which the alphabet does not even allow; any allowed wrong character is named.
    assert check_character("91350100M000100Y4") == "3"
    assert refusal("91350100M000100Y4Z").details == {"position": 18, "character": "Z"}
    error = refusal("91350100M000100Y4Y")
    assert error.details == {"position": 18, "expected": "3", "actual": "Y"}
    assert "“3”" in error.message_zh and "'Y'" in error.message_en
    assert validate_credit_code("91350100M000100Y43") == "91350100M000100Y43"


def test_input_is_normalised() -> None:
    assert validate_credit_code(" 9143 0100 ma4q5w141p ") == "91430100MA4Q5W141P"
    assert validate_credit_code("９１４３０１００ＭＡ４Ｑ５Ｗ１４１Ｐ") == "91430100MA4Q5W141P"


@pytest.mark.parametrize("code", ["91430100MA4Q5W141", "91430100MA4Q5W141PP", "", "   "])
def test_wrong_length_is_refused_with_the_count(code: str) -> None:
    error = refusal(code)
    length = len(code.strip())
    assert error.details == {"length": length}
    assert f"{length}位" in error.message_zh and f"has {length}" in error.message_en


@pytest.mark.parametrize(
    ("code", "position", "character"),
    [
        ("91430100MA4Q5WI41P", 15, "I"),
        ("91430100MA4QOW141P", 13, "O"),
        ("91430100MA4Q5W1S1P", 16, "S"),
        ("91430100MA4Q5V141P", 14, "V"),
        ("Z1430100MA4Q5W141P", 1, "Z"),
        ("91430100MA4Q5W141-", 18, "-"),
    ],
)
def test_letters_outside_the_alphabet_are_named_with_their_position(code: str, position: int, character: str) -> None:
    error = refusal(code)
    assert error.details == {"position": position, "character": character}
    assert f"第{position}位" in error.message_zh and f"position {position}" in error.message_en


def test_a_lookalike_letter_suggests_the_digit() -> None:
    error = refusal("91430100MA4QOW141P")
    assert "“0”" in error.message_zh and "'0'" in error.message_en


def test_division_code_must_be_digits() -> None:
    error = refusal("9143A100MA4Q5W141P")
    assert error.details == {"position": 5, "character": "A"}


def test_organisation_code_check_is_enforced() -> None:
    # Wrong organisation check character, but a final check character recomputed to match it.
    first16 = "91430100MA4Q5W14"
    wrong = "2" if organisation_check_character(first16[8:]) != "2" else "3"
    first17 = first16 + wrong
    code = first17 + check_character(first17)
    error = refusal(code)
    assert error.details["position"] == 17
    assert error.details["expected"] == organisation_check_character(first16[8:])


def test_pre_2016_xiamen_code_fails_the_standard() -> None:
    # Genuine, yet its check character does not follow GB 32100; the module follows the standard.
    assert not is_valid_credit_code("91350203M0001QKT19")


def test_is_valid_tolerates_non_strings() -> None:
    assert not is_valid_credit_code(None)  # type: ignore[arg-type]
    assert not is_valid_credit_code(914403001922038216)  # type: ignore[arg-type]


def test_make_credit_code_reproduces_real_codes() -> None:
    assert make_credit_code("9", "1", "430100", "MA4Q5W14") == "91430100MA4Q5W141P"
    assert make_credit_code("9", "1", "440300", "19220382") == "914403001922038216"


@pytest.mark.parametrize(
    ("parts", "fragment"),
    [
        (("99", "1", "430100", "MA4Q5W14"), "registration"),
        (("9", "1", "43010", "MA4Q5W14"), "region"),
        (("9", "1", "4301A0", "MA4Q5W14"), "digits"),
        (("9", "1", "430100", "MA4Q5W1"), "organisation code body"),
        (("9", "1", "430100", "MA4Q5WI4"), "position 15"),
    ],
)
def test_make_credit_code_refuses_bad_parts(parts: tuple[str, str, str, str], fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_credit_code(*parts)
    assert caught.value.code == "invalid_credit_code"
    assert fragment in caught.value.message_en


@given(codes)
def test_generated_codes_are_valid(code: str) -> None:
    assert len(code) == 18
    assert validate_credit_code(code) == code


@given(codes, st.integers(min_value=0, max_value=17), st.sampled_from(ALPHABET + "IOSVZ#-"))
def test_any_single_character_change_is_detected(code: str, index: int, replacement: str) -> None:
    if code[index] == replacement:
        replacement = ALPHABET[(ALPHABET.index(replacement) + 1) % len(ALPHABET)]
    mutated = code[:index] + replacement + code[index + 1 :]
    assert not is_valid_credit_code(mutated)


@given(codes, st.integers(min_value=0, max_value=15))
def test_any_swap_of_neighbours_in_the_first_17_is_detected(code: str, index: int) -> None:
    # The weights are powers of 3 modulo the prime 31, so neighbours never weigh the same.
    if code[index] == code[index + 1]:
        return
    swapped = code[:index] + code[index + 1] + code[index] + code[index + 2 :]
    assert not is_valid_credit_code(swapped)


@given(st.text(max_size=24))
def test_arbitrary_text_is_either_valid_or_refused_politely(text: str) -> None:
    try:
        canonical = validate_credit_code(text)
    except InvalidInput as error:
        assert error.code == "invalid_credit_code"
    else:
        assert validate_credit_code(canonical) == canonical
