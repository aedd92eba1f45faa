"""Authentication (bearer tokens for the API, session cookies for the portal).

The middleware resolves credentials into an :class:`~trading.context.Actor` in ``scope["user"]`` (None for
the public). Who may call what is decided by the one guard, trading.authorise, from trading.policy. Tokens
and session ids are random values whose SHA-256 alone is stored, so a database dump holds no usable
credential.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from http.cookies import SimpleCookie

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from trading.accounts.models import ApiToken, Person, PortalSession
from trading.clock import Clock, DatabaseClock
from trading.clock import read as read_clock
from trading.context import Actor
from trading.db import Lean
from trading.errors import DomainError, InvalidInput, NotAuthenticated

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


#: The machine paths, where a caller names itself with a bearer token (and a token that is not valid is refused,
#: even where the public may read: a client should hear that its token no longer works); elsewhere the portal's
#: session cookie. /metrics keeps its own bearer token (trading.metrics), not an API token.
BEARER_PATHS = ("/api/", "/log/", "/feeds/")


def takes_bearer_token(path: str) -> bool:
    return path.startswith(BEARER_PATHS)


class TokenExpired(NotAuthenticated):
    code = "token_expired"

    def __init__(self) -> None:
        DomainError.__init__(
            self,
            "API 令牌已过期，请重新登录获取新令牌（POST /api/tokens）",
            "The API token has expired: sign in again for a new one (POST /api/tokens)",
        )


# Built once: it runs on every API request. Core columns, not the two ORM objects (loading them cost more
# than the query).
_TOKENS, _PEOPLE = ApiToken.__table__, Person.__table__
_TOKEN_HOLDER = (
    select(
        _TOKENS.c.id.label("token_id"),
        _TOKENS.c.expires_at,
        _TOKENS.c.last_used_at,
        _PEOPLE.c.id,
        _PEOPLE.c.username,
        _PEOPLE.c.display_name,
        _PEOPLE.c.roles,
        _PEOPLE.c.centre_id,
        _PEOPLE.c.organisation_id,
    )
    .join(_PEOPLE, _PEOPLE.c.id == _TOKENS.c.person_id)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"), _TOKENS.c.revoked_at.is_(None), _PEOPLE.c.is_active)
)
_TOKEN_USED = update(_TOKENS).where(_TOKENS.c.id == bindparam("b_id")).values(last_used_at=bindparam("b_at"))
#: A token's use is recorded at most this often (seconds), to keep its reads cheap.
TOKEN_USE_RECORDED_EVERY = 60


def _holder_recording_use() -> Lean:
    """PostgreSQL, on its own clock: the holder, the time, and the token's use recorded when due, in one
    statement (a data-modifying CTE) that commits by itself — a deadline storm's bidders each use a fresh token,
    and a read, an update and a commit were three round trips of every bid.

    That commit does not wait for its write-ahead log to reach the disk (``synchronous_commit`` off for the
    statement's own transaction): a token's time of last use is a note for its holder, not a record anything
    rests on, and a crash at worst loses the last fraction of a second of such notes. It was the second
    durable commit of every bid sent with a fresh token, beside the bid's own."""
    holder = _TOKEN_HOLDER.add_columns(DatabaseClock().column("postgresql").label("now")).cte("holder")
    used = (
        update(_TOKENS)
        .where(
            _TOKENS.c.id == holder.c.token_id,
            holder.c.expires_at > holder.c.now,
            or_(
                holder.c.last_used_at.is_(None),
                holder.c.last_used_at < holder.c.now - timedelta(seconds=TOKEN_USE_RECORDED_EVERY),
            ),
        )
        .values(last_used_at=holder.c.now)
        .cte("used")
    )
    lazily = func.set_config("synchronous_commit", "off", True).label("use_recorded_lazily")
    return Lean(select(holder, lazily).add_cte(used), hot=True)


#: With the database's clock read in the same statement (a round trip saved), by dialect; a fixed clock (tests,
#: reproducible demos) is read apart.
_TOKEN_HOLDER_AT = {
    "postgresql": _holder_recording_use(),
    "sqlite": Lean(_TOKEN_HOLDER.add_columns(DatabaseClock().column("sqlite").label("now"))),
}
_TOKEN_HOLDER_LEAN = Lean(_TOKEN_HOLDER)


async def actor_for_token(
    conn: AsyncConnection, token: str, clock: Clock
) -> tuple[datetime, Actor | TokenExpired | None]:
    """The time (the clock read in the same statement as the token) and the token's holder: None for a token
    that is unknown, revoked or whose holder is disabled; a TokenExpired (to raise) for one past its expiry.
    *conn* is in autocommit (the middleware's): the rare update of the token's use stands alone."""
    params = {"token_hash": secret_hash(token)}
    recorded = False
    if isinstance(clock, DatabaseClock):
        # The statement's own transaction commits lazily (_holder_recording_use): never one of a caller's.
        options = conn.sync_connection.get_execution_options() if conn.sync_connection else {}
        assert options.get("isolation_level") == "AUTOCOMMIT", "a token is read on its own"

        row = await _TOKEN_HOLDER_AT[conn.dialect.name].first(conn, params)
        now = read_clock(row["now"]) if row is not None else await clock.now(conn)
        recorded = conn.dialect.name == "postgresql"
    else:
        row = await _TOKEN_HOLDER_LEAN.first(conn, params)
        now = await clock.now(conn)
    if row is None:
        return now, None
    expires_at, last_used_at = row["expires_at"], row["last_used_at"]
    if expires_at <= now:
        return now, TokenExpired()
    due = last_used_at is None or (now - last_used_at).total_seconds() > TOKEN_USE_RECORDED_EVERY
    if due and not recorded:
        await conn.execute(_TOKEN_USED, {"b_id": row["token_id"], "b_at": now})
    actor = Actor(
        person_id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        roles=tuple(row["roles"]),
        centre_id=row["centre_id"],
        organisation_id=row["organisation_id"],
    )
    return now, actor


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


class TokenNotValid(NotAuthenticated):
    """A bearer token the platform does not honour: unknown, revoked, or its holder's account disabled (which of
    these is not said: the answer is the same for a guessed token as for a revoked one)."""

    code = "token_not_valid"

    def __init__(self) -> None:
        DomainError.__init__(
            self,
            "API 令牌无效（不存在、已撤销或账户已停用），请重新登录获取新令牌（POST /api/tokens）",
            "The API token is not valid (unknown, revoked, or its account disabled): sign in again for a new one "
            "(POST /api/tokens)",
        )


class AmbiguousCredentials(InvalidInput):
    code = "ambiguous_credentials"

    def __init__(self) -> None:
        super().__init__(
            "请求含有多个 Authorization 头，只能有一个",
            "The request carries more than one Authorization header: send exactly one",
        )


class AuthenticationMiddleware:
    """Resolve the caller once per request: a bearer token on the machine paths (BEARER_PATHS), the session
    cookie elsewhere."""

    def __init__(self, app: ASGIApp, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.app = app
        self.sessionmaker = sessionmaker
        self.engine: AsyncEngine = sessionmaker.kw["bind"]
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["user"] = None
            scope["auth"] = None
            scope.setdefault("state", {})
            headers = dict(scope["headers"])
            path = scope["path"]
            if takes_bearer_token(path):
                given = [value for name, value in scope["headers"] if name == b"authorization"]
                auth = given[0].decode("latin-1") if len(given) == 1 else ""
                if len(given) > 1:  # which one is meant? (a proxy's and the client's, say): neither
                    scope["auth"], scope["state"]["auth_error"] = "invalid", AmbiguousCredentials()
                elif auth.lower().startswith("bearer "):
                    token = auth[7:].strip()
                    # One read (and a rare update), on a connection without a session or a transaction: no
                    # BEGIN or ROLLBACK round trips, and none of a session's bookkeeping on every request.
                    async with self.engine.connect() as conn:
                        await conn.execution_options(isolation_level="AUTOCOMMIT")
                        now, found = await actor_for_token(conn, token, self.clock)
                    # The request's instant (trading.web.make_act), read once: a bid's path saves a round trip.
                    scope["state"]["now"] = now
                    # An invalid or expired token is an error, not a silent downgrade to the public.
                    if isinstance(found, Actor):
                        scope["user"], scope["auth"] = found, "token"
                    else:
                        scope["auth"], scope["state"]["auth_error"] = "invalid", found or TokenNotValid()
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
