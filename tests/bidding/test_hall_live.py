"""The opening hall's live stream (bidding.hall, trading.notify): a change reaches the viewers when it commits,
pushed — on PostgreSQL by NOTIFY to the worker's one listener, on SQLite by the session that committed it — not
found by polling (the fallback poll is set to an hour here); the viewers of a section on one worker share one
read per change; the listener comes back after its connection is killed and catches up on what it missed; a
slow viewer neither holds up the others nor piles up a backlog; and every stream ends when the process stops.

The streams are read as they are written, through the app's ASGI interface (httpx's ASGI transport hands over a
response only once it has ended, and these do not end by themselves).
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from sqlalchemy.engine import make_url

from bidding.hall import HALL_CHANNEL
from tests.bidding.harness import make_bidder, open_as, open_section, seal, start_opening, submit
from tests.factories import build_world
from trading.notify import Topic

pytestmark = pytest.mark.asyncio

#: Bounds a wait so that a broken push fails the test instead of hanging it; nothing is timed.
PATIENCE = 30.0


@pytest.fixture
def settings(settings):
    """No fallback poll within any test's lifetime: whatever reaches a viewer was pushed."""
    return msgspec.structs.replace(settings, live_poll_interval=3600.0)


class Viewer:
    """One browser on a section's event stream, called through the app's ASGI interface; its events are parsed
    as they arrive. While ``reading`` is clear the viewer takes nothing from the server (a slow connection)."""

    def __init__(self, app: Litestar, section_id: int) -> None:
        self.status: int | None = None
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.heartbeats = 0
        self.ended = asyncio.Event()
        self.reading = asyncio.Event()
        self.reading.set()
        self._gone = asyncio.Event()
        self._buffer = b""
        path = f"/api/sections/{section_id}/opening/events"
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver.local"), (b"accept", b"text/event-stream")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver.local", 80),
        }
        self.task = asyncio.create_task(app(scope, self._receive, self._send))  # type: ignore[arg-type]

    async def _receive(self) -> dict[str, Any]:
        if not hasattr(self, "_asked"):
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        await self.reading.wait()
        if message["type"] == "http.response.start":
            self.status = message["status"]
            return
        self._buffer += message.get("body", b"")
        while b"\r\n\r\n" in self._buffer:
            block, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
            lines = block.decode().split("\r\n")
            data = [line[len("data: ") :] for line in lines if line.startswith("data: ")]
            if data:
                assert "event: opening" in lines
                await self.events.put(json.loads("\n".join(data)))
            elif lines and lines[0].startswith(":"):
                self.heartbeats += 1
        if not message.get("more_body", False):
            self.ended.set()

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.events.get(), PATIENCE)

    async def until(self, check: Any) -> dict[str, Any]:
        """The first event (from now on) that *check* accepts."""
        while not check(event := await self.next()):
            pass
        return event

    async def close(self) -> None:
        self._gone.set()
        self.reading.set()
        await asyncio.wait_for(self.task, PATIENCE)


def uploaded(event: dict[str, Any]) -> list[int]:
    return [m["position"] for m in event["members"] if m["uploaded"]]


async def waiting_section(app, client, clock, tmp_path):
    """A section with three sealed bids whose opening staff have started: waiting for the openers' shares."""
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    for i, price in enumerate((4_512_345_600, 4_498_000_000, 4_630_120_000)):
        bidder = await make_bidder(app, client, clock.at, i + 1)
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=price))
        assert r.status_code == 201, r.text
    clock.set(section.deadline + timedelta(minutes=1))
    r = await start_opening(client, world, section)
    assert r.status_code == 200 and r.json()["state"] == "waiting", r.text
    return world, section


async def listening(app: Litestar) -> None:
    """On PostgreSQL, until the worker's listener is connected (SQLite has none)."""
    if app.state.live.postgres:
        await asyncio.wait_for(app.state.live.wait_live(), PATIENCE)


async def settled(topic: Topic) -> None:
    """Until the topic's snapshot is current (the read after the listener connected is done)."""
    async with asyncio.timeout(PATIENCE):
        while topic.snapshot is None or topic.snapshot.version < topic.wanted:
            await asyncio.sleep(0.01)


async def test_a_change_reaches_the_viewer_when_it_commits_without_polling(app, client, clock, tmp_path):
    _world, section = await waiting_section(app, client, clock, tmp_path)
    viewer = Viewer(app, section.id)
    first = await viewer.next()
    assert viewer.status == 200
    assert first["state"] == "waiting" and uploaded(first) == []
    await listening(app)
    r = await open_as(client, section.openers[0], section)
    assert r.status_code == 200, r.text
    event = await viewer.until(lambda e: uploaded(e) == [1])
    assert event["state"] == "waiting"
    for opener in section.openers[1:]:
        assert (await open_as(client, opener, section)).status_code in (200, 202)
    # All three in: the bids open, the record is published, and the stream says so and ends.
    event = await viewer.until(lambda e: e["state"] not in ("waiting", "opening"))
    assert event["state"] == "opened" and event["record_notice_id"] and len(event["results"]) == 3
    await asyncio.wait_for(viewer.ended.wait(), PATIENCE)
    await viewer.close()


async def test_the_viewers_on_one_worker_share_one_read_per_change(app, client, clock, tmp_path):
    _world, section = await waiting_section(app, client, clock, tmp_path)
    viewers = [Viewer(app, section.id) for _ in range(25)]
    for viewer in viewers:
        assert (await viewer.next())["state"] == "waiting"
    await listening(app)
    topic = app.state.live.topics[(HALL_CHANNEL, str(section.id))]
    assert topic.viewers == 25
    await settled(topic)
    reads = topic.reads
    assert (await open_as(client, section.openers[1], section)).status_code in (200, 202)
    for viewer in viewers:
        assert uploaded(await viewer.until(lambda e: uploaded(e) == [2])) == [2]
    assert topic.reads == reads + 1  # one read for 25 viewers
    for viewer in viewers:
        await viewer.close()
    assert topic.viewers == 0


async def test_a_slow_viewer_holds_up_nobody_and_is_sent_only_the_newest_status(app, client, clock, tmp_path):
    _world, section = await waiting_section(app, client, clock, tmp_path)
    slow, quick = Viewer(app, section.id), Viewer(app, section.id)
    assert (await slow.next())["state"] == (await quick.next())["state"] == "waiting"
    await listening(app)
    slow.reading.clear()  # takes nothing more until told
    assert (await open_as(client, section.openers[0], section)).status_code in (200, 202)
    await quick.until(lambda e: uploaded(e) == [1])
    assert (await open_as(client, section.openers[1], section)).status_code in (200, 202)
    await quick.until(lambda e: uploaded(e) == [1, 2])
    slow.reading.set()
    # The status it was stuck sending (the first change), then straight to the newest: no queue of every change.
    received = [await slow.next()]
    if uploaded(received[0]) != [1, 2]:
        received.append(await slow.next())
    assert uploaded(received[-1]) == [1, 2] and len(received) <= 2
    await slow.close()
    await quick.close()


async def test_a_quiet_stream_sends_heartbeats(app, client, clock, tmp_path):
    app.state.live.heartbeat = 0.05
    _world, section = await waiting_section(app, client, clock, tmp_path)
    viewer = Viewer(app, section.id)
    await viewer.next()
    async with asyncio.timeout(PATIENCE):
        while viewer.heartbeats < 2:
            await asyncio.sleep(0.05)
    assert viewer.events.empty()  # comments only: nothing changed
    await viewer.close()


@pytest.mark.parametrize("how", ["drain", "lifespan"])
async def test_every_stream_ends_when_the_process_stops(app, client, clock, tmp_path, how):
    """SIGTERM begins the drain (trading.draining), which ends the streams at once so that the server's own
    shutdown is not held up by them; the lifespan's shutdown ends any still open."""
    _world, section = await waiting_section(app, client, clock, tmp_path)
    viewers = [Viewer(app, section.id) for _ in range(3)]
    for viewer in viewers:
        await viewer.next()
    await listening(app)
    if how == "drain":
        app.state.drain.begin()
    else:
        await app.state.live.stop()
    for viewer in viewers:
        await asyncio.wait_for(viewer.ended.wait(), PATIENCE)
        await viewer.close()
    # A viewer arriving now is told the status and let go (its browser reconnects to a worker not stopping).
    late = Viewer(app, section.id)
    assert (await late.next())["state"] == "waiting"
    await asyncio.wait_for(late.ended.wait(), PATIENCE)
    await late.close()


async def _admin() -> asyncpg.Connection:
    from tests.conftest import PG_ADMIN_URL

    return await asyncpg.connect(make_url(PG_ADMIN_URL).set(drivername="postgresql").render_as_string(False))


async def test_the_listener_comes_back_after_its_connection_is_terminated(backend, app, client, clock, tmp_path):
    if backend != "postgresql":
        pytest.skip("LISTEN is PostgreSQL's")
    _world, section = await waiting_section(app, client, clock, tmp_path)
    viewer = Viewer(app, section.id)
    await viewer.next()
    hub = app.state.live
    await listening(app)
    killed = hub.listener_pid
    admin = await _admin()
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", killed)
    finally:
        await admin.close()
    async with asyncio.timeout(PATIENCE):
        while not hub.live or hub.listener_pid in (None, killed):
            await asyncio.sleep(0.05)
    assert (await open_as(client, section.openers[2], section)).status_code in (200, 202)
    assert uploaded(await viewer.until(lambda e: uploaded(e) == [3])) == [3]
    await viewer.close()


async def test_a_change_made_while_the_listener_was_away_is_read_when_it_is_back(
    backend, outage, app, client, clock, tmp_path
):
    """The notification of a change committed while the worker's listener was cut off is lost: once the
    listener is back, every watched section is read again."""
    if backend != "postgresql":
        pytest.skip("LISTEN is PostgreSQL's")
    # Made through an app of its own, on the database directly; watched through the app behind the relay.
    _world, section = await waiting_section(app, client, clock, tmp_path)
    viewer = Viewer(outage.app, section.id)
    assert uploaded(await viewer.next()) == []
    hub = outage.app.state.live
    await asyncio.wait_for(hub.wait_live(), PATIENCE)
    await outage.relay.cut()
    async with asyncio.timeout(PATIENCE):
        while hub.live:
            await asyncio.sleep(0.01)
    assert (await open_as(client, section.openers[0], section)).status_code in (200, 202)  # NOTIFY, heard by nobody
    await outage.relay.start()
    assert uploaded(await viewer.until(lambda e: uploaded(e) == [1])) == [1]
    await viewer.close()


async def test_a_section_that_does_not_exist_is_a_404_and_is_not_watched(app, client):
    r = await client.get("/api/sections/999/opening/events")
    assert r.status_code == 404 and r.json()["error"]["code"] == "section_not_found"
    assert app.state.live.topics == {}
