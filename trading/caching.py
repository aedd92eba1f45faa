"""HTTP caching for public reads: ETag / Last-Modified validators and Cache-Control.

A published version never changes, so its document is cacheable forever; lists change only when something
is published, so their validator is the latest publication sequence number.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from litestar import Request, Response

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=30, must-revalidate"


def etag_for(*parts: object) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def not_modified(request: Request[Any, Any, Any], etag: str, last_modified: datetime | None = None) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        return etag in [t.strip().removeprefix("W/") for t in inm.split(",")] or inm.strip() == "*"
    ims = request.headers.get("if-modified-since")
    if ims and last_modified is not None:
        try:
            return last_modified.replace(microsecond=0) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


def cache_headers(etag: str, last_modified: datetime | None = None, cache_control: str = SHORT) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
    return headers


def not_modified_response(headers: dict[str, str]) -> Response[None]:
    return Response(content=None, status_code=304, headers=headers)
