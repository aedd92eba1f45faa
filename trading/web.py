"""Small shared pieces of the HTTP layer: the per-request database session, the act, pagination."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from trading.context import Act, Actor
from trading.db import session_scope
from trading.errors import InvalidInput

#: The per-request session, declared explicitly in handler signatures.
DB = NamedDependency[AsyncSession]


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    async for session in session_scope(state.sessionmaker):
        yield session


async def one_charset(response: Any) -> Any:
    """Send a text/* media type that already names its charset as it is (the app's after_request hook: a
    coroutine, as Litestar would run a plain function in its thread pool, a thread hop for every request).

    Litestar appends "; charset=utf-8" to every text/* media type, even one that names a charset already, so
    "text/plain; charset=utf-8" went out with the parameter twice, and an attachment uploaded as
    "text/csv; charset=gbk" would have been sent as both GBK and UTF-8. A Content-Type header set on the
    response is kept as given, so naming the media type there leaves Litestar nothing to add.
    """
    if isinstance(response, Response):
        media_type = response.media_type
        named = isinstance(media_type, str) and media_type.startswith("text/") and "charset=" in media_type.lower()
        if named and not any(name.lower() == "content-type" for name in response.headers):
            response.headers["Content-Type"] = media_type
    return response


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def request_actor(request: Request[Any, Any, Any]) -> Actor | None:
    return request.scope.get("user")  # type: ignore[return-value]


async def make_act(request: Request[Any, Any, Any], db: AsyncSession) -> Act:
    """The request as an act: who, from where, and when — the clock as read when the caller's token was checked
    (the database's clock, a moment ago), else read now."""
    now = request.scope.get("state", {}).get("now") or await request.app.state.clock.now(db)
    return Act(actor=request_actor(request), address=client_address(request), at=now)


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(values)).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    try:
        values = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except Exception as exc:
        raise InvalidInput("分页游标无效", "The cursor is not valid", code="bad_cursor") from exc
    if not isinstance(values, list) or len(values) != length:
        raise InvalidInput("分页游标无效", "The cursor is not valid", code="bad_cursor")
    return values
