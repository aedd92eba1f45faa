"""Database plumbing: the declarative base, column types that behave the same on SQLite and PostgreSQL,
the engine and the per-request session, and what counts as the database being unavailable."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.base import Executable
from sqlalchemy.types import TypeDecorator

from trading.errors import Conflict, InvalidInput, ServiceUnavailable
from trading.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

#: JSON documents: JSONB on PostgreSQL, JSON text on SQLite.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC on both engines.

    SQLite has no time zones; PostgreSQL's ``timestamptz`` has. Naive datetimes are refused rather than
    guessed at, because a deadline off by eight hours is a lost bid.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: Seconds a client is asked to wait after an outage: a restart or a failover takes about that long.
DATABASE_RETRY_AFTER = 3
#: Seconds to wait for a new connection (asyncpg's default is 60): a request then fails, and is answered 503,
#: well within a client's timeout when the server does not answer at all.
CONNECT_TIMEOUT = 10
#: A connection this old is replaced when it is next taken after lying idle (IDLE_PING_AFTER), in place of the
#: ping: a server backend does not live for ever (its caches grow; a changed server setting reaches the pool),
#: and a busy pool never trades its warm connections — their statements prepared and planned — for new ones.
#: SQLAlchemy's own pool_recycle replaced every connection at checkout once it was 30 minutes old, whatever the
#: load: a pool opened at one moment was replaced all at once, even in a deadline storm, which then ran as a
#: cold one (bench/bids.py: p99 0.64–0.9 s instead of 0.45 s).
MAX_CONNECTION_AGE = 1800.0
#: A connection that sat in the pool longer than this is pinged as it is checked out (one that a firewall dropped
#: silently is then replaced before the request uses it). A busy pool's connections are never that idle, so the
#: deadline storm pays no round trip per checkout; one the server closed is seen closed without a ping; one
#: broken unseen while busy fails its statement, is invalidated with the rest of the pool, and the request is
#: answered 503 (is_database_outage) and retried.
IDLE_PING_AFTER = 10.0
#: SQLSTATEs that say the server cannot serve just now: a connection exception (class 08), an operator
#: intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now: a restart or a
#: failover), too many connections (53300), and a read-only transaction (25006: a standby answering after a
#: failover, before the client reaches the new primary).
_OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "25006")


class DatabaseUnreachable(ConnectionError):
    """No connection to the database could be opened (refused, timed out, no route): raised at connect in
    place of the bare OSError, which could otherwise not be told from any other I/O error."""


class DatabaseUnavailable(ServiceUnavailable):
    """The database is not answering (a restart, a failover, connections lost): what the request did was not
    committed, or — when the connection broke during the commit — may have been; every step that can be
    retried finds it then (deploy/README.md, "When the database goes away")."""

    code = "database_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "数据库暂时无法访问，请稍后重试",
            "The database cannot be reached just now: try again shortly",
            retry_after=DATABASE_RETRY_AFTER,
        )
        self.headers["Cache-Control"] = "no-store"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """*exc* and everything that caused it: its cause, its context and a driver error it wraps, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__, getattr(current, "orig", None)]


def is_database_outage(exc: BaseException) -> bool:
    """Whether *exc* (or what caused it) says the database is unreachable or lost the connection, as opposed
    to refusing the statement (a constraint, a bug), which a retry would not cure."""
    return any(_says_outage(current) for current in _chain(exc))


def _says_outage(current: BaseException) -> bool:
    if isinstance(current, DatabaseUnreachable | sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # (sqlalchemy's TimeoutError: no connection free in the pool in time)
    if isinstance(current, TimeoutError) and _raised_in_driver(current):
        return True  # no answer within settings.database_timeout (asyncpg's command_timeout)
    if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
        return True
    if isinstance(current, sqlite3.OperationalError) and "database is locked" in str(current):
        return True  # SQLite busy past its timeout (another writer held it): a retry later succeeds
    sqlstate = getattr(current, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES)


def _raised_in_driver(exc: BaseException) -> bool:
    return any("/asyncpg/" in frame.filename for frame in traceback.extract_tb(exc.__traceback__))


def is_argument_out_of_range(exc: BaseException) -> bool:
    """Whether *exc* is the driver refusing a statement's argument as too large for its column's type (a number
    from the request past a 32- or 16-bit column: asyncpg's DataError, caused by an OverflowError, raised before
    anything is sent). Request checks bound every number to 64 bits (trading.input_checks); a few columns
    (a notice's version, an opener's position) are narrower."""
    chain = list(_chain(exc))
    return any(
        type(current).__module__.startswith("asyncpg") and type(current).__name__ == "DataError" for current in chain
    ) and any(isinstance(current, OverflowError) for current in chain)


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether *exc* (or what caused it) is PostgreSQL's 55P03: a lock not had within ``lock_timeout``."""
    return any(getattr(current, "sqlstate", None) == "55P03" for current in _chain(exc))


#: SQLite's names for a unique constraint's refusal (sqlite3.IntegrityError.sqlite_errorname).
_SQLITE_UNIQUE = ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")


def is_unique_violation(exc: BaseException) -> bool:
    """Whether *exc* (or what caused it) is a unique constraint's refusal: PostgreSQL's 23505, SQLite's
    SQLITE_CONSTRAINT_UNIQUE or _PRIMARYKEY. Where a service checks and then inserts, two requests doing the same
    at once both pass the check and the second's insert meets the first's row."""
    return any(
        getattr(current, "sqlstate", None) == "23505"
        or (isinstance(current, sqlite3.IntegrityError) and getattr(current, "sqlite_errorname", "") in _SQLITE_UNIQUE)
        for current in _chain(exc)
    )


class ArgumentOutOfRange(InvalidInput):
    """A number in the request too large for what it names here (is_argument_out_of_range)."""

    code = "number_out_of_range"

    def __init__(self) -> None:
        super().__init__(
            "请求中的数值超出此处允许的范围（没有这样的记录），请检查编号或数量",
            "A number in the request is out of the range it can take here (no such record exists): check the id or "
            "count",
        )


class ConcurrentChange(Conflict):
    """The same change made by two requests at once: the one that committed first stands, the other is
    refused and changed nothing (the database's unique constraint decided)."""

    code = "concurrent_change"

    def __init__(self) -> None:
        super().__init__(
            "另一请求刚刚做了同样的操作，以先提交者为准；本次未作任何更改，请刷新后查看",
            "Another request has just made the same change, and the first to commit stands; this one changed "
            "nothing — reload to see it",
        )


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def make_engine(settings: Settings, *, pool_size: int | None = None, overflow: int | None = None) -> AsyncEngine:
    """Create the engine for *settings*; SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL a pool
    that replaces dead connections by itself (a restarted server, a failover) and a bounded connect."""
    # hide_parameters: a database error's message then never quotes a statement's values (receipts, salts,
    # token hashes) — whoever logs it. echo_sql, for a developer's own machine, shows them.
    kwargs: dict[str, Any] = {"echo": settings.echo_sql, "hide_parameters": not settings.echo_sql}
    # JSON columns written and read back with msgspec: the same values as json.dumps and json.loads for what the
    # platform writes, a few times faster (an opening writes and reads a few JSON columns of each of thousands of
    # bids). The text may differ from json.dumps' (no spaces; 1e16 for 1e+16): the database keeps the value.
    kwargs["json_serializer"] = _json_text
    kwargs["json_deserializer"] = msgspec.json.decode
    if settings.is_sqlite:
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_size"] = pool_size or settings.pool_size
        configured = kwargs["pool_size"] if settings.pool_overflow < 0 else settings.pool_overflow
        kwargs["max_overflow"] = overflow if overflow is not None else configured
        # command_timeout: a statement with no answer in time raises TimeoutError (is_database_outage: a 503).
        kwargs["connect_args"] = {"timeout": CONNECT_TIMEOUT, "command_timeout": settings.database_timeout or None}
    engine = create_async_engine(settings.database_url, **kwargs)
    if settings.is_sqlite:
        _tune_sqlite(engine)
        # aiosqlite logs every statement with its values at DEBUG: never let a DEBUG root logger print them.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
    else:
        _name_connect_failures(engine)
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """pool_pre_ping, only for connections idle longer than IDLE_PING_AFTER; those older than
    MAX_CONNECTION_AGE are replaced instead."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "connect")
    def _connected(_dbapi_conn: Any, record: Any) -> None:
        record.info["connected"] = time.monotonic()

    @event.listens_for(pool, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["checked_in"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        # A connection the server closed (a restart, a failover, pg_terminate_backend) says so without a round
        # trip: its socket saw the end. The pool replaces it, and the request never sees it.
        raw = getattr(dbapi_conn, "_connection", None)
        if raw is not None and raw.is_closed():
            raise sa_exc.DisconnectionError("closed by the server")
        since, now = record.info.get("checked_in"), time.monotonic()
        if since is None or now - since < IDLE_PING_AFTER:
            return
        if now - record.info.get("connected", now) > MAX_CONNECTION_AGE:
            raise sa_exc.DisconnectionError("replaced: old enough, and idle")  # the pool opens a new one
        try:
            alive = dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool replaces the connection and tries again
            raise sa_exc.DisconnectionError(type(exc).__name__) from exc
        if not alive:
            raise sa_exc.DisconnectionError("ping failed")


def _name_connect_failures(engine: AsyncEngine) -> None:
    # asyncpg raises the socket's own error when it cannot connect (the server's refusals — starting up, too
    # many connections — come wrapped as database errors with a SQLSTATE, and need nothing here).
    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as exc:  # TimeoutError included
            raise DatabaseUnreachable(type(exc).__name__) from exc


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()


async def without_transaction(session: AsyncSession) -> AsyncConnection:
    """Run *session*'s next statements each on its own (autocommit): reads that need no common snapshot, and a
    write that stands alone, save the BEGIN and the COMMIT or ROLLBACK round trips — three of a bid's few. Call
    it before the session's first statement; its next commit or rollback gives the connection back to the pool
    with the usual isolation, and the session's following statements run in a transaction again. Returns the
    session's connection (for a ``Lean`` statement)."""
    return await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


#: Statements of the deadline storm's path (``Lean(…, hot=True)``), which a server's worker prepares and plans on
#: every connection of its pool before it takes requests (warm_pool).
_HOT: list[Lean] = []
#: Runs of each hot statement on each connection at startup: PostgreSQL plans a prepared statement afresh for its
#: first five runs, and at the sixth weighs a generic plan, which it keeps from then on.
WARM_RUNS = 6
#: Seconds the warming may take before the worker starts without the rest of it (a slow or absent database).
WARM_TIMEOUT = 10.0
#: What a hot statement's parameters are given when it is warmed, by the parameter's Python type: ids that name
#: no row (the statements' gates then hold for nothing, and nothing is written), and values of the right type.
_PLACEHOLDERS: dict[type, Any] = {
    int: -1,
    float: -1.0,
    str: "-",
    bytes: b"-",
    bool: False,
    dict: {},
    list: [],
    datetime: datetime(2000, 1, 1, tzinfo=UTC),
}


class Lean:
    """A Core statement on a hot path (every API request's token, every bid's checks), run without SQLAlchemy's
    execution machinery, which cost several times the statement itself (~70 µs of CPU against ~16 µs on asyncpg).

    On PostgreSQL it is compiled once to SQL and run straight on the asyncpg connection under the SQLAlchemy
    connection given (asyncpg keeps it prepared), inside that connection's transaction — begun first if it is
    not yet, as SQLAlchemy's own cursor would — or on its own under ``without_transaction``. Elsewhere it runs
    through the connection as usual. Parameters go through their types as SQLAlchemy would send them (JSON
    encoded, UTC datetimes checked); rows come back as mappings of the driver's values — no type decorator
    reads them, so its columns are plain ones (numbers, text, bytes, timestamps with their zone; JSON decoded).
    A lost connection is invalidated, as SQLAlchemy would, and raised as ``DatabaseUnreachable``; a refused
    statement as SQLAlchemy's own error (``IntegrityError``, …), its values never quoted.

    A *hot* statement — one every bid of a deadline storm runs — is warmed on each of a server worker's
    connections at its startup (warm_pool). It must write nothing when its ids name no row.
    """

    __slots__ = ("_defaults", "_names", "_processing", "_sql", "statement")

    def __init__(self, statement: Executable, *, hot: bool = False) -> None:
        if hot:
            _HOT.append(self)
        self.statement = statement
        self._sql: str | None = None
        self._names: tuple[str, ...] = ()
        self._defaults: dict[str, Any] = {}  # the statement's own values (its literals)
        # (position, processor) of the parameters whose type processes them (JSON encoded, UTC checked)
        self._processing: tuple[tuple[int, Any], ...] = ()

    async def rows(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
        if conn.dialect.name != "postgresql":
            return (await conn.execute(self.statement, dict(params))).mappings().all()
        args = self._args(conn, params)
        return await self._run(conn, lambda driver: driver.fetch(self._sql, *args))

    async def first(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        rows = await self.rows(conn, params)
        return rows[0] if rows else None

    async def copy_many(self, conn: AsyncConnection, params: Sequence[Mapping[str, Any]]) -> None:
        """The statement — an ``INSERT INTO table VALUES (…)`` whose parameters are the table's column names — once
        for each of *params*, returning nothing: on PostgreSQL the rows go in by COPY (binary, one message stream),
        the server storing a batch of thousands in a fraction of what as many INSERTs cost it, without SQLAlchemy's
        parameters built for each row; elsewhere as one executemany through SQLAlchemy."""
        if not params:
            return
        if conn.dialect.name != "postgresql":
            await conn.execute(self.statement, [dict(p) for p in params])
            return
        records = [tuple(self._args(conn, p)) for p in params]
        table = self.statement.table  # type: ignore[attr-defined]
        columns = list(self._names)
        if not all(name in table.c for name in columns):
            raise ValueError(f"COPY needs the parameters named for {table.name}'s columns, not {columns}")
        await self._run(conn, lambda driver: driver.copy_records_to_table(table.name, records=records, columns=columns))

    def placeholders(self, dialect: Any) -> dict[str, Any]:
        """Parameters for warming the statement: each of its parameters given a placeholder of its type
        (_PLACEHOLDERS), ids that name no row."""
        compiled = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        values = {}
        for name in compiled.positiontup or ():
            if not compiled.binds[name].required:
                continue  # the statement's own value (a literal), as _args gives it
            try:
                python_type = compiled.binds[name].type.python_type
            except NotImplementedError:
                python_type = type(None)
            values[name] = _PLACEHOLDERS.get(python_type)
        return values

    def _args(self, conn: AsyncConnection, params: Mapping[str, Any]) -> list[Any]:
        """*params* as the driver takes them: in the compiled statement's order, through their types' processors."""
        if self._sql is None:
            compiled = self.statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
            self._names = tuple(compiled.positiontup or ())
            self._defaults = {n: b.effective_value for n, b in compiled.binds.items() if not b.required}
            processors = (
                compiled.binds[n].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for n in self._names
            )
            self._processing = tuple((i, p) for i, p in enumerate(processors) if p is not None)
            self._sql = compiled.string
        defaults = self._defaults
        args = [params[n] if n in params else defaults[n] for n in self._names]
        for i, process in self._processing:
            args[i] = process(args[i])
        return args

    async def _run(self, conn: AsyncConnection, call: Callable[[Any], Awaitable[Any]]) -> Any:
        """*call* with the asyncpg connection under *conn*, in its transaction; errors as SQLAlchemy's."""
        adapter = (await conn.get_raw_connection()).dbapi_connection
        try:
            # SQLAlchemy's asyncpg adapter (its private parts, pinned with SQLAlchemy's version): BEGIN unless
            # autocommit or begun already, then the statement on the asyncpg connection it wraps.
            if adapter._transaction is None:
                await adapter._start_transaction()
            return await call(adapter._connection)
        except Exception as exc:
            try:
                adapter._handle_exception(exc)  # raises the DBAPI error SQLAlchemy would
            except Exception as translated:
                if conn.dialect.is_disconnect(translated, adapter, None):
                    await conn.invalidate(translated)
                    raise DatabaseUnreachable(type(exc).__name__) from translated
                dbapi = conn.dialect.loaded_dbapi
                if not isinstance(translated, dbapi.Error):
                    raise
                # As SQLAlchemy wraps it (sqlalchemy.exc.IntegrityError, …), the values never quoted.
                raise sa_exc.DBAPIError.instance(
                    self._sql, None, translated, dbapi.Error, hide_parameters=True, dialect=conn.dialect
                ) from translated
            raise


async def warm_pool(engine: AsyncEngine, *, runs: int = WARM_RUNS) -> int:
    """PostgreSQL: open every connection of *engine*'s pool and run each hot statement on each *runs* times with
    placeholders that name no row, so that a deadline storm that meets a just-started worker meets it warm: its
    connections open, the statements compiled once and prepared on each, and PostgreSQL's generic plans made
    (bench/bids.py, the first storm after a start: 177–226 bids/s and 2.5–2.7 ms of PostgreSQL's CPU a bid before,
    271–281/s and 1.9–2.1 ms warmed, 0.8–0.9 of a warm storm's rate). Nothing is written. Returns
    the number of connections warmed; on SQLite, or if the database cannot be reached within WARM_TIMEOUT, fewer
    (the worker starts anyway, and its first requests warm their connections as before)."""
    if engine.dialect.name != "postgresql" or not _HOT:
        return 0
    size = engine.sync_engine.pool.size()  # type: ignore[attr-defined]
    statements = [(lean, lean.placeholders(engine.dialect)) for lean in _HOT]
    warmed = 0

    async def one() -> None:
        nonlocal warmed
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for lean, params in statements:
                for _ in range(runs):
                    await lean.rows(conn, params)
        warmed += 1

    try:
        async with asyncio.timeout(WARM_TIMEOUT):
            await asyncio.gather(*(one() for _ in range(size)))
    except (TimeoutError, OSError, sa_exc.SQLAlchemyError, ServiceUnavailable) as exc:
        logging.getLogger(__name__).warning("the pool was not warmed: %s", type(exc).__name__)
    return warmed


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session per request: commit when the handler succeeds, roll back when it raises.

    The commit happens before the response is sent, so a client never hears of a change that is not
    durable.
    """
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
