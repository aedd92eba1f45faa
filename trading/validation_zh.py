"""msgspec's validation messages in Chinese: what a person reads when a request, a manifest or a file they
sent does not have the form asked for. Pure text work, no I/O (the bidder's command line uses it too)."""

from __future__ import annotations

import re
from typing import Any

TYPE_NAMES = {
    "str": "文本",
    "int": "整数",
    "float": "数字",
    "bool": "布尔值（true/false）",
    "object": "对象",
    "array": "数组",
    "null": "空值",
    "datetime": "日期时间",
    "date": "日期",
    "bytes": "base64 数据",
}


def _types_zh(match: re.Match[str]) -> str:
    def names(spec: str) -> str:
        return "或".join(TYPE_NAMES.get(t.strip(), t.strip()) for t in spec.split("|"))

    return f"应为{names(match.group(1))}，实际为{names(match.group(2))}"


_TRANSLATIONS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"Expected `([^`]+)`, got `([^`]+)`"), _types_zh),
    (re.compile(r"Object missing required field `([^`]+)`"), r"缺少必填字段 \1"),
    (re.compile(r"Object contains unknown field `([^`]+)`"), r"含有未知字段 \1"),
    (re.compile(r"Expected `(\w+)` of length >= (\d+)"), r"长度至少为 \2"),
    (re.compile(r"Expected `(\w+)` of length <= (\d+)"), r"长度至多为 \2"),
    (re.compile(r"Expected `(\w+)` >= (-?[\d.]+)"), r"数值须不小于 \2"),
    (re.compile(r"Expected `(\w+)` <= (-?[\d.]+)"), r"数值须不大于 \2"),
    (re.compile(r"Expected `(\w+)` > (-?[\d.]+)"), r"数值须大于 \2"),
    (re.compile(r"Expected `(\w+)` < (-?[\d.]+)"), r"数值须小于 \2"),
    (re.compile(r"Expected `str` matching regex .*"), "格式不符合要求"),
    (re.compile(r"Invalid enum value (.+)"), r"取值 \1 不在允许的范围内"),
    (
        re.compile(r"Invalid RFC3339 encoded datetime"),
        "日期时间格式无效（须为 RFC 3339，如 2026-03-02T09:00:00+08:00）",
    ),
    (re.compile(r"Invalid RFC3339 encoded date"), "日期格式无效（须为 2026-03-02 这样的形式）"),
    (re.compile(r"Integer value out of range"), "整数超出范围"),
    (re.compile(r"^the \w+ parameter is required$"), "必填，请提供"),  # (trading.app: a missing parameter)
]
_AT = re.compile(r" - at `(\$[^`]*)`$")


def explain(message: str) -> tuple[str, str | None]:
    """The Chinese for msgspec's *message* (its field named first), and the path of the field it is about."""
    where = _AT.search(message)
    plain = _AT.sub("", message)
    zh = "内容不符合要求"
    for pattern, replacement in _TRANSLATIONS:
        if pattern.search(plain):
            zh = pattern.sub(replacement, plain)
            break
    field = where.group(1) if where else None
    if field and field != "$":
        zh = f"字段 {field.removeprefix('$.')}：{zh}"
    return zh, field
