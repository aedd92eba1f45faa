"""`trading serve` as an operator runs it, in a process of its own: graceful shutdown and the workers' metrics.

SIGTERM while a bidder's upload is streaming in: the upload goes on to the end, a new upload (another
envelope, a new bid) is refused with 503 and Retry-After, /readyz says 503 so a load balancer moves on, and the
process exits once the upload is in — or, when an upload stalls, when ``shutdown_grace`` is over, within the
bound. With several workers /metrics adds up what each worker counted.

The section and the bidders are made through the services and the API in this process, in a SQLite file the
server then opens, with a fixed clock (``TRADING_CLOCK``) before the deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests.bidding.harness import Bidder, begin, ciphertexts, make_bidder, open_section, seal
from tests.conftest import DEFAULT_NOW
from tests.factories import build_world
from tests.processes import free_port
from trading.app import create_app
from trading.clock import FixedClock
from trading.migrate import upgrade
from trading.settings import Settings
from trading.workers import listening_sockets

TRADING = str(Path(sys.executable).parent / "trading")

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]


@dataclass
class _SectionRef:
    id: int


@dataclass
class Trade:
    settings: Settings
    section_id: int
    bidders: list[Bidder]
    bids: list[Path]
    uploads: list[str]


async def _trade(tmp: Path) -> Trade:
    """A section open for bids, three bidders with sealed bids, the first two with their submissions begun."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'trading.db'}",
        blob_dir=str(tmp / "blobs"),
        signing_key_path=str(tmp / "key.pem"),
        password_memory_cost=1024,
        password_iterations=1,
        cookie_secure=False,
    )
    (tmp / "blobs").mkdir()
    engine = create_async_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    app = create_app(settings, clock=FixedClock(DEFAULT_NOW))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            world = await build_world(app, DEFAULT_NOW)
            section = await open_section(app, client, world, DEFAULT_NOW)
            bidders = [await make_bidder(app, client, DEFAULT_NOW, n) for n in (1, 2, 3)]
            large = {"技术标.txt": os.urandom(600_000), "商务标.txt": "商务文件".encode()}
            bids = [seal(section, b, tmp, price=4_500_000_000 + n, documents=large) for n, b in enumerate(bidders)]
            uploads = []
            for bidder, bid in zip(bidders[:2], bids[:2], strict=True):
                r = await begin(client, bidder, section, bid)
                assert r.status_code == 201, r.text
                uploads.append(r.json()["upload_id"])
    finally:
        await app.state.engine.dispose()
    return Trade(settings, section.id, bidders, bids, uploads)


@contextmanager
def serving(
    trade: Trade, tmp: Path, *, workers: int = 1, **settings: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_", "PROMETHEUS_"))}
    env |= {
        "TRADING_DATABASE_URL": trade.settings.database_url,
        "TRADING_BLOB_DIR": trade.settings.blob_dir,
        "TRADING_SIGNING_KEY_PATH": trade.settings.signing_key_path,
        "TRADING_CLOCK": DEFAULT_NOW.isoformat(),
        "TRADING_BASE_URL": url,
        "TRADING_INSTANCE_NAME": "app-host-7",
        **{f"TRADING_{k.upper()}": v for k, v in settings.items()},
    }
    log = (tmp / f"serve-{port}.log").open("w")
    process = subprocess.Popen(
        [TRADING, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its workers with it, so that none outlives the test
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start:\n" + (tmp / f"serve-{port}.log").read_text())
        yield url, process
    finally:
        _stop_all(process)
        log.close()


def _stop_all(process: subprocess.Popen[str]) -> None:
    """The server and every worker it started: asked to stop, then killed."""
    for sig, wait in ((signal.SIGTERM, 40.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                process.poll()
                return
            process.poll()  # (reaps the parent)
            time.sleep(0.1)


def _log_lines(tmp: Path) -> list[dict]:
    lines = []
    for path in tmp.glob("serve-*.log"):
        for line in path.read_text().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))  # every line the server wrote is one JSON object
    return lines


async def _slowly(data: bytes, pieces: int, pause: float) -> AsyncIterator[bytes]:
    step = -(-len(data) // pieces)
    for start in range(0, len(data), step):
        yield data[start : start + step]
        await asyncio.sleep(pause)


async def test_sigterm_finishes_the_upload_in_flight_refuses_new_ones_and_exits(tmp_path):
    trade = await _trade(tmp_path)
    first, second = trade.bidders[:2]
    documents = ciphertexts(trade.bids[0])["documents"]
    with serving(trade, tmp_path, shutdown_grace="20") as (url, process):
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            slow = asyncio.create_task(
                client.put(
                    f"/api/uploads/{trade.uploads[0]}/documents",
                    params={"offset": 0},
                    content=_slowly(documents, 20, 0.15),  # about three seconds
                    headers=first.headers,
                )
            )
            await asyncio.sleep(0.6)  # the upload is under way
            assert not slow.done()
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.2)
            process.send_signal(signal.SIGTERM)  # as a process manager may send it again: still draining
            await asyncio.sleep(0.2)

            # A new upload — another bidder's envelope, a new bid — is refused, with a time to retry.
            r = await client.put(
                f"/api/uploads/{trade.uploads[1]}/price",
                params={"offset": 0},
                content=ciphertexts(trade.bids[1])["price"],
                headers=second.headers,
            )
            assert r.status_code == 503 and r.json()["error"]["code"] == "shutting_down", r.text
            assert int(r.headers["retry-after"]) >= 1
            r = await begin(client, trade.bidders[2], _SectionRef(trade.section_id), trade.bids[2])
            assert r.status_code == 503 and r.headers["retry-after"], r.text
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and "shutdown" in ready.json()["checks"], ready.text
            assert (await client.get("/healthz")).status_code == 200  # still alive, while it drains
            assert process.poll() is None

            # The upload in flight goes on to its last byte.
            r = await slow
            assert r.status_code == 200, r.text
            assert r.json() == {"received": len(documents)}
        process.wait(timeout=20)
        took = time.monotonic() - sent
    assert took < 20, f"exited {took:.1f} s after SIGTERM, past shutdown_grace"
    assert process.returncode in (0, -signal.SIGTERM)
    log = "\n".join(p.read_text() for p in tmp_path.glob("serve-*.log"))
    assert "Traceback" not in log, log
    by_status = {(line.get("route"), line.get("status")) for line in _log_lines(tmp_path)}
    assert ("/api/uploads/{upload_id}/{envelope}", 200) in by_status
    assert ("/api/uploads/{upload_id}/{envelope}", 503) in by_status


async def test_a_stalled_upload_does_not_hold_the_shutdown_past_its_bound(tmp_path):
    trade = await _trade(tmp_path)
    documents = ciphertexts(trade.bids[0])["documents"]
    with serving(trade, tmp_path, shutdown_grace="2") as (url, process):
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            stalled = asyncio.create_task(
                client.put(
                    f"/api/uploads/{trade.uploads[0]}/documents",
                    params={"offset": 0},
                    content=_slowly(documents, 4, 30.0),  # one piece, then nothing for half a minute
                    headers=trade.bidders[0].headers,
                )
            )
            await asyncio.sleep(0.6)
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, 20)
            took = time.monotonic() - sent
            stalled.cancel()
    # shutdown_grace (2 s) for the uploads, then at most 5 s for whatever still runs, then the exit.
    assert took < 2 + 5 + 3, f"exited {took:.1f} s after SIGTERM"
    assert took >= 2, "it did not wait for the upload in flight"


async def test_several_workers_report_one_sum_of_their_counts(tmp_path):
    """Each worker counts the requests it answered; any worker's scrape shows them all (and not only its own)."""
    trade = await _trade(tmp_path)
    with serving(trade, tmp_path, workers=2) as (url, _process):
        sent = 0
        for _ in range(10):  # until both workers have answered some (each request on a fresh connection)
            for _ in range(20):
                r = httpx.get(url + "/healthz", timeout=10)
                assert r.status_code == 200 and "server" not in r.headers, r.headers
                sent += 1
            time.sleep(0.2)
            pids = {line["pid"] for line in _log_lines(tmp_path) if line.get("route") == "/healthz"}
            if len(pids) == 2:
                break
        assert len(pids) == 2, "one worker answered everything"
        scrapes = [httpx.get(url + "/metrics", timeout=10).text for _ in range(6)]
    prefix = 'trading_http_requests_total{method="GET",route="/healthz",status="200"} '
    for text in scrapes:
        served = [float(line.removeprefix(prefix)) for line in text.splitlines() if line.startswith(prefix)]
        # (and those that waited for the server to start)
        assert served and served[0] >= sent, served
    lines = [line for line in _log_lines(tmp_path) if line.get("route") == "/metrics"]
    assert {line["instance"] for line in lines} == {"app-host-7"}


async def test_sigterm_ends_the_opening_halls_event_streams_at_once(tmp_path):
    """An event stream never ends by itself while its ceremony waits: at SIGTERM it is ended properly (its last
    chunk sent, so the browser reconnects elsewhere), not cut off when the server's grace for requests runs out."""
    trade = await _trade(tmp_path)
    with serving(trade, tmp_path, shutdown_grace="20") as (url, process):
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            path = f"/api/sections/{trade.section_id}/opening/events"
            async with client.stream("GET", path) as stream:
                assert stream.status_code == 200
                lines = stream.aiter_lines()
                while not (await anext(lines)).startswith("data: "):
                    pass
                process.send_signal(signal.SIGTERM)
                rest = [line async for line in lines]  # an incomplete chunked body would raise here
            assert not any(line.startswith("data: ") for line in rest)
        await asyncio.to_thread(process.wait, 30)
    assert process.returncode in (0, -signal.SIGTERM)
    log = "\n".join(p.read_text() for p in tmp_path.glob("serve-*.log"))
    assert "Traceback" not in log, log


def _burst(url: str, n: int) -> list[int]:
    """*n* connections opened at once, one request each: the statuses (0 for no answer within 10 s)."""
    host, port = url.removeprefix("http://").split(":")
    conns = [socket.create_connection((host, int(port)), timeout=10) for _ in range(n)]
    statuses = []
    try:
        for c in conns:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        for c in conns:
            try:
                statuses.append(int(c.recv(64).split()[1]))
            except (OSError, IndexError, ValueError):
                statuses.append(0)
    finally:
        for c in conns:
            c.close()
    return statuses


def _wait_listening(url: str, n: int) -> None:
    port = int(url.rsplit(":", 1)[1])
    for _ in range(300):
        if listening_sockets(port) == n:
            return
        time.sleep(0.1)
    raise AssertionError(f"{listening_sockets(port)} sockets listening, not {n}")


def _worker_pids(supervisor: int) -> set[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker, its other child)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if parent == supervisor and b"resource_tracker" not in command:
                found.add(int(entry.name))
    return found


async def test_a_burst_of_connections_is_spread_over_the_workers_and_a_dead_workers_share_moves_on(tmp_path):
    """A deadline storm's connections arrive at once. With one shared socket, the first worker to wake accepted
    nearly all of them (one core did the storm's work); each worker has a socket of its own now, and the kernel
    spreads them. A worker killed outright takes its socket with it: the next burst is answered whole (nothing
    waits on a socket nobody accepts from), and the restarted worker takes its share again."""
    trade = await _trade(tmp_path)
    with serving(trade, tmp_path, workers=2) as (url, process):
        _wait_listening(url, 2)  # (the supervisor holds none: each worker listens on its own)
        assert _burst(url, 60) == [200] * 60

        def shares() -> dict[int, int]:
            lines = [line for line in _log_lines(tmp_path) if line.get("route") == "/healthz"]
            return {pid: sum(1 for line in lines if line["pid"] == pid) for pid in _worker_pids(process.pid)}

        first = shares()
        assert len(first) == 2 and min(first.values()) >= 10, first  # a fair hash of 60: one share < 10 is ~1e-6
        os.kill(next(iter(first)), signal.SIGKILL)
        _wait_listening(url, 1)  # the dead worker's socket went with it (what was queued on it was reset) …
        assert _burst(url, 60) == [200] * 60  # … and the other worker answers the next burst whole
        _wait_listening(url, 2)  # uvicorn's supervisor noticed (its health check) and started another worker
        before = shares()
        assert _burst(url, 60) == [200] * 60
        after = shares()
        gained = {pid: after.get(pid, 0) - before.get(pid, 0) for pid in after}
        assert len(gained) == 2 and min(gained.values()) >= 10, gained


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # (a zombie has exited; only its parent's wait is missing)


async def test_workers_whose_supervisor_was_killed_stop_and_free_the_port(tmp_path):
    """`trading serve` killed outright (SIGKILL, an OOM kill): its workers must not live on without it. Each held a
    socket of the port's SO_REUSEPORT group, so a server started again would share the port with them — with
    connections spread over old workers nobody supervises. Each worker watches its supervisor and stops as at
    SIGTERM when it is gone."""
    trade = await _trade(tmp_path)
    with serving(trade, tmp_path, workers=2) as (url, process):
        _wait_listening(url, 2)
        workers = _worker_pids(process.pid)
        assert len(workers) == 2, workers
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        for _ in range(300):  # the workers notice within a second or two, then drain (nothing is in flight)
            if not any(_alive(pid) for pid in workers):
                break
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers), "workers outlived their supervisor"
        _wait_listening(url, 0)  # the port is free for the next start
