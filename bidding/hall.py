"""The opening hall's live stream (开标大厅实时状态): every change to a section's opening is announced with
:func:`notify_hall` in the transaction that makes it, and each worker reads the new status once for all the
viewers of that section it serves (trading.notify), then writes the same bytes to each of them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from litestar.datastructures import State
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from trading.notify import LiveHub, Reader, Snapshot, notify

#: The NOTIFY channel; its payload is the section's id.
HALL_CHANNEL = "opening_hall"
#: The SSE event name the hall page listens for (notices/static/js/opening-hall.js).
EVENT = "opening"
#: A comment line: ignored by browsers, but it keeps proxies from closing a quiet stream.
HEARTBEAT = b": keep-alive\r\n\r\n"
FINISHED = ("opened", "failed")


def awaiting_ruling(status: dict[str, Any]) -> bool:
    """Whether a bid the opening left disputed still awaits the supervisors' ruling (bidding.rulings)."""
    return any(r.get("outcome") == "disputed" and not r.get("ruling") for r in status.get("results") or ())


def is_over(status: dict[str, Any]) -> bool:
    """The hall has nothing more to show: the opening is over, and no bid in it awaits a ruling (the hall shows
    the ruling when it comes, so its viewers' streams stay open until then)."""
    return status["state"] in FINISHED and not awaiting_ruling(status)


async def notify_hall(session: AsyncSession, section_id: int) -> None:
    """The section's opening changed (or will have, when *session* commits): its hall's viewers read it again."""
    await notify(session, HALL_CHANNEL, str(section_id))


def status_reader(state: State, section_id: int) -> Reader:
    """Reads the section's opening as the public sees it (bidding.opening.status), as one SSE event."""
    from bidding import opening

    async def read() -> Snapshot:
        async with state.sessionmaker() as session:
            status = await opening.status(session, section_id)
        text = json.dumps(status, ensure_ascii=False, sort_keys=True, default=str)
        return Snapshot(ServerSentEventMessage(data=text, event=EVENT).encode(), is_over(status))

    return read


async def first_snapshot(state: State, section_id: int) -> Snapshot:
    """The status a new viewer is sent first (shared with the others on this worker when it is fresh); a section
    that does not exist raises NotFound here, before the stream begins."""
    hub: LiveHub = state.live
    topic = hub.topic(HALL_CHANNEL, str(section_id), status_reader(state, section_id))
    try:
        return await topic.current()
    except BaseException:
        hub.forget(topic)
        raise


async def follow(state: State, section_id: int, first: Snapshot) -> AsyncIterator[bytes]:
    """One viewer's stream: the first status, then each new one as the hub hears of it, a comment every
    ``live_heartbeat`` seconds when nothing changes; it ends when the opening is over (and any dispute ruled on)
    or the process stops.
    A slow viewer holds nothing but the last status it was sent: it is sent the newest one when it is ready."""
    hub: LiveHub = state.live
    yield first.payload
    if first.finished or hub.closing:
        return
    topic = hub.join(HALL_CHANNEL, str(section_id), status_reader(state, section_id))
    try:
        sent = first
        beats = topic.beats
        while not sent.finished and not hub.closing:
            woken = topic.woken  # before reading: a change during the read or the send wakes it
            try:
                snapshot = await topic.current()
            except Exception:  # the database is away and nothing was read yet: wait for the next wake
                snapshot = sent
            if snapshot.payload != sent.payload:
                yield snapshot.payload
                sent = snapshot
            elif topic.beats != beats:
                yield HEARTBEAT
            beats = topic.beats
            if sent.finished or hub.closing:
                break
            await woken.wait()
    finally:
        hub.leave(topic)
