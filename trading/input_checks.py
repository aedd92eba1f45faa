"""What every request must be before a handler sees it: numbers that fit the database, text without NUL or
other control characters, dates within this and the next two centuries, JSON sent as JSON, typed exactly as
documented and nested no deeper than a person would write.

Litestar converts request data leniently (a JSON string "100" becomes the integer 100, as a query string
must), and either engine fails in its own way on what it cannot store (PostgreSQL refuses NUL in text and
integers past 64 bits with a server error; SQLite stores the NUL). So one hook, run before any handler,
refuses such input with a 4xx that says what is wrong, in Chinese and English, and nothing is changed.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, get_args
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler

from trading.errors import DomainError, InvalidInput
from trading.validation_zh import explain
from trading.xmltext import UNWRITABLE

#: The range of a PostgreSQL BIGINT (and of SQLite's INTEGER): every id, count and amount fits in it.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGER = re.compile(r"[+-]?\d+")
#: Every date a request carries lies in this window (a typo's year 1 or 9999 is no date anyone means).
EARLIEST, LATEST = date(2000, 1, 1), date(2199, 12, 31)
_ISO_DATE = re.compile(r"(\d{4,})-\d\d-\d\d")
#: Deeper nesting is refused before decoding (msgspec and the json module recurse, and fail at ~1,000).
MAX_JSON_DEPTH = 32


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


def _int_out_of_range(name: str) -> InvalidInput:
    return InvalidInput(
        f"参数 {name} 的数值超出范围（须在 ±9223372036854775807 之内）",
        f"The number in {name} is out of range (it must fit in 64 bits)",
        code="number_out_of_range",
        details={"parameter": name},
    )


def _unwritable(where: str, text: str) -> InvalidInput | None:
    """The refusal of *text* if it holds a character no text may hold (NUL has its own, older code)."""
    found = UNWRITABLE.search(text)  # (XML — the feeds, the charts — cannot carry them; nobody means them)
    if found is None:
        return None
    if found.group() == "\x00":
        return _nul(where)
    point = f"\\u{ord(found.group()):04x}"
    return InvalidInput(
        f"{where} 含有控制字符（{point}），文本中不允许出现",
        f"{where} contains a control character ({point}), which no text may hold",
        code="control_character",
        details={"where": where, "character": point},
    )


def _nul(where: str) -> InvalidInput:
    return InvalidInput(
        f"{where} 含有空字符（\\u0000），文本中不允许出现",
        f"{where} contains a NUL character (\\u0000), which no text may hold",
        code="nul_in_text",
        details={"where": where},
    )


def _date_out_of_range(where: str, value: object) -> InvalidInput:
    return InvalidInput(
        f"{where} 的日期 {value} 不在 {EARLIEST.year}—{LATEST.year} 年之间",
        f"The date {value} in {where} is not between {EARLIEST.year} and {LATEST.year}",
        code="date_out_of_range",
        details={"where": where},
    )


def _check_parameter(name: str, value: Any, *, is_date: bool = False) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise _int_out_of_range(name)
    if isinstance(value, date) and not EARLIEST <= _as_date(value) <= LATEST:
        raise _date_out_of_range(name, value)
    if isinstance(value, str):
        refusal = _unwritable(name, value)
        if refusal:
            raise refusal
        if _INTEGER.fullmatch(value.strip()) and not INT64_MIN <= int(value) <= INT64_MAX:
            raise _int_out_of_range(name)
        year = _ISO_DATE.match(value.strip()) if is_date else None  # (a search for "0001-01-01" is no date)
        if year and not EARLIEST.year <= int(year.group(1)) <= LATEST.year:
            raise _date_out_of_range(name, value)


_YYYY_MM_DD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_day(text: str) -> date:
    """A day written YYYY-MM-DD (ValueError otherwise): Python's fromisoformat alone also reads 20260508 and the
    week date 2026-W19-5, which no form or path of the platform offers."""
    if not _YYYY_MM_DD.fullmatch(text):
        raise ValueError(f"not YYYY-MM-DD: {text[:40]!r}")
    return date.fromisoformat(text)


def check_date(name: str, value: date) -> None:
    """A date a handler read itself (from text the router could not type) held to the same window."""
    _check_parameter(name, value)


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _first_bad_date(value: Any, path: str = "$") -> tuple[str, object] | None:
    """The first date or datetime outside the window in a decoded body, with where it is."""
    if isinstance(value, date):
        return None if EARLIEST <= _as_date(value) <= LATEST else (path, value)
    if isinstance(value, msgspec.Struct):
        items: Any = ((f, getattr(value, f)) for f in value.__struct_fields__)
    elif isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _first_bad_date(item, f"{path}.{key}" if not isinstance(key, int) else f"{path}[{key}]")
        if found:
            return found
    return None


def _json_depth_ok(body: bytes) -> bool:
    """Whether no array or object in *body* nests deeper than MAX_JSON_DEPTH (brackets in strings skipped)."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return True
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


#: How a string decoded from JSON can come to hold a character no text may hold: JSON forbids the controls raw,
#: so only escaped (\u…, \b, \f), and U+FFFE or U+FFFF also raw, in UTF-8. A body without any of these (a bid's
#: or an opener's base64, say) needs none of its strings searched: a search costs about 6 ms a megabyte.
_MAY_HOLD_UNWRITABLE = (b"\\u", b"\\b", b"\\f", "\ufffe".encode(), "\uffff".encode())


def _first_unstorable(value: Any, path: str = "$", *, texts: bool = True) -> InvalidInput | None:
    """What no database column can hold in a decoded body, with where it is: a character no text may hold (a
    key's included; *texts* False: none can be there), or an integer past 64 bits — anywhere, in a free-form
    object too (JSON readers in browsers round them)."""
    if isinstance(value, str):
        return _unwritable(path, value) if texts else None
    if isinstance(value, int) and not isinstance(value, bool):
        return None if INT64_MIN <= value <= INT64_MAX else _int_out_of_range(path)
    if isinstance(value, dict):
        for key, item in value.items():
            refusal = _unwritable(f"{path} 的键", key) if texts else None
            if refusal:
                return refusal
            found = _first_unstorable(item, f"{path}.{key}", texts=texts)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_unstorable(item, f"{path}[{index}]", texts=texts)
            if found:
                return found
    return None


def validation_error(message: str) -> InvalidInput:
    """A msgspec validation message as a refusal a person can act on, in Chinese and English."""
    zh, field = explain(message)
    return InvalidInput(
        f"请求内容不符合要求：{zh}",
        f"The request is not valid: {message}",
        code="invalid_input",
        details={"field": field} if field else None,
    )


def _json_body_type(handler: HTTPRouteHandler) -> Any | None:
    """The type a handler's JSON body is decoded into, or None when it takes no JSON body."""
    cached = getattr(handler, "_json_body_type", ...)
    if cached is not ...:
        return cached
    result = None
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is not None:
        media = getattr(field.kwarg_definition, "media_type", RequestEncodingType.JSON)
        if media == RequestEncodingType.JSON:
            result = field.annotation
    handler._json_body_type = result  # type: ignore[attr-defined]
    return result


def _takes_form(handler: HTTPRouteHandler) -> bool:
    field = handler.parsed_fn_signature.parameters.get("data")
    return field is not None and getattr(field.kwarg_definition, "media_type", None) in (
        RequestEncodingType.URL_ENCODED,
        RequestEncodingType.MULTI_PART,
    )


_DATE_QUERIES: dict[Any, frozenset[str]] = {}


def _date_queries(handler: HTTPRouteHandler) -> frozenset[str]:
    """The names of the query parameters a handler reads as a date or a datetime."""
    names = _DATE_QUERIES.get(handler.fn)
    if names is None:
        names = frozenset(
            getattr(field.kwarg_definition, "query", None) or getattr(field.kwarg_definition, "name", None) or name
            for name, field in handler.parsed_fn_signature.parameters.items()
            if any(t in (date, datetime) for t in (field.annotation, *get_args(field.annotation)))
        )
        _DATE_QUERIES[handler.fn] = names
    return names


def check_parameters(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """The path's and the query's values: called by the guard (trading.authorise) before it looks anything up,
    so that a number past 64 bits never reaches the database even to find out who may see it."""
    path = connection.scope.get("path", "")
    if not path.isascii() and any(ch.isdigit() and not ch.isascii() for ch in path):
        # Python's int() reads "１" (full width) or "١" (Arabic-Indic) as 1: an id is written in ASCII digits only.
        raise InvalidInput(
            "路径中的数字须为半角阿拉伯数字（0–9）",
            "Numbers in the path must be written with the digits 0–9",
            code="invalid_path_number",
        )
    for name, value in connection.path_params.items():
        _check_parameter(name, value)
    dates = _date_queries(connection.route_handler)  # type: ignore[arg-type]
    for name, value in parse_qsl(connection.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        _check_parameter(name, value, is_date=name in dates)
        if name in dates and value and not _ISO_DATE.match(value.strip()):
            # (else read as seconds since 1970: from=-1 would be 1969, past the window's check)
            raise InvalidInput(
                f"参数 {name} 须为 ISO 8601 日期时间，如 2026-11-21T09:30:00+08:00",
                f"{name} must be an ISO 8601 date and time, such as 2026-11-21T09:30:00+08:00",
                code="invalid_date",
                details={"parameter": name},
            )


async def check_request(request: Request[Any, Any, Any]) -> None:
    """The before-request hook (after the guard): the request body (see the module docstring)."""
    handler = request.route_handler
    body_type = _json_body_type(handler)
    if body_type is not None:
        await _check_json_body(request, body_type)
    elif _takes_form(handler) and request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()
        if b"%00" in body or b"\x00" in body:
            raise _nul("表单 / the form")
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                refusal = _unwritable(f"表单 / the form: {name}", value)
                if refusal:
                    raise refusal


async def _check_json_body(request: Request[Any, Any, Any], body_type: Any) -> None:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            "请以 JSON 发送请求内容（Content-Type: application/json）",
            "Send the request body as JSON (Content-Type: application/json)",
            details={"content_type": media or None},
        )
    body = await request.body()
    if not _json_depth_ok(body):
        raise InvalidInput(
            f"JSON 嵌套过深（至多 {MAX_JSON_DEPTH} 层）",
            f"The JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels)",
            code="json_too_deep",
        )
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidInput(
            "请求内容不是有效的 JSON", f"The body is not valid JSON: {exc}", code="invalid_input"
        ) from exc
    unstorable = _first_unstorable(raw, texts=any(marker in body for marker in _MAY_HOLD_UNWRITABLE))
    if unstorable:
        raise unstorable
    try:
        # Strictly: a number sent as a string, or a float where an integer is wanted, is refused.
        decoded = msgspec.json.decode(body, type=body_type, strict=True)
    except msgspec.ValidationError as exc:
        raise validation_error(str(exc)) from exc
    bad = _first_bad_date(decoded)
    if bad:
        raise _date_out_of_range(*bad)
