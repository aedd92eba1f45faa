"""Authentication (bearer tokens for the API, session cookies for the portal).

The middleware resolves credentials into an :class:`~trading.context.Actor` in ``scope["user"]`` (None for
the public). Who may call what is decided by the one guard, trading.authorise, from trading.policy. Tokens
and session ids are random values whose SHA-256 alone is stored, so a database dump holds no usable
credential.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from http.cookies import SimpleCookie

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trading.accounts.models import ApiToken, Person, PortalSession
from trading.clock import Clock
from trading.context import Actor
from trading.db import without_transaction
from trading.errors import DomainError, NotAuthenticated

SESSION_COOKIE = "trading_session"
TOKEN_PREFIX = "tp_"


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def actor_of(person: Person) -> Actor:
    return Actor(
        person_id=person.id,
        username=person.username,
        display_name=person.display_name,
        roles=tuple(person.roles),
        centre_id=person.centre_id,
        organisation_id=person.organisation_id,
    )


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


class TokenExpired(NotAuthenticated):
    code = "token_expired"

    def __init__(self) -> None:
        DomainError.__init__(
            self,
            "API 令牌已过期，请重新登录获取新令牌（POST /api/tokens）",
            "The API token has expired: sign in again for a new one (POST /api/tokens)",
        )


# Built once: it runs on every API request.
_TOKEN_HOLDER = (
    select(ApiToken, Person)
    .join(Person, Person.id == ApiToken.person_id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), Person.is_active)
)


async def actor_for_token(session: AsyncSession, token: str, now: datetime) -> Actor | TokenExpired | None:
    """The token's holder; None for a token that is unknown, revoked or whose holder is disabled; a
    TokenExpired (to raise) for one past its expiry."""
    row = (await session.execute(_TOKEN_HOLDER, {"token_hash": secret_hash(token)})).first()
    if row is None:
        return None
    token_row, person = row
    if token_row.expires_at <= now:
        return TokenExpired()
    # Record use at most once a minute, to keep reads cheap.
    if token_row.last_used_at is None or (now - token_row.last_used_at).total_seconds() > 60:
        await session.execute(update(ApiToken).where(ApiToken.id == token_row.id).values(last_used_at=now))
        await session.commit()
    return actor_of(person)


async def portal_session_for(session: AsyncSession, cookie_value: str, now: datetime) -> tuple[Actor, str] | None:
    """The actor and CSRF token for a portal session cookie, if it is live."""
    row = (
        await session.execute(
            select(PortalSession, Person)
            .join(Person, Person.id == PortalSession.person_id)
            .where(PortalSession.id_hash == secret_hash(cookie_value), Person.is_active)
        )
    ).first()
    if row is None or row[0].expires_at <= now:
        return None
    return actor_of(row[1]), row[0].csrf_token


class AuthenticationMiddleware:
    """Resolve the caller once per request: a bearer token on /api/, the session cookie elsewhere."""

    def __init__(self, app: ASGIApp, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.app = app
        self.sessionmaker = sessionmaker
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["user"] = None
            scope["auth"] = None
            scope.setdefault("state", {})
            headers = dict(scope["headers"])
            path = scope["path"]
            if is_api_path(path):
                auth = headers.get(b"authorization", b"").decode("latin-1")
                if auth.lower().startswith("bearer "):
                    token = auth[7:].strip()
                    async with self.sessionmaker() as session:
                        await without_transaction(session)  # two reads (and a rare update): no BEGIN/ROLLBACK
                        now = await self.clock.now(session)
                        found = await actor_for_token(session, token, now)
                    # The request's instant (trading.web.make_act), read once: a bid's path saves a round trip.
                    scope["state"]["now"] = now
                    # An invalid or expired token is an error, not a silent downgrade to the public.
                    if isinstance(found, TokenExpired):
                        scope["auth"], scope["state"]["auth_error"] = "invalid", found
                    else:
                        scope["user"] = found
                        scope["auth"] = "token" if found else "invalid"
            else:
                cookie_header = headers.get(b"cookie", b"").decode("latin-1")
                if SESSION_COOKIE in cookie_header:
                    cookie = SimpleCookie()
                    try:
                        cookie.load(cookie_header)
                    except Exception:  # a malformed cookie header is the public's, not a 500
                        cookie = SimpleCookie()
                    morsel = cookie.get(SESSION_COOKIE)
                    if morsel is not None:
                        async with self.sessionmaker() as session:
                            found = await portal_session_for(session, morsel.value, await self.clock.now(session))
                        if found:
                            scope["user"], scope["state"]["csrf_token"] = found
                            scope["auth"] = "session"
        await self.app(scope, receive, send)


def current_actor(connection: ASGIConnection) -> Actor | None:
    return connection.scope.get("user")  # type: ignore[return-value]


def refuse_invalid_credentials(connection: ASGIConnection) -> None:
    if connection.scope.get("auth") == "invalid":
        raise connection.scope.get("state", {}).get("auth_error") or NotAuthenticated()
