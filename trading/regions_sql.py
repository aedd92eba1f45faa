"""Region filters in SQL: a city or province code matches every division under it (by code range)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_


def region_prefix(code: str) -> str:
    """430000 → "43", 430700 → "4307", 430723 → "430723"."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def within_region(column: Any, code: str) -> ColumnElement[bool]:
    """``column`` lies in *code* or any division under it. A range, not LIKE, so any index helps."""
    prefix = region_prefix(code)
    if len(prefix) == 6:
        return column == prefix
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < upper)
