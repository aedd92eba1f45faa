"""The integrator loop each worker runs: a few times a second, fold queued entries into the tree."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from litestar.datastructures import State

from trading.log import services

log = logging.getLogger("trading.log")

#: How long after a bid deadline the cut waits, so that transactions begun before it have committed.
DEADLINE_GRACE = timedelta(seconds=5)


async def integrate_once(state: State, *, grace: timedelta = DEADLINE_GRACE) -> int | None:
    """One round; returns the tree size, or None when there was nothing to do."""
    async with state.sessionmaker() as session:
        now = await state.clock.now(session)
        if not await services.has_work(session, now):
            return None
        size = await services.integrate(
            session, state.log_signer, origin=state.settings.log_origin, now=now, grace=grace
        )
        await session.commit()
        return size


async def run(state: State, stop: asyncio.Event, *, before: Callable[[State], Awaitable[object]] | None = None) -> None:
    """Integrate until *stop*; *before* runs first in each round (the app passes the deadline scheduler)."""
    interval = state.settings.log_interval
    while not stop.is_set():
        try:
            if before is not None:
                await before(state)
            await integrate_once(state)
        except Exception as exc:  # keep going: the next round retries; never log entry data
            log.warning("log integration failed: %s", type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
