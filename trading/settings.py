"""Settings: read once from the environment (and an optional TOML file) into a frozen struct."""

from __future__ import annotations

import ipaddress
import os
import socket
import tomllib
from pathlib import Path
from typing import Any

import msgspec

ENV_PREFIX = "TRADING_"
SECRET_FIELDS = frozenset({"s3_secret_access_key", "metrics_token", "live_listen_url"})


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the service needs to know about where it runs.

    Build one with :func:`load_settings` (environment and TOML) or directly in tests.
    """

    #: SQLAlchemy URL. SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) in production.
    database_url: str = "sqlite+aiosqlite:///./var/trading.db"
    #: Where attachments and bid ciphertexts are stored: "local" (files under ``blob_dir``, one app host) or
    #: "s3" (an S3-compatible bucket several app hosts share; the s3_* settings). docs/operations.md.
    blob_store: str = "local"
    #: The local blob store's directory (with blob_store = "local").
    blob_dir: str = "./var/blobs"
    #: The S3 bucket, its endpoint (empty: AWS), region and a key prefix inside the bucket.
    s3_bucket: str = ""
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"
    s3_prefix: str = ""
    #: S3 credentials: from the environment (TRADING_S3_ACCESS_KEY_ID, TRADING_S3_SECRET_ACCESS_KEY) or the
    #: secret from a file (``s3_secret_access_key_file``, e.g. a container secret); never from the repository.
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_secret_access_key_file: str = ""
    #: Seconds a stalled S3 read or connection may take before the request fails with 503 (retry).
    s3_timeout: float = 20.0
    #: Blobs no row references, uploads that can no longer complete and the stores' temporary files are
    #: deleted once older than this many hours (never a blob a row references); checked every
    #: ``blob_gc_interval`` seconds by one worker at a time (0: only by `trading blobs gc`).
    blob_gc_grace_hours: float = 24.0
    blob_gc_interval: float = 3600.0
    #: A bid sent whole keeps each ciphertext of at most this many KiB in the database, written by the statement
    #: that accepts it (trading/blobs/inline.py; PostgreSQL only); larger ones go to the blob store. 0: none.
    inline_blob_max_kib: int = 1024
    #: Those ciphertexts are moved to the blob store once this many days old (by the garbage collection's round,
    #: and by `trading blobs gc`), so that the database holds a month's small bids, not every one ever made.
    #: 0: they stay in the database.
    inline_blob_keep_days: float = 30.0
    #: Display time zone; everything is stored in UTC.
    time_zone: str = "Asia/Shanghai"
    #: The platform's Ed25519 signing key (PEM, created on first use if missing).
    signing_key_path: str = "./var/platform-signing-key.pem"
    #: Name shown in the portal header.
    site_name: str = "湖南省公共资源交易平台"
    #: Public base URL, used in feeds and permanent links.
    base_url: str = "http://127.0.0.1:8000"
    #: Largest JSON request body accepted, in bytes.
    max_json_body: int = 1_000_000
    #: Largest attachment accepted, in bytes (streamed to the blob store, never held in memory).
    max_attachment_bytes: int = 512 * 1024 * 1024
    #: Secure flag on the portal session cookie (turn off only for plain-HTTP local demos).
    cookie_secure: bool = True
    #: Portal session lifetime in seconds.
    session_lifetime: int = 8 * 3600
    #: Failed sign-ins allowed within ``login_window`` seconds: for one account from one address (then that
    #: address waits; the owner elsewhere does not), and from one address over all accounts.
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    #: Failures on one account from all addresses together after which it counts as under attack: then only
    #: addresses it has signed in from before (within 90 days) may try, so a stranger cannot lock its owner out.
    login_max_failures_per_account: int = 50
    login_window: int = 900
    #: API token lifetimes in days, by role ("role=days,…"): a token lives as long as its holder's most
    #: restricted role allows (the smallest figure among the holder's roles).
    token_lifetimes: str = "admin=1,opener=7,evaluator=7,supervisor=30,staff=30,bidder=90"
    #: The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (comma-separated addresses
    #: or networks, e.g. "10.0.0.5" or "10.0.0.0/24"). Empty: none, and each client is the address it connects
    #: from. Never list an address clients can connect from directly: they could claim any address.
    trusted_proxies: str = ""
    #: Argon2id cost for password hashing (memory in KiB). Tests lower it; production keeps the default.
    password_memory_cost: int = 65536
    password_iterations: int = 3
    #: "system" (the database's clock) or an ISO datetime for a fixed clock (tests, reproducible demos).
    clock: str = "system"
    #: The transparency log's origin line (a schema-less URL naming this log; also the signing key's name).
    log_origin: str = "ggzy.hunan.example/log"
    #: Verifier keys (C2SP vkey strings, comma-separated) of the witnesses whose cosignatures are accepted.
    witness_keys: str = ""
    #: How often each worker tries to integrate queued log entries, in seconds.
    log_interval: float = 0.25
    #: The log's maximum merge delay, in whole seconds (1–3600: a verifier accepts at most an hour): every entry
    #: is in a signed checkpoint within this time of the act it records (served at /log/info, signed into every
    #: receipt; verifiers report a younger entry as pending, an older as missing).
    log_max_merge_delay: int = 60
    #: Log SQL statements (never in production: they carry data).
    echo_sql: bool = False
    #: The OCDS ocid prefix ("ocds-" and six characters, registered with the Open Contracting Partnership);
    #: a project's ocid is this prefix, a hyphen and its unified trade code.
    ocid_prefix: str = "ocds-hnggzy"
    #: The smallest evaluation panel (an odd number; 法 §37 and 87号令 §47 ask for five or more).
    min_evaluators: int = 5
    #: Connection pool size per worker (PostgreSQL).
    pool_size: int = 10
    #: Connections a worker may open beyond ``pool_size`` under load, each closed again once the burst is over
    #: (-1: as many as ``pool_size``). 0, the default, keeps the pool fixed: a burst queues for the pool's warm
    #: connections instead of starting server backends it drops a moment later (docs/operations.md, "Small bids").
    pool_overflow: int = 0
    #: Seconds a statement may wait for PostgreSQL's answer before the request gives up with 503
    #: ``database_unavailable`` (a database host that froze, or a network that drops packets without a reset,
    #: would otherwise hold every request forever). 0: wait as long as it takes. ``trading db upgrade`` never
    #: times out (a migration of a large table may take minutes).
    database_timeout: float = 30.0
    #: This app host's name in the logs (default: the machine's host name). docs/operations.md.
    instance_name: str = msgspec.field(default_factory=socket.gethostname)
    #: How the service logs: "json" (one JSON object a line, for a log collector: `trading serve`) or "text"
    #: (lines for people: `trading demo`). `trading serve --log-format` overrides it.
    log_format: str = "json"
    #: Who may read /metrics: addresses or networks, comma-separated ("127.0.0.1,10.0.0.0/8"), judged on the
    #: client's address after trusted_proxies. Default: this machine only. Empty: nobody by address.
    metrics_allow: str = "127.0.0.1,::1"
    #: A bearer token that lets a scraper read /metrics from any address (``Authorization: Bearer …``): from the
    #: environment (TRADING_METRICS_TOKEN) or a file (``metrics_token_file``); never from the repository.
    metrics_token: str = ""
    metrics_token_file: str = ""
    #: Seconds the uploads in flight may take to finish after SIGTERM (new ones are refused with 503 meanwhile)
    #: before the process exits.
    shutdown_grace: float = 30.0
    #: Seconds each /readyz check (database, blob store) may take before it counts as failed.
    ready_timeout: float = 3.0
    #: Live pages (the opening hall's event stream, docs/live.md): seconds between the one shared read of each
    #: watched section per worker when no LISTEN connection tells of changes — always on SQLite, on PostgreSQL
    #: only while the listener reconnects.
    live_poll_interval: float = 1.0
    #: Seconds between the comments an idle event stream sends, so that proxies keep it open (nginx's
    #: proxy_read_timeout is 300 s in deploy/nginx/trading-proxy.conf).
    live_heartbeat: float = 15.0
    #: The PostgreSQL URL of each worker's one LISTEN connection; empty: ``database_url``. Set it when the app
    #: reaches PostgreSQL through a pooler in transaction mode (PgBouncer's default), which cannot carry LISTEN.
    live_listen_url: str = ""
    #: The opening job (bidding.opening_job): bids opened and committed together, and how long a worker's claim on
    #: the job holds without renewal — after a crash, the job waits that long before another worker resumes it.
    opening_batch: int = 1000
    opening_lease: float = 30.0
    #: Seconds the openers have to upload their shares once staff start the opening (docs/envelope.md §10.2):
    #: fixed for each ceremony when it starts and published with it; never ends before k openers are in.
    share_window: float = 1800.0
    #: Processes beside each worker that do the opening's arithmetic, on other cores, each a part of every batch
    #: (0: a thread of the worker). They start when an opener's shares first reach the worker, or with its first
    #: opening job.
    opening_processes: int = 2

    def __post_init__(self) -> None:
        if self.blob_store not in ("local", "s3"):
            raise ValueError(f"blob_store: {self.blob_store!r} is neither 'local' nor 's3'")
        self.token_lifetime_days()  # refuse a malformed setting when it is read, not at the first sign-in
        if self.log_format not in ("json", "text"):
            raise ValueError(f"log_format: {self.log_format!r} is neither 'json' nor 'text'")
        self.metrics_networks()
        if self.opening_batch < 1 or self.opening_lease <= 0 or self.opening_processes < 0:
            raise ValueError(
                "opening_batch must be at least 1, opening_lease more than 0 seconds, opening_processes 0 or more"
            )
        if not 60 <= self.share_window <= 86400:
            raise ValueError("share_window must be between 60 seconds and one day (86400)")
        if self.pool_size < 1 or self.pool_overflow < -1:
            raise ValueError("pool_size must be at least 1, pool_overflow 0 or more (-1: as many as pool_size)")
        if not (isinstance(self.log_max_merge_delay, int) and 1 <= self.log_max_merge_delay <= 3600):
            raise ValueError("log_max_merge_delay must be whole seconds between 1 and 3600 (verifiers accept an hour)")
        if not 0 <= self.database_timeout <= 3600:
            raise ValueError("database_timeout must be between 0 (no limit) and 3600 seconds")
        if not 0 <= self.inline_blob_max_kib <= 16 * 1024:
            raise ValueError("inline_blob_max_kib must be between 0 and 16384 (a bid sent whole is at most 16 MiB)")
        if not 0 <= self.inline_blob_keep_days <= 3650:
            raise ValueError("inline_blob_keep_days must be between 0 (never moved) and 3650")

    def __repr__(self) -> str:  # whatever logs the settings never shows a secret
        shown = {
            f: ("***" if f in SECRET_FIELDS and getattr(self, f) else getattr(self, f)) for f in self.__struct_fields__
        }
        shown["database_url"] = masked_url(self.database_url)
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    @property
    def witness_vkeys(self) -> list[str]:
        """``witness_keys`` as a list of the witnesses' vkeys."""
        return [k.strip() for k in self.witness_keys.split(",") if k.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """``metrics_allow`` as networks (a bare address is a network of one)."""
        try:
            return [ipaddress.ip_network(p.strip(), strict=False) for p in self.metrics_allow.split(",") if p.strip()]
        except ValueError as exc:
            raise ValueError(f"metrics_allow: {exc}") from None

    def metrics_bearer(self) -> str:
        """The token that lets a scraper in from anywhere ('' for none): ``metrics_token_file`` wins."""
        if self.metrics_token_file:
            return Path(self.metrics_token_file).read_text(encoding="utf-8").strip()
        return self.metrics_token

    def token_lifetime_days(self) -> dict[str, int]:
        """``token_lifetimes`` as {role: days}."""
        from trading.context import ROLES

        lifetimes: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in self.token_lifetimes.split(","))):
            role, _, days = item.partition("=")
            if role.strip() not in ROLES or not days.strip().isdigit() or int(days) < 1:
                raise ValueError(f"token_lifetimes: {item!r} is not role=days (roles: {', '.join(ROLES)})")
            lifetimes[role.strip()] = int(days)
        return lifetimes


def load_settings(environ: dict[str, str] | None = None, toml_path: str | os.PathLike[str] | None = None) -> Settings:
    """Read settings from a TOML file (``TRADING_CONFIG`` or *toml_path*) and then ``TRADING_*`` variables.

    Environment variables win over the file. Unknown keys are refused so that a typo does not go unnoticed.
    """
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    path = toml_path or environ.get(ENV_PREFIX + "CONFIG")
    if path:
        with Path(path).open("rb") as fh:
            values.update(tomllib.load(fh))
    for field in msgspec.structs.fields(Settings):
        raw = environ.get(ENV_PREFIX + field.name.upper())
        if raw is not None:
            values[field.name] = raw
    return msgspec.convert(values, Settings, strict=False)


def masked_url(url: str) -> str:
    """*url* with the password it may carry shown as ***: ``postgresql+asyncpg://trading:***@db/trading``."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
