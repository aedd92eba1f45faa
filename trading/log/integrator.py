"""The integrator: fold queued entries into the tree, a few times a second on every worker, and at once
for whoever is waiting on its own entry (a bid's receipt names its leaf).

Rounds in one process never overlap: a :class:`Pump` runs one round at a time, and everyone who asks for a
round while one is running is served together by the next. So two hundred bids that commit at the same
moment cost a handful of rounds, not two hundred. Across processes the rounds serialise on the size
counter's row lock (trading.log.services), and each round takes everything queued.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from litestar.datastructures import State

from trading.log import services

log = logging.getLogger("trading.log")

#: How long after a bid deadline the cut waits, so that transactions begun before it have committed.
DEADLINE_GRACE = timedelta(seconds=5)


async def integrate_once(state: State, *, grace: timedelta = DEADLINE_GRACE) -> int | None:
    """One round; returns the tree size, or None when there was nothing to do."""
    async with background_sessions(state)() as session:
        now = await state.clock.now(session)
        if not await services.has_work(session, now):
            return None
        size = await services.integrate(
            session, state.log_signer, origin=state.settings.log_origin, now=now, grace=grace
        )
        await session.commit()
        return size


class Pump:
    """One process's integration rounds, shared by everyone waiting for one."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._started = 0  # rounds begun
        self._finished = 0  # rounds ended (successfully or not)
        self._running: asyncio.Future[None] | None = None

    async def round(self) -> None:
        """Return once a round that began after this call has ended: everything committed before the call
        has then been integrated, unless that round failed (its error is raised to the one that ran it, and
        the others go on; the background loop retries)."""
        wanted = self._started + 1
        while self._finished < wanted:
            if self._running is not None:
                await asyncio.shield(self._running)
                continue
            self._running = asyncio.get_running_loop().create_future()
            self._started += 1
            number = self._started
            try:
                await integrate_once(self._state)
            finally:
                self._finished = number
                running, self._running = self._running, None
                running.set_result(None)


class IntegratorThread:
    """A worker's log integration on a thread and event loop of its own, with connections of its own
    (PostgreSQL's workers; ``trading.app`` starts it).

    In a deadline storm the worker's event loop holds hundreds of requests' callbacks, and each of a round's
    awaits queued behind them: receipts were signed at once, but their entries reached a checkpoint seconds
    later. Here a round waits only for the GIL, which Python hands over every few milliseconds. Rounds are
    the same as ever (the size counter's row lock orders them across workers), so nothing else changes."""

    def __init__(self, state: State, make_sessions: Callable[[], Any]) -> None:
        #: *make_sessions*: called on the thread's loop, returns (sessionmaker, async dispose) for its connections.
        self._state = state
        self._make_sessions = make_sessions
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="log-integrator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join, 30)

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        sessionmaker, dispose = self._make_sessions()
        state = State(
            {
                "settings": self._state.settings,
                "clock": self._state.clock,
                "log_signer": self._state.log_signer,
                "background_sessionmaker": sessionmaker,
            }
        )
        pump, interval = pump_of(state), state.settings.log_interval
        try:
            while not self._stop.is_set():
                try:
                    await pump.round()
                except Exception as exc:  # keep going: the next round retries; never log entry data
                    log.warning("log integration failed: %s", type(exc).__name__)
                await asyncio.sleep(interval)
        finally:
            await dispose()


def background_sessions(state: State) -> Any:
    """The sessionmaker of the worker's background loops (its own connections), else the app's."""
    return getattr(state, "background_sessionmaker", None) or state.sessionmaker


def pump_of(state: State) -> Pump:
    """The process's pump (made on first use, so tests that build a bare state get one too)."""
    pump = getattr(state, "log_pump", None)
    if pump is None:
        pump = state.log_pump = Pump(state)
    return pump


async def run(state: State, stop: asyncio.Event, *, before: Callable[[], Awaitable[object]] | None = None) -> None:
    """Integrate until *stop*; *before* runs first in each round (the app passes the deadline scheduler)."""
    pump = pump_of(state)

    async def round_() -> None:
        if before is not None:
            await before()
        await pump.round()

    await repeat(round_, stop, state.settings.log_interval, log, "log integration failed")


async def repeat(
    step: Callable[[], Awaitable[object]], stop: asyncio.Event, interval: float, logger: logging.Logger, failed: str
) -> None:
    """Run *step* every *interval* seconds until *stop*; a step that fails is logged as *failed* (its exception's
    type only: never the data it held) and the next one retries."""
    while not stop.is_set():
        try:
            await step()
        except Exception as exc:
            logger.warning("%s: %s", failed, type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
