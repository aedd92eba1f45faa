"""The price envelope's plaintext: the opening form (开标一览表) as canonical JSON.

``{"duration_days": 180, "quality": "合格", "total_price_fen": 1234567800, …}`` — money in integer fen, durations in
days, and any further fields the tender documents name (lower-case ASCII names; string or integer values).
Integers are non-negative and JSON-safe; floats and booleans are refused, so a price is never rounded.
A reserve or control price (role ``reserve``) needs only ``total_price_fen``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from .context import ROLE_BIDDER, ROLE_RESERVE
from .encoding import MAX_JSON_INT, canonical_json, parse_canonical_json
from .errors import InvalidPriceForm, Malformed

MAX_PRICE_FORM_BYTES = 16 * 1024
MAX_FIELDS = 64
MAX_STRING_LENGTH = 1000
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
REQUIRED_FIELDS = {
    ROLE_BIDDER: {"total_price_fen": int, "duration_days": int, "quality": str},
    ROLE_RESERVE: {"total_price_fen": int},
}
#: What every bid's opening form carries; a tender may require more (its notice's committee.price_form).
STANDARD_PRICE_FIELDS = tuple(REQUIRED_FIELDS[ROLE_BIDDER])


def _refuse(field: str, zh: str, en: str) -> InvalidPriceForm:
    return InvalidPriceForm(
        f"开标一览表字段 {field}：{zh}", f"Opening form field {field}: {en}", details={"field": field}
    )


def validate_price_form(
    form: Mapping[str, Any], *, role: str = ROLE_BIDDER, price_fields: Collection[str] = (), _size: int | None = None
) -> dict[str, Any]:
    """Check an opening form; returns it as a plain dict. ``price_fields`` are extra fields the tender requires.
    (``_size``: the length of the form's canonical encoding, when the caller has just parsed it from exactly that.)"""
    if not isinstance(form, Mapping):
        raise InvalidPriceForm("开标一览表应为键值对象", "The opening form must be an object")
    if len(form) > MAX_FIELDS:
        raise InvalidPriceForm(f"开标一览表字段过多（最多 {MAX_FIELDS} 个）", f"Too many fields (at most {MAX_FIELDS})")
    required = REQUIRED_FIELDS.get(role)
    if required is None:
        raise InvalidPriceForm(f"未知的角色 {role!r}", f"Unknown role {role!r}")
    for field in [*required, *price_fields]:
        if field not in form:
            raise _refuse(field, "缺少此项", "missing")
    for field, value in form.items():
        if not (isinstance(field, str) and FIELD_NAME.fullmatch(field)):
            raise _refuse(
                repr(field), "字段名只能用小写字母、数字和下划线", "names are lower-case ASCII, digits and '_'"
            )
        expected = required.get(field)
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _refuse(
                field,
                "只能是整数或文字（金额以分为单位的整数，不能是小数）",
                "must be an integer or a string (money is integer fen, never a float)",
            )
        if expected is not None and not isinstance(value, expected):
            kind = "整数" if expected is int else "文字"
            raise _refuse(field, f"应为{kind}", f"must be {'an integer' if expected is int else 'a string'}")
        if isinstance(value, int) and not 0 <= value <= MAX_JSON_INT:
            raise _refuse(field, "应为不超过 2^53−1 的非负整数", "must be a non-negative integer below 2^53")
        if isinstance(value, str):
            if len(value) > MAX_STRING_LENGTH:
                raise _refuse(field, f"过长（最多 {MAX_STRING_LENGTH} 字）", f"too long (at most {MAX_STRING_LENGTH})")
            if any((ord(ch) < 0x20 and ch not in "\n\t") or ord(ch) == 0x7F for ch in value):
                raise _refuse(field, "含有控制字符", "has a control character")
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
                raise _refuse(field, "不是有效的 Unicode 文字", "is not valid Unicode text")
    if "quality" in required and not form["quality"].strip():
        raise _refuse("quality", "不能为空", "must not be empty")
    result = dict(form)
    if (len(canonical_json(result)) if _size is None else _size) > MAX_PRICE_FORM_BYTES:
        raise InvalidPriceForm(
            f"开标一览表过大（最多 {MAX_PRICE_FORM_BYTES} 字节）",
            f"The opening form is too large (at most {MAX_PRICE_FORM_BYTES} bytes)",
        )
    return result


def encode_price_form(form: Mapping[str, Any], *, role: str = ROLE_BIDDER, price_fields: Collection[str] = ()) -> bytes:
    """The price envelope plaintext: canonical JSON of a valid form."""
    return canonical_json(validate_price_form(form, role=role, price_fields=price_fields))


def decode_price_form(data: bytes, *, role: str = ROLE_BIDDER, price_fields: Collection[str] = ()) -> dict[str, Any]:
    """Parse and check an opened price envelope; anything off is :class:`InvalidPriceForm` (the bidder's fault)."""
    if len(data) > MAX_PRICE_FORM_BYTES:
        raise InvalidPriceForm("开标一览表过大", "The opening form is too large")
    try:
        value = parse_canonical_json(data, "price form")
    except Malformed as exc:
        raise InvalidPriceForm(exc.message_zh, exc.message_en) from None
    # *data* is the form's canonical encoding (parse_canonical_json insists): its size need not be encoded again.
    return validate_price_form(value, role=role, price_fields=price_fields, _size=len(data))
