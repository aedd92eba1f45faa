"""Live pages without a poll per viewer: :func:`notify` says, inside the transaction that made a change, that
something changed (PostgreSQL NOTIFY, so a listener hears of committed changes only), and each worker's
:class:`LiveHub` hears it on one LISTEN connection and wakes the viewers of that thing, who then share one read
of its new state.

On PostgreSQL a worker holds one extra connection, the listener. When it is lost (a database restart, a
failover, ``pg_terminate_backend``) the hub reconnects with backoff, and since notifications sent meanwhile are
gone it has every watched thing read again once it is back; until then it polls them, one read per thing per
``live_poll_interval``. On SQLite there is nothing to listen to: a change committed in this process wakes the
viewers at once (the session carries the hub), and one shared poll per watched thing sees the others (another
worker, a command line). docs/live.md says what an operator needs to know.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from trading import metrics
from trading.db import CONNECT_TIMEOUT
from trading.errors import DomainError
from trading.settings import Settings

log = logging.getLogger("trading.live")

#: The session's info key under which the app factory puts this worker's hub (SQLite: woken after commit).
HUB_KEY = "trading.live_hub"
_PENDING_KEY = "trading.live_pending"
#: The listener's name in pg_stat_activity.
APPLICATION_NAME = "trading-live"
#: The listener's health check: a connection a firewall or a partition silently dropped sends nothing, so
#: without a query now and then it would be taken for a quiet one.
PING_INTERVAL = 30.0
PING_TIMEOUT = 10.0
#: Reconnection delays: doubling from the first to the last, with ±20 % jitter so that the workers of every host
#: do not reconnect in step after a restart.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 15.0
#: Seconds the hub's tasks get to end by themselves at shutdown before they are cancelled.
STOP_TIMEOUT = 2.0


async def notify(session: AsyncSession, channel: str, payload: str) -> None:
    """Say that *payload* on *channel* changed, as part of *session*'s transaction: heard only once it commits,
    and not at all if it rolls back. Several calls with the same arguments in one transaction are heard once."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(channel, payload)))
        return
    hub = session.info.get(HUB_KEY)
    if hub is None:  # a session made outside the app (a command line): the app's poll will see the change
        return
    pending: set[tuple[str, str]] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = set()
        sync_session = session.sync_session

        def committed(_session: Any) -> None:
            for item in sorted(pending):
                hub.wake(*item)
            pending.clear()

        event.listen(sync_session, "after_commit", committed)
        event.listen(sync_session, "after_rollback", lambda _session: pending.clear())
    pending.add((channel, payload))


@dataclass(frozen=True)
class Snapshot:
    """What a watched thing looked like at one read: the bytes its viewers are sent, and whether it will change
    again (a finished opening will not: its streams end)."""

    payload: bytes
    finished: bool
    #: The topic's ``wanted`` count when the read began: later notifications make it stale.
    version: int = 0


#: Reads a watched thing's current state.
Reader = Callable[[], Awaitable[Snapshot]]


class Topic:
    """One watched thing (one section's opening) in one worker: its latest snapshot, shared by all its viewers
    here, and the event its viewers wait on. A notification makes the snapshot stale and wakes them; the first
    to ask reads it again, the others wait for that read."""

    def __init__(self, key: tuple[str, str], reader: Reader) -> None:
        self.key, self.reader = key, reader
        #: Bumped by each notification: a snapshot older than this is stale.
        self.wanted = 1
        #: Bumped by each heartbeat tick: a viewer with nothing new to send sends a comment.
        self.beats = 0
        self.viewers = 0
        self.snapshot: Snapshot | None = None
        self.reads = 0
        self.last_used = time.monotonic()
        self._read: asyncio.Future[None] | None = None
        self._woken = asyncio.Event()
        self._failing = False

    @property
    def woken(self) -> asyncio.Event:
        """Set at the next notification, heartbeat or shutdown (take it before reading, then wait on it)."""
        return self._woken

    def wake(self) -> None:
        woken, self._woken = self._woken, asyncio.Event()
        woken.set()

    def changed(self) -> None:
        self.wanted += 1
        self.wake()

    async def current(self) -> Snapshot:
        """The latest state: the snapshot if no notification came since it was read, else one read shared by
        every viewer that asks meanwhile. When the read fails (the database is away) the last snapshot serves."""
        self.last_used = time.monotonic()
        while True:
            snapshot = self.snapshot
            if snapshot is not None and snapshot.version >= self.wanted:
                return snapshot
            if self._read is None:
                self._read = asyncio.ensure_future(self._read_once(self.wanted))
            try:
                await asyncio.shield(self._read)
            except Exception:
                if self.snapshot is None:
                    raise
                return self.snapshot

    async def refresh(self) -> None:
        """Read now (the fallback poll) and wake the viewers if anything changed."""
        before = self.snapshot
        self.wanted += 1
        try:
            after = await self.current()
        except Exception:
            return
        if before is None or after.payload != before.payload:
            self.wake()

    async def _read_once(self, version: int) -> None:
        try:
            reading = await self.reader()
        except DomainError:  # a refusal (no such section), the caller's to answer
            raise
        except Exception as exc:
            if not self._failing:  # once per outage, not once per read; the type only (messages quote values)
                log.warning("live read of %s failed: %s", self.key[0], type(exc).__name__)
            self._failing = True
            raise
        finally:
            self._read = None
        self._failing = False
        self.reads += 1
        metrics.LIVE_READS.inc()
        if self.snapshot is None or version > self.snapshot.version:
            self.snapshot = Snapshot(reading.payload, reading.finished, version)


class LiveHub:
    """This worker's listener and its topics (see the module's docstring)."""

    def __init__(self, settings: Settings, *, channels: tuple[str, ...]) -> None:
        self.channels = channels
        self.postgres = not settings.is_sqlite
        self._dsn = listen_dsn(settings) if self.postgres else ""
        self.poll_interval = settings.live_poll_interval
        self.heartbeat = settings.live_heartbeat
        self.topics: dict[tuple[str, str], Topic] = {}
        #: Whether the LISTEN connection is up (never on SQLite): while it is, nothing is polled.
        self.live = False
        #: Set once the process is stopping: every stream ends.
        self.closing = False
        #: The listener's server process id while it is connected (what an operator sees in pg_stat_activity).
        self.listener_pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._live_changed: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # --- the viewers' side -------------------------------------------------------------------------------

    def topic(self, channel: str, key: str, reader: Reader) -> Topic:
        """The topic for *key* on *channel* (made on first use with *reader*)."""
        found = self.topics.get((channel, key))
        if found is None:
            found = self.topics[(channel, key)] = Topic((channel, key), reader)
        return found

    def forget(self, topic: Topic) -> None:
        """Drop a topic nobody watches and nothing was read for (its first read was refused)."""
        if topic.viewers <= 0 and topic.snapshot is None and self.topics.get(topic.key) is topic:
            del self.topics[topic.key]

    def join(self, channel: str, key: str, reader: Reader) -> Topic:
        """A viewer starts watching; call :meth:`leave` when it stops. Starts the hub if the app's lifespan has
        not (a test's in-process client)."""
        self._start_tasks()
        found = self.topic(channel, key, reader)
        found.viewers += 1
        metrics.LIVE_STREAMS.inc()
        return found

    def leave(self, topic: Topic) -> None:
        topic.viewers -= 1
        topic.last_used = time.monotonic()
        metrics.LIVE_STREAMS.dec()

    def wake(self, channel: str, key: str) -> None:
        """A change to *key* on *channel* committed: its viewers here read it again (once, together)."""
        found = self.topics.get((channel, key))
        if found is not None:
            found.changed()

    def close_streams(self) -> None:
        """End every stream (the process is stopping). Safe to call from a signal handler."""
        self.closing = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake_all)

    async def wait_live(self) -> None:
        """Until the listener is connected (PostgreSQL)."""
        self._start_tasks()
        assert self._live_changed is not None
        while not self.live:
            await self._live_changed.wait()

    # --- the worker's side -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin listening (the app's startup; the connection is made in the background, with retries)."""
        self._start_tasks()

    async def stop(self) -> None:
        """End every stream and close the listener (the app's shutdown)."""
        self.closing = True
        self._wake_all()
        if self._stop is not None:
            self._stop.set()
        if self._tasks:
            # A connection attempt under way would hold the stop for up to its timeout: cut it short.
            _, pending = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._tasks = []

    def _start_tasks(self) -> None:
        if self._tasks or self.closing:
            return
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._live_changed = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._poll_while_deaf(), name="live-poll"))
        self._tasks.append(asyncio.create_task(self._beat(), name="live-heartbeat"))
        if self.postgres:
            self._tasks.append(asyncio.create_task(self._listen(), name="live-listen"))

    def _wake_all(self) -> None:
        for topic in list(self.topics.values()):
            topic.wake()

    def _set_live(self, live: bool) -> None:
        self.live = live
        metrics.LIVE_LISTENERS.set(1 if live else 0)
        assert self._live_changed is not None
        changed, self._live_changed = self._live_changed, asyncio.Event()
        changed.set()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, or less if the hub stops; whether it stopped."""
        assert self._stop is not None
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _poll_while_deaf(self) -> None:
        """One read per watched topic per interval, while no listener tells of changes."""
        while not await self._sleep(self.poll_interval):
            if self.live:
                continue
            for topic in list(self.topics.values()):
                if topic.viewers > 0 and not self.live and not self.closing:
                    await topic.refresh()

    async def _beat(self) -> None:
        """Wake every viewer now and then, so that streams with nothing new send a comment (proxies close quiet
        connections); and forget the topics nobody has watched for a while."""
        while not await self._sleep(self.heartbeat):
            now = time.monotonic()
            for key, topic in list(self.topics.items()):
                if topic.viewers <= 0 and now - topic.last_used > self.heartbeat:
                    del self.topics[key]
                    continue
                topic.beats += 1
                topic.wake()

    async def _listen(self) -> None:
        """Hold the LISTEN connection: connect, listen, watch it; when it is lost, reconnect with backoff."""
        delay = BACKOFF_FIRST
        while True:
            connection = await self._connect()
            if connection is None:
                if await self._sleep(delay * random.uniform(0.8, 1.2)):
                    return
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_FIRST
            try:
                stopped = await self._serve(connection)
            finally:
                self.listener_pid = None
                if self.live:
                    self._set_live(False)
                await _close(connection)
            if stopped:
                return
            log.warning("live: the LISTEN connection was lost; reconnecting (watched pages are polled meanwhile)")

    async def _connect(self) -> asyncpg.Connection | None:
        try:
            return await asyncpg.connect(
                self._dsn, timeout=CONNECT_TIMEOUT, server_settings={"application_name": APPLICATION_NAME}
            )
        except Exception as exc:  # the type only: a driver's message can name the server and the user
            log.warning("live: cannot open the LISTEN connection (%s); retrying", type(exc).__name__)
            return None

    async def _serve(self, connection: asyncpg.Connection) -> bool:
        """Listen on *connection* until it is lost (False) or the hub stops (True)."""
        assert self._stop is not None
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            for channel in self.channels:
                await connection.add_listener(channel, self._heard)
        except Exception as exc:
            log.warning("live: LISTEN failed (%s)", type(exc).__name__)
            return False
        self.listener_pid = connection.get_server_pid()
        self._set_live(True)
        # What changed while nobody listened was not heard: every watched topic is read again.
        for topic in list(self.topics.values()):
            topic.changed()
        log.info("live: listening on %s", ", ".join(self.channels))
        stop, lost_wait = asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(lost.wait())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {stop, lost_wait}, timeout=PING_INTERVAL, return_when=asyncio.FIRST_COMPLETED
                )
                if stop in done:
                    return True
                if lost_wait in done or connection.is_closed():
                    return False
                try:
                    await connection.execute("SELECT 1", timeout=PING_TIMEOUT)
                except Exception:
                    return False
        finally:
            stop.cancel()
            lost_wait.cancel()

    def _heard(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        metrics.LIVE_NOTIFICATIONS.inc()
        self.wake(channel, payload)


async def _close(connection: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(connection.close(), 2)
    except Exception:
        connection.terminate()


def listen_dsn(settings: Settings) -> str:
    """The asyncpg DSN of the listener: ``live_listen_url`` (for a pooler in transaction mode, which cannot carry
    LISTEN) or else the database URL, without SQLAlchemy's driver name."""
    url = make_url(settings.live_listen_url or settings.database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
