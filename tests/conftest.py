"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

Each backend gets a fresh database, migrated once per session; every test starts from empty tables (the
calendar seeded by migration is kept). PostgreSQL comes from ``TRADING_TEST_POSTGRES`` (default: the local
server); when it cannot be reached the PostgreSQL half is skipped with the reason shown — unless
``TRADING_TEST_REQUIRE_POSTGRES=1`` (as ``.ci/run`` sets), when the suite fails instead.
``TRADING_TEST_BACKENDS=sqlite`` runs one engine only.

The blob store is paired with the engine as it is deployed: SQLite with the local directory store (the embedded
default), PostgreSQL with S3 (a private SeaweedFS the session starts, tests/s3server.py), so every
blob-touching test runs on both stores. ``TRADING_TEST_BLOBS=local`` or ``=s3`` puts every test on one store.
Where SeaweedFS cannot start the PostgreSQL half falls back to the local store with a warning — unless
``TRADING_TEST_REQUIRE_S3=1`` (as ``.ci/run`` sets), when the suite fails instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
import pytest_asyncio
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bidding.opening_job import runner_of
from tests.dbproxy import DatabaseRelay
from trading.app import create_app
from trading.clock import FixedClock
from trading.db import DatabaseUnreachable
from trading.migrate import upgrade
from trading.schema import metadata
from trading.settings import Settings

PG_ADMIN_URL = os.environ.get("TRADING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_REQUIRED = os.environ.get("TRADING_TEST_REQUIRE_POSTGRES") == "1"
#: The engines to run on; .ci/shifted-dates takes SQLite alone (libfaketime moves its clock, not the server's).
BACKENDS = os.environ.get("TRADING_TEST_BACKENDS", "sqlite,postgresql").split(",")
KEEP_TABLES = {"calendar_days", "alembic_version"}
BLOBS = os.environ.get("TRADING_TEST_BLOBS", "paired")
S3_REQUIRED = os.environ.get("TRADING_TEST_REQUIRE_S3") == "1"

#: Monday 2 March 2026, 09:00 in Shanghai: a plain working day, clear of the holidays.
DEFAULT_NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_pg_database() -> str:
    dsn = _asyncpg_dsn(PG_ADMIN_URL)
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL not reachable at {make_url(PG_ADMIN_URL).render_as_string()}: {exc}"
        if PG_REQUIRED:
            pytest.fail(reason + " (TRADING_TEST_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    name = f"trading_test_{uuid.uuid4().hex[:12]}"
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return (
        make_url(PG_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    )


async def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest_asyncio.fixture(scope="session")
async def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "trading.db"
        url = f"sqlite+aiosqlite:///{path}"
        engine = create_async_engine(url)
        await upgrade(engine)
        await engine.dispose()
        yield url
        return
    url = await _create_pg_database()
    engine = create_async_engine(url)
    await upgrade(engine)
    await engine.dispose()
    yield url
    await _drop_pg_database(url)


async def _empty_tables(engine: AsyncEngine) -> None:
    """PostgreSQL: every table emptied and its ids restarted, and the calendar put back as the migrations left
    it (tests edit it).

    Only the tables the last tests wrote to are emptied: those holding rows, and those whose sequence has
    handed out a number since it was last restarted (a rolled-back insert leaves no row but moves it on). They
    are emptied with DELETE, with triggers off for the transaction (``session_replication_role``: the row
    triggers guarding append-only tables, and the foreign keys, since every table that holds a row is emptied
    at once). A TRUNCATE makes new files for each table and its indexes: emptying every table that way took a
    third of a second of every PostgreSQL test's setup, where a test's few rows go in milliseconds. A role that
    may not turn triggers off gets the TRUNCATE."""
    key = engine.url.render_as_string(hide_password=False)
    async with engine.begin() as conn:
        if key not in _MIGRATED_CALENDAR:
            rows = await conn.execute(text("SELECT day, kind, name FROM calendar_days ORDER BY day"))
            _MIGRATED_CALENDAR[key] = [dict(r._mapping) for r in rows]
            _CALENDAR_FINGERPRINTS[key] = await conn.scalar(text(_CALENDAR_FINGERPRINT))
            _SEQUENCES[key] = {r.sequence: r.table for r in await conn.execute(text(_SEQUENCE_OWNERS))}
            _SUPERUSER[key] = bool(
                await conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
            )
        written = set(await conn.scalars(text(_WRITTEN_TABLES)))
        used = [name for name in await conn.scalars(text(_USED_SEQUENCES)) if name in _SEQUENCES[key]]
        written = (written | {_SEQUENCES[key][name] for name in used}) - KEEP_TABLES
        if written and _SUPERUSER[key]:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in sorted(written):
                await conn.execute(text(f"DELETE FROM {table}"))
            for name in used:
                await conn.execute(text(f"ALTER SEQUENCE {name} RESTART"))
        elif written:
            await conn.execute(text(f"TRUNCATE {', '.join(sorted(written))} RESTART IDENTITY CASCADE"))
        if await conn.scalar(text(_CALENDAR_FINGERPRINT)) != _CALENDAR_FINGERPRINTS[key]:
            await conn.execute(text("DELETE FROM calendar_days"))
            await conn.execute(
                text("INSERT INTO calendar_days (day, kind, name) VALUES (:day, :kind, :name)"),
                _MIGRATED_CALENDAR[key],
            )


#: Of each PostgreSQL test database: the calendar rows as first seen (straight after its migrations) and their
#: fingerprint, which table owns each sequence, and whether the role may turn triggers off.
_MIGRATED_CALENDAR: dict[str, list[dict[str, Any]]] = {}
_CALENDAR_FINGERPRINTS: dict[str, str] = {}
_SEQUENCES: dict[str, dict[str, str]] = {}
_SUPERUSER: dict[str, bool] = {}
_SEQUENCE_OWNERS = (
    "SELECT s.relname AS sequence, t.relname AS table FROM pg_class s"
    " JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid"
    " AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
    " JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S'"
)
_USED_SEQUENCES = "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
_CALENDAR_FINGERPRINT = "SELECT md5(coalesce(string_agg(c::text, ',' ORDER BY c.day), '')) FROM calendar_days c"
#: The tables (other than those kept) that hold a row, in one statement.
_WRITTEN_TABLES = " UNION ALL ".join(
    f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})"
    for t in metadata.sorted_tables
    if t.name not in KEEP_TABLES
)


@pytest.fixture
def test_database_url(database_url: str, tmp_path: Path) -> str:
    """SQLite: a copy of the migrated template file for each test; PostgreSQL: the session's database."""
    if not database_url.startswith("sqlite"):
        return database_url
    template = Path(database_url.split("///", 1)[1])
    copy = tmp_path / "test.db"
    shutil.copyfile(template, copy)
    return f"sqlite+aiosqlite:///{copy}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DEFAULT_NOW)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """The S3 endpoint of the session's SeaweedFS (started on first use), or None where it cannot run."""
    from tests.s3server import SeaweedFS

    if os.environ.get("TRADING_TEST_S3"):
        yield os.environ["TRADING_TEST_S3"]
        return
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.start()
    except RuntimeError as exc:
        if S3_REQUIRED:
            pytest.fail(f"SeaweedFS for the S3 blob tests: {exc} (TRADING_TEST_REQUIRE_S3=1)")
        warnings.warn(f"SeaweedFS did not start, the S3 half runs on the local store: {exc}", stacklevel=1)
        yield None
        return
    yield server.endpoint
    server.stop()


def blob_store_for(backend: str) -> str:
    if BLOBS in ("local", "s3"):
        return BLOBS
    return "s3" if backend == "postgresql" else "local"


@pytest.fixture
def blob_settings(backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The blob-store settings for this test: the local directory, or a fresh prefix in the session's bucket."""
    from tests.s3server import BUCKET

    if blob_store_for(backend) != "s3":
        return {}
    endpoint = request.getfixturevalue("s3_endpoint")
    if endpoint is None:
        return {}
    return {
        "blob_store": "s3",
        "s3_endpoint": endpoint,
        "s3_bucket": BUCKET,
        "s3_prefix": f"t-{uuid.uuid4().hex[:12]}",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
        "s3_timeout": 5.0,
    }


@pytest.fixture
def settings(test_database_url: str, tmp_path: Path, blob_settings: dict[str, Any]) -> Settings:
    return Settings(
        **blob_settings,
        database_url=test_database_url,
        blob_dir=str(tmp_path / "blobs"),
        signing_key_path=str(tmp_path / "key.pem"),
        cookie_secure=False,
        password_memory_cost=1024,
        password_iterations=1,
        pool_size=3,
        base_url="http://testserver.local",
        # Tests move their clocks by weeks; tokens outlive them (tests/api/test_sign_in.py checks expiry).
        token_lifetimes="admin=3650,opener=3650,evaluator=3650,supervisor=3650,staff=3650,bidder=3650",
        # The opening's arithmetic in a thread: a process per test app would cost a second each to start
        # (tests/bidding/test_opening_job.py runs it in processes).
        opening_processes=0,
    )


@pytest_asyncio.fixture
async def app(settings: Settings, clock: FixedClock) -> AsyncIterator[Litestar]:
    application = create_app(settings, clock=clock)
    engine: AsyncEngine = application.state.engine
    if engine.dialect.name == "postgresql":
        try:
            await _empty_tables(engine)
        except DatabaseUnreachable as exc:
            # Once in a CI run, on two busy cores, the local server did not answer a new connection within
            # CONNECT_TIMEOUT. The emptying is the test's preparation, not what it tests: once more, loudly.
            warnings.warn(f"the test database did not answer ({exc}); emptying it again", stacklevel=1)
            await engine.dispose()
            await _empty_tables(engine)
    yield application
    # An opening job a test's upload started runs on in the test's loop (no lifespan runs the workers' loops here).
    await runner_of(application.state).settle()
    runner_of(application.state).drop_pool()
    await application.state.live.stop()  # the listener and streams a test started
    await engine.dispose()


@pytest_asyncio.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the real app over ASGI, in the test's own event loop."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


@pytest_asyncio.fixture
async def db(app: Litestar) -> AsyncIterator[Any]:
    """A session of the app's own, for arranging data and checking what the database holds."""
    async with app.state.sessionmaker() as session:
        yield session


#: The outage app's settings.database_timeout.
OUTAGE_DATABASE_TIMEOUT = 2.0


@dataclass
class Outage:
    """An app whose database connections pass through a relay the test can cut (tests/dbproxy.py)."""

    app: Litestar
    client: httpx.AsyncClient
    relay: DatabaseRelay
    #: The database itself, not through the relay (for the test's own look at it).
    database_url: str


@pytest_asyncio.fixture
async def outage(backend: str, settings: Settings, clock: FixedClock) -> AsyncIterator[Outage]:
    """PostgreSQL only (SQLite is a file inside the process: it has no outage of this kind)."""
    if backend != "postgresql":
        pytest.skip("a database outage is a PostgreSQL matter")
    url = make_url(settings.database_url)
    relay = DatabaseRelay(url.host or "127.0.0.1", url.port or 5432)
    await relay.start()
    # A statement unanswered for 2 s gives up (a frozen relay: tests/api/test_database_outage.py).
    through_relay = msgspec.structs.replace(
        settings, database_url=relay.url_for(settings.database_url), database_timeout=OUTAGE_DATABASE_TIMEOUT
    )
    application = create_app(through_relay, clock=clock)
    await _empty_tables(application.state.engine)
    transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield Outage(application, c, relay, settings.database_url)
    await application.state.live.stop()
    await application.state.engine.dispose()
    await relay.cut()
