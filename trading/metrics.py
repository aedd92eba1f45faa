"""Prometheus metrics: what the platform counts and times, and the guarded ``/metrics`` route that shows them.

Counters and histograms are kept in the process that sees the event. With several workers
(``trading serve --workers N``) each process writes its figures to files under ``PROMETHEUS_MULTIPROC_DIR``
(which the serve command makes empty at start) and a scrape, answered by whichever worker gets it, adds them
up; a worker that died is marked so, and its live gauges drop out. What the database knows — the log's size and
backlog, the openings under way — is read at scrape time instead, so every worker tells the same figure.

No label carries an id, a name or anything a person typed: routes are templates, refusals their codes.
docs/operations.md lists every metric.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from trading.errors import Forbidden
from trading.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: Seconds: from a quick read to a slow page, and an upload's long tail.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

HTTP_REQUESTS = Counter(
    "trading_http_requests_total",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "trading_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
BIDS_RECEIPTED = Counter("trading_bids_receipted_total", "Bids committed and given a signed receipt")
BIDS_REFUSED = Counter(
    "trading_bids_refused_total",
    "Bid submission steps (begin, upload, complete) refused, by the refusal's code",
    ["code"],
)
UPLOAD_BYTES = Counter(
    "trading_upload_bytes_total",
    "Bytes received into storage: bid ciphertexts (resumable uploads) and other blobs (attachments, sealed prices)",
    ["kind"],
)
SCHEDULER_LAG = Histogram(
    "trading_scheduler_close_lag_seconds",
    "How long after its bid deadline a section was closed by the scheduler",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0),
)
OPENING_SHARE_UPLOADS = Counter("trading_opening_share_uploads_total", "Openers' signed share uploads accepted")
OPENINGS_COMPLETED = Counter(
    "trading_openings_completed_total", "Openings ended: opened (record published) or failed", ["outcome"]
)
OPENING_JOB_FAILURES = Counter(
    "trading_opening_job_failures_total",
    "Opening job attempts that failed (the job is retried once its lease lapses), by the exception's type",
    ["error"],
)
BLOB_SECONDS = Histogram(
    "trading_blob_store_seconds",
    "Blob-store calls, by backend and operation (streams: until the first chunk)",
    ["backend", "operation"],
    buckets=LATENCY_BUCKETS,
)
BLOB_ERRORS = Counter(
    "trading_blob_store_errors_total",
    "Blob-store calls that failed because of the store (unavailable, full, other), by backend and operation",
    ["backend", "operation", "error"],
)
DB_POOL_CHECKED_OUT = Gauge(
    "trading_db_pool_checked_out", "Database connections in use (all live workers)", multiprocess_mode="livesum"
)
DB_POOL_SIZE = Gauge(
    "trading_db_pool_size",
    "Database connections held open by the pools (all live workers)",
    multiprocess_mode="livesum",
)

LIVE_STREAMS = Gauge(
    "trading_live_streams",
    "Event streams open (opening halls), all live workers",
    multiprocess_mode="livesum",
)
LIVE_LISTENERS = Gauge(
    "trading_live_listeners_connected",
    "Workers whose LISTEN connection to PostgreSQL is up (one per worker; 0 on SQLite)",
    multiprocess_mode="livesum",
)
LIVE_NOTIFICATIONS = Counter("trading_live_notifications_total", "Change notifications heard by the listeners")
LIVE_READS = Counter(
    "trading_live_reads_total",
    "Reads of a watched page's state for its event streams (one per change per worker, shared by its viewers)",
)


class Reading(NamedTuple):
    """A gauge read from the database at scrape time."""

    name: str
    help: str
    value: float
    labels: dict[str, str] = {}


#: Reads gauges from the database (the app factory lists them: each package reads its own tables).
Reader = Callable[[AsyncSession, datetime], Awaitable[list[Reading]]]


async def log_readings(session: AsyncSession, now: datetime) -> list[Reading]:
    """The transparency log: its size, its queue, and how long the oldest queued entry has waited."""
    from trading.log.models import LogEntry
    from trading.log.services import tree_size

    queued, oldest = (
        await session.execute(select(func.count(), func.min(LogEntry.created_at)).where(LogEntry.leaf_index.is_(None)))
    ).one()
    lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return [
        Reading("trading_log_size", "Entries in the transparency log's tree", await tree_size(session)),
        Reading("trading_log_queued_entries", "Entries committed but not yet in the tree", queued or 0),
        Reading("trading_log_integration_lag_seconds", "How long the oldest queued entry has waited for the tree", lag),
    ]


def sample_pool(engine: AsyncEngine) -> None:
    """This worker's pool, as gauges (a pool that keeps no count — SQLite in memory — is left out)."""
    pool = engine.sync_engine.pool
    checked_out, size = getattr(pool, "checkedout", None), getattr(pool, "size", None)
    if callable(checked_out) and callable(size):
        DB_POOL_CHECKED_OUT.set(checked_out())
        DB_POOL_SIZE.set(size())


def count_upload_bytes(kind: str, size: int) -> None:
    if size > 0:
        UPLOAD_BYTES.labels(kind).inc(size)


# --- who may scrape ------------------------------------------------------------------------------------------


class NotAScraper(Forbidden):
    code = "metrics_forbidden"

    def __init__(self) -> None:
        super().__init__(
            "只有设置允许的监控系统可以读取运行指标（metrics_allow / metrics_token）",
            "Only the scrapers the settings allow may read the metrics (metrics_allow / metrics_token)",
        )


def may_scrape(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> bool:
    """From an allowed address (after trusted_proxies), or with the metrics bearer token."""
    host = connection.client.host if connection.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and any(address in network for network in settings.metrics_networks()):
        return True
    token = settings.metrics_bearer()
    given = connection.headers.get("authorization", "")
    return bool(token) and given[:7].lower() == "bearer " and hmac.compare_digest(given[7:].strip(), token)


def check_scraper(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    if not may_scrape(connection, connection.app.state.settings):
        raise NotAScraper()


# --- the scrape ----------------------------------------------------------------------------------------------


class _Readings:
    def __init__(self, readings: Iterable[Reading]) -> None:
        self.readings = list(readings)

    def collect(self) -> Iterator[Metric]:
        families: dict[str, GaugeMetricFamily] = {}
        for r in self.readings:
            family = families.get(r.name)
            if family is None:
                family = families[r.name] = GaugeMetricFamily(r.name, r.help, labels=sorted(r.labels))
            family.add_metric([r.labels[k] for k in sorted(r.labels)], r.value)
        return iter(families.values())


class _ThisProcess:
    def collect(self) -> Iterator[Metric]:
        return iter(REGISTRY.collect())


def mark_dead_workers(folder: Path) -> None:
    """Drop the live gauges of worker processes that are gone (a worker killed and replaced, say)."""
    tails = {p.stem.rsplit("_", 1)[-1] for p in folder.glob("gauge_live*_*.db")}
    pids = {int(tail) for tail in tails if tail.isdigit()}
    for pid in pids - {os.getpid()}:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(folder))
        except PermissionError:  # alive, someone else's (a reused pid): leave it
            continue


async def _database_readings(request: Request[Any, Any, Any]) -> list[Reading]:
    state = request.app.state
    readings: list[Reading] = []
    started = time.monotonic()
    try:
        async with asyncio.timeout(state.settings.ready_timeout):
            async with state.sessionmaker() as session:
                now = await state.clock.now(session)
                for reader in state.metric_readers:
                    readings += await reader(session, now)
        up = 1.0
    except Exception:  # the scrape still answers: the process's own figures, and that the database did not
        readings, up = [], 0.0
    readings.append(Reading("trading_database_up", "Whether the database answered this scrape's reads", up))
    readings.append(
        Reading(
            "trading_database_read_seconds", "How long this scrape's database reads took", time.monotonic() - started
        )
    )
    return readings


@get("/metrics", operation_id="getMetrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The platform's metrics in Prometheus's text format, for the scrapers the settings allow."""
    sample_pool(request.app.state.engine)
    readings = await _database_readings(request)
    registry = CollectorRegistry(auto_describe=False)
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        mark_dead_workers(Path(folder))
        multiprocess.MultiProcessCollector(registry, folder)
    else:
        registry.register(_ThisProcess())  # type: ignore[arg-type]
    registry.register(_Readings(readings))  # type: ignore[arg-type]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


#: The steps of a bid submission whose refusals are counted by code.
BID_ROUTES = frozenset({"beginBidSubmission", "uploadCiphertext", "completeUpload"})


async def count_bid_refusal(exc: Exception, scope: Any) -> None:
    """The app's after-exception hook: a refused bid step, counted by the refusal's code."""
    from litestar.exceptions import HTTPException

    from trading.errors import DomainError

    if getattr(scope.get("route_handler"), "operation_id", None) not in BID_ROUTES:
        return
    if isinstance(exc, DomainError):
        code = exc.code
    elif isinstance(exc, HTTPException):
        code = f"http_{exc.status_code}"
    else:
        code = "internal_error"
    BIDS_REFUSED.labels(code).inc()
