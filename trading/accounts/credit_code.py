"""The unified social credit code (统一社会信用代码, GB 32100-2015): check characters, validation, generation.

Layout of the 18 characters::

    9 1 430100 MA4Q5W14 1 P
    │ │ │      │        │ └ 18     check character over positions 1-17 (GB 32100 §5, after GB/T 17710)
    │ │ │      └────────┴─ 9-17   organisation code (主体标识码, GB 11714), its own check character at 17
    │ │ └──────────────── 3-8    administrative division of the registering authority (GB/T 2260)
    │ └────────────────── 2      organisation type (机构类别代码)
    └──────────────────── 1      registration authority (登记管理部门代码)

Every character comes from a 31-character set: the digits and the capital letters without I, O, S, V and Z.
The final check character is ``31 - (Σ value × weight mod 31)``, with 31 written as ``0``; the weights are
``3^(i-1) mod 31``. Positions 9-17 are "coded according to GB 11714", so the organisation code's own check
character (weights 3, 7, 9, 10, 5, 8, 4, 2; ``11 - Σ mod 11``, 10 → ``X``, 11 → ``0``; letters count
A = 10 … Z = 35) is part of the standard and is checked too. Every published code tried passes both.

Known exception: a few codes issued in Xiamen before 2016 (e.g. ``91350203M0001QKT19``) are genuine yet fail
the final check. This module follows the standard and refuses them; a service that must admit such a party
needs a manual, staff-verified path rather than a looser check here.
"""

from __future__ import annotations

import unicodedata

from trading.errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
LENGTH = 18

_VALUES = {character: value for value, character in enumerate(ALPHABET)}
_RULE = "GB 32100-2015"
_ERROR_CODE = "invalid_credit_code"
# What someone most likely meant when they typed a letter the standard leaves out.
_LOOKALIKES = {"O": "0", "I": "1", "Z": "2", "S": "5"}


def _refuse(message_zh: str, message_en: str, **details: object) -> InvalidInput:
    return InvalidInput(message_zh, message_en, code=_ERROR_CODE, rule=_RULE, details=dict(details))


def _normalise(code: str) -> str:
    # NFKC folds full-width characters pasted from documents ("９１４３…") to ASCII.
    folded = unicodedata.normalize("NFKC", code)
    return "".join(folded.split()).upper()


def _check_characters(text: str, *, start: int = 1) -> None:
    """Refuse the first character outside the code's alphabet, naming it and its (1-based) position."""
    for offset, character in enumerate(text):
        if character in _VALUES:
            continue
        position = start + offset
        hint_zh = hint_en = ""
        if character in _LOOKALIKES:
            hint_zh = f"，是否应为数字“{_LOOKALIKES[character]}”？"
            hint_en = f"; did you mean the digit '{_LOOKALIKES[character]}'?"
        elif character.isalpha() and character.isascii():
            hint_zh = "（统一社会信用代码不使用字母 I、O、S、V、Z）"
            hint_en = " (the code never uses the letters I, O, S, V or Z)"
        raise _refuse(
            f"统一社会信用代码第{position}位的字符“{character}”不允许使用{hint_zh}",
            f"Character '{character}' at position {position} is not allowed in a unified social credit code{hint_en}",
            position=position,
            character=character,
        )


def _check_division_digits(division: str, *, start: int = 3) -> None:
    for offset, character in enumerate(division):
        if not character.isdigit():
            position = start + offset
            raise _refuse(
                f"统一社会信用代码第3至8位是登记管理机关的行政区划代码，只能是数字；第{position}位是“{character}”",
                f"Positions 3 to 8 of a unified social credit code are an administrative division code and "
                f"must be digits; position {position} is '{character}'",
                position=position,
                character=character,
            )


def _organisation_value(character: str) -> int:
    return int(character) if character.isdigit() else ord(character) - ord("A") + 10


def organisation_check_character(body8: str) -> str:
    """The GB 11714 check character (组织机构代码校验码) of an 8-character organisation code body."""
    if len(body8) != 8:
        raise _refuse(
            f"组织机构代码本体应为8位，实际为{len(body8)}位",
            f"An organisation code body has 8 characters; this one has {len(body8)}",
        )
    _check_characters(body8, start=9)
    total = sum(
        _organisation_value(character) * weight for character, weight in zip(body8, ORGANISATION_WEIGHTS, strict=True)
    )
    remainder = 11 - total % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def check_character(first17: str) -> str:
    """The final check character (校验码, position 18) for the first 17 characters of a code."""
    if len(first17) != LENGTH - 1:
        raise _refuse(
            f"计算校验码需要前17位，实际为{len(first17)}位",
            f"The check character is computed over 17 characters; got {len(first17)}",
        )
    _check_characters(first17)
    total = sum(_VALUES[character] * weight for character, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """Return the code in canonical form (upper case, no spaces) or raise :class:`InvalidInput` saying why."""
    normalised = _normalise(code)
    if len(normalised) != LENGTH:
        raise _refuse(
            f"统一社会信用代码应为18位，实际为{len(normalised)}位",
            f"A unified social credit code has 18 characters; this one has {len(normalised)}",
            length=len(normalised),
        )
    _check_characters(normalised)
    _check_division_digits(normalised[2:8])
    expected = check_character(normalised[:17])
    if normalised[17] != expected:
        raise _refuse(
            f"统一社会信用代码第18位校验码应为“{expected}”，实际为“{normalised[17]}”，请核对是否有字符抄错",
            f"The check character (position 18) should be '{expected}' but is '{normalised[17]}'; "
            "a character has probably been mistyped",
            position=18,
            expected=expected,
            actual=normalised[17],
        )
    expected_organisation = organisation_check_character(normalised[8:16])
    if normalised[16] != expected_organisation:
        raise _refuse(
            f"统一社会信用代码第9至17位（组织机构代码）校验不通过：第17位应为“{expected_organisation}”，"
            f"实际为“{normalised[16]}”",
            f"Positions 9 to 17 (the organisation code) do not check: position 17 should be "
            f"'{expected_organisation}' but is '{normalised[16]}'",
            position=17,
            expected=expected_organisation,
            actual=normalised[16],
        )
    return normalised


def is_valid_credit_code(code: str) -> bool:
    """Whether :func:`validate_credit_code` would accept the code."""
    if not isinstance(code, str):
        return False
    try:
        validate_credit_code(code)
    except InvalidInput:
        return False
    return True


def make_credit_code(registration: str, org_type: str, region: str, body8: str) -> str:
    """Assemble a valid code from its parts, computing both check characters (for seed and test data).

    ``registration`` is the authority (``9`` 市场监管/工商, ``1`` 机构编制, ``5`` 民政 …),
    ``org_type`` the type within it (``1`` enterprise under ``9``, ``2`` public institution under ``1`` …),
    ``region`` six digits and ``body8`` the first eight characters of the organisation code.
    """
    registration, org_type, region, body8 = (_normalise(part) for part in (registration, org_type, region, body8))
    for name_zh, name_en, part, size in (
        ("登记管理部门代码", "registration authority", registration, 1),
        ("机构类别代码", "organisation type", org_type, 1),
        ("行政区划代码", "region", region, 6),
        ("组织机构代码本体", "organisation code body", body8, 8),
    ):
        if len(part) != size:
            raise _refuse(
                f"{name_zh}应为{size}位，实际为{len(part)}位",
                f"The {name_en} has {size} character(s); got {len(part)}",
            )
    _check_characters(registration + org_type)
    _check_division_digits(region)
    first17 = registration + org_type + region + body8 + organisation_check_character(body8)
    return first17 + check_character(first17)
