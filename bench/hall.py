"""The opening hall with a thousand viewers: how fast each step of the ceremony reaches them, and what it costs.

    .venv/bin/python bench/hall.py --viewers 1000 --bids 200

Creates a fresh PostgreSQL database with a published section of N sealed bids (bench/opening.py's seeding),
starts the real app (`uvicorn --workers 2`), waits for the scheduler to close the section, and then:

1. the old design, emulated: every viewer asks for the ceremony's status once a second (GET /opening, then a
   one-second pause, as the old event stream did in the server) for --poll-seconds — status reads per second
   achieved, their latency, and the app's CPU;
2. the live stream: the viewers connect to the section's event stream (lean raw-socket clients, one connection
   each), staff start the opening and the three openers upload their shares one after another, each step once
   every viewer has heard of the one before. For each step: the time from its commit — the moment a bare asyncpg
   LISTEN client in this process hears the step's NOTIFY — to the event's arrival at each viewer (p50, p99 over
   viewers); the status reads the app made for the streams (its ``trading_live_reads_total``); the app's CPU;
3. the floors, measured in the same run: a commit's NOTIFY to a bare LISTEN client, and a bare fan-out server
   (bench/_fanout.py: asyncio and asyncpg alone, one LISTEN, the same event bytes written to every socket) with
   as many viewers, timed the same way as the app.

Everything runs on this machine, load generator included: its own event loop adds to every figure. No timing is
asserted anywhere: these are measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _app import cpu_seconds, fresh_database, serve_app  # noqa: E402
from _http import Connection  # noqa: E402
from opening import seed  # noqa: E402

from bidding.envelope import BidContext, open_share, parse_manifest  # noqa: E402
from bidding.hall import HALL_CHANNEL  # noqa: E402
from bidding.opening import shares_document  # noqa: E402
from bidding.opening import status as opening_status  # noqa: E402
from trading.db import make_engine, make_sessionmaker  # noqa: E402
from trading.settings import Settings  # noqa: E402

FLOOR_CHANNEL = "bench_hall_floor"
FANOUT_CHANNEL = "bench_hall_fanout"


# --- a lean event-stream client ----------------------------------------------------------------------------


class Viewer(asyncio.Protocol):
    """One viewer's connection: sends GET, de-chunks the answer, and keeps each event's bytes with the time it
    arrived (parsed only after the run, so that the client spends as little as it can while measuring)."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
        self.events: list[tuple[float, bytes]] = []
        self.heartbeats = 0
        self.ended = False
        self.status = 0
        self._raw = bytearray()
        self._body = bytearray()
        self._head = True
        self._need: int | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self._raw += data
        if self._head:
            end = self._raw.find(b"\r\n\r\n")
            if end < 0:
                return
            self.status = int(self._raw[:end].split(b" ", 2)[1])
            del self._raw[: end + 4]
            self._head = False
        while True:  # chunked transfer coding
            if self._need is None:
                end = self._raw.find(b"\r\n")
                if end < 0:
                    break
                size = int(self._raw[:end], 16)
                del self._raw[: end + 2]
                if size == 0:
                    self.ended = True
                    break
                self._need = size
            if len(self._raw) < self._need + 2:
                break
            self._body += self._raw[: self._need]
            del self._raw[: self._need + 2]
            self._need = None
        while (end := self._body.find(b"\r\n\r\n")) >= 0:
            block = bytes(self._body[:end])
            del self._body[: end + 4]
            if block.startswith(b":"):
                self.heartbeats += 1
            else:
                self.events.append((now, block))

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect_viewers(n: int, port: int, path: str) -> list[Viewer]:
    loop = asyncio.get_running_loop()
    viewers: list[Viewer] = []

    async def one() -> None:
        viewer = Viewer("127.0.0.1", port, path)
        await loop.create_connection(lambda: viewer, "127.0.0.1", port)
        viewers.append(viewer)

    for start in range(0, n, 100):  # in waves, as a crowd arrives: not one SYN flood
        await asyncio.gather(*(one() for _ in range(start, min(n, start + 100))))
    return viewers


async def until_all(viewers: list[Viewer], count: int, patience: float) -> float:
    """Wait until every viewer has *count* events (or has ended, or *patience* runs out); returns the wait."""
    t = time.perf_counter()
    while time.perf_counter() - t < patience:
        if all(len(v.events) >= count or v.ended for v in viewers):
            break
        await asyncio.sleep(0.005)
    return time.perf_counter() - t


def parse(block: bytes) -> dict[str, Any]:
    lines = block.decode().split("\r\n")
    return json.loads("\n".join(line[6:] for line in lines if line.startswith("data: ")))


# --- the raw listener (the commit's clock) -----------------------------------------------------------------


@dataclass(eq=False)
class Heard:
    """What a bare LISTEN client heard: (time, channel, payload)."""

    items: list[tuple[float, str, str]] = field(default_factory=list)
    more: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        self.items.append((time.perf_counter(), channel, payload))
        self.more.set()

    async def first(self, channel: str, payload: str, since: float) -> float:
        """When *payload* on *channel* was first heard after *since* (waiting for it)."""
        while not (found := self.between(channel, payload, since, float("inf"))):
            self.more.clear()
            await self.more.wait()
        return found[0]

    def between(self, channel: str, payload: str | None, start: float, end: float) -> list[float]:
        return [t for t, c, p in self.items if c == channel and (payload is None or p == payload) and start <= t < end]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# --- the phases --------------------------------------------------------------------------------------------


async def old_poll(port: int, section_id: int, viewers: int, seconds: float) -> tuple[int, list[float]]:
    """The old design's load: each viewer reads the status, pauses a second, reads again. (reads, latencies)"""
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def poller() -> None:
        conn = Connection("127.0.0.1", port)
        await asyncio.sleep(random.random())  # viewers arrive spread over a second
        try:
            while time.perf_counter() < stop_at:
                t = time.perf_counter()
                status, _ = await conn.request("GET", f"/api/sections/{section_id}/opening", headers={})
                assert status == 200, status
                latencies.append(time.perf_counter() - t)
                await asyncio.sleep(1)
        finally:
            await conn.close()

    await asyncio.gather(*(poller() for _ in range(viewers)))
    return len(latencies), latencies


async def prepare_upload(client: httpx.AsyncClient, section_id: int, opener: Any, base: dict) -> dict[str, str]:
    """What `bidding opener open` does before it uploads: download the sealed shares, unwrap them here, sign."""
    r = await client.get(f"/api/sections/{section_id}/opening/shares", headers=_bearer(opener.token))
    assert r.status_code == 200, r.text[:300]
    pack = r.json()
    shares = []
    for item in pack["bids"]:
        context = BidContext(bidder_credit_code=item["bidder_credit_code"], **base)
        share = open_share(
            pack["suite"],
            opener.hpke,
            context,
            "price",
            pack["position"],
            base64.b64decode(item["sealed_share"]),
            manifest=parse_manifest(base64.b64decode(item["manifest"])),
        )
        shares.append(
            {
                "bid_id": item["bid_id"],
                "manifest_sha256": item["manifest_sha256"],
                "envelope": "price",
                "share": base64.b64encode(share).decode(),
            }
        )
    document = shares_document(section_id, pack["position"], shares)
    return {
        "document": base64.b64encode(document).decode(),
        "signature": base64.b64encode(opener.signing.sign(document)).decode(),
    }


async def metric(client: httpx.AsyncClient, name: str) -> float:
    text = (await client.get("/metrics")).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


async def statements_per_read(settings: Settings, section_id: int) -> int:
    """SQL statements one status read issues (counted on an engine of this process)."""
    engine = make_engine(settings)
    count = 0

    @sa_event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        nonlocal count
        count += 1

    async with make_sessionmaker(engine)() as session:
        await opening_status(session, section_id)
    await engine.dispose()
    return count


@dataclass
class Step:
    name: str
    check: Any  # which event shows the step done
    sent: float = 0.0
    commit: float | None = None
    latencies: list[float] = field(default_factory=list)
    missing: int = 0


def uploaded(status: dict[str, Any]) -> list[int]:
    return [m["position"] for m in status["members"] if m["uploaded"]]


async def live(args: argparse.Namespace, base_url: str, seeded: Any, server_pid: int, dsn: str) -> dict[str, Any]:
    section_id, base = seeded.section_id, seeded.context_base
    heard = Heard()
    listener = await asyncpg.connect(dsn)
    await listener.add_listener(HALL_CHANNEL, heard)
    await listener.add_listener(FLOOR_CHANNEL, heard)
    await listener.add_listener(FANOUT_CHANNEL, heard)
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as client:
        # 1. the old design's load
        cpu = cpu_seconds(server_pid)
        t = time.perf_counter()
        reads, latencies = await old_poll(args.port, section_id, args.viewers, args.poll_seconds)
        out["old"] = {
            "seconds": time.perf_counter() - t,
            "reads": reads,
            "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99),
            "cpu": cpu_seconds(server_pid) - cpu,
        }
        # 2. the live stream
        out["statements_before"] = await statements_per_read(args.settings, section_id)
        cpu = cpu_seconds(server_pid)
        await asyncio.sleep(args.idle_seconds)
        out["idle_alone"] = cpu_seconds(server_pid) - cpu
        path = f"/api/sections/{section_id}/opening/events"
        reads0 = await metric(client, "trading_live_reads_total")
        cpu = cpu_seconds(server_pid)
        t = time.perf_counter()
        viewers = await connect_viewers(args.viewers, args.port, path)
        await until_all(viewers, 1, 60)
        out["connect"] = {
            "seconds": time.perf_counter() - t,
            "cpu": cpu_seconds(server_pid) - cpu,
            "reads": await metric(client, "trading_live_reads_total") - reads0,
            "connected": sum(1 for v in viewers if v.events),
            "refused": sum(1 for v in viewers if v.status != 200),
        }
        cpu = cpu_seconds(server_pid)
        await asyncio.sleep(args.idle_seconds)
        out["idle"] = {"seconds": args.idle_seconds, "cpu": cpu_seconds(server_pid) - cpu}
        steps = [
            Step("staff start the opening", lambda s: s["state"] == "waiting"),
            Step("opener 1 uploads its shares", lambda s: uploaded(s) == [1]),
            Step("opener 2 uploads its shares", lambda s: uploaded(s) == [1, 2]),
            Step("opener 3 uploads: bids opened, record published", lambda s: s["state"] == "opened"),
        ]
        reads0 = await metric(client, "trading_live_reads_total")
        notified0 = await metric(client, "trading_live_notifications_total")
        cpu = cpu_seconds(server_pid)
        prepare = 0.0
        ceremony = time.perf_counter()
        steps[0].sent = time.perf_counter()
        r = await client.post(f"/api/sections/{section_id}/opening", headers=_bearer(seeded.staff_token))
        assert r.status_code == 200 and r.json()["state"] == "waiting", r.text[:300]
        await until_all(viewers, 2, args.patience)
        t = time.perf_counter()
        bodies = [await prepare_upload(client, section_id, opener, base) for opener in seeded.openers]
        prepare = time.perf_counter() - t
        for number, (step, opener, body) in enumerate(zip(steps[1:], seeded.openers, bodies, strict=True), start=3):
            step.sent = time.perf_counter()
            r = await client.post(
                f"/api/sections/{section_id}/opening/shares", headers=_bearer(opener.token), json=body
            )
            assert r.status_code == 200, r.text[:300]
            await until_all(viewers, number, args.patience)
        finished = time.perf_counter()
        out["ceremony"] = {
            "seconds": finished - ceremony - prepare,
            "cpu": cpu_seconds(server_pid) - cpu,
            "reads": await metric(client, "trading_live_reads_total") - reads0,
            "notifications": await metric(client, "trading_live_notifications_total") - notified0,
            "ended": sum(1 for v in viewers if v.ended),
            "events": sum(len(v.events) for v in viewers),
            "bytes": sum(sum(len(b) for _, b in v.events) for v in viewers),
        }
        small = next(b for v in viewers for _, b in v.events if uploaded(parse(b)) == [1, 2])
        large = next(b for v in viewers for _, b in v.events if parse(b)["state"] == "opened")
        for v in viewers:
            v.close()
        # Each step's commit: the last NOTIFY of the section heard between its request and the next step's.
        ends = [s.sent for s in steps[1:]] + [finished + 1]
        parsed = [[(t, parse(b)) for t, b in v.events] for v in viewers]
        for step, end in zip(steps, ends, strict=True):
            commits = heard.between(HALL_CHANNEL, str(section_id), step.sent, end)
            step.commit = commits[-1] if commits else None
            for events in parsed:
                arrival = next((t for t, s in events if t >= step.sent and step.check(s)), None)
                if arrival is None or step.commit is None:
                    step.missing += 1
                else:
                    step.latencies.append(arrival - step.commit)
        out["steps"] = steps
        out["statements_per_read"] = await statements_per_read(args.settings, section_id)
    # 3. the floors
    floor = []
    notifier = await asyncpg.connect(dsn)
    for i in range(200):
        t = time.perf_counter()
        await notifier.execute("SELECT pg_notify($1, $2)", FLOOR_CHANNEL, str(i))
        floor.append(await heard.first(FLOOR_CHANNEL, str(i), t) - t)
    out["floor_listen"] = floor
    files = []
    for name, block in (("small", small), ("large", large)):
        files.append(Path(args.tmp) / f"{name}.event")
        files[-1].write_bytes(block + b"\r\n\r\n")
    fanout = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / "_fanout.py"),
        dsn,
        FANOUT_CHANNEL,
        str(args.fanout_port),
        *map(str, files),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert fanout.stdout is not None and (await fanout.stdout.readline()).strip() == b"ready"
        viewers = await connect_viewers(args.viewers, args.fanout_port, "/")
        await until_all(viewers, 1, 60)
        for which in (0, 1):  # five changes with the steps' small event, five with the opened one
            cpu = cpu_seconds(fanout.pid)
            samples: list[list[float]] = []
            for _ in range(5):
                index = len(viewers[0].events)
                t = time.perf_counter()
                await notifier.execute("SELECT pg_notify($1, $2)", FANOUT_CHANNEL, str(which))
                await until_all(viewers, index + 1, args.patience)
                commit = await heard.first(FANOUT_CHANNEL, str(which), t)
                samples.append([v.events[index][0] - commit for v in viewers if len(v.events) > index])
                await asyncio.sleep(0.5)
            out[f"fanout{which}"] = {
                "samples": samples,
                "cpu": cpu_seconds(fanout.pid) - cpu,
                "bytes": len((small, large)[which]) + 4,
            }
        for v in viewers:
            v.close()
    finally:
        fanout.terminate()
        await fanout.wait()
    await notifier.close()
    await listener.close()
    return out


def report(args: argparse.Namespace, out: dict[str, Any]) -> None:
    n = args.viewers
    print(
        f"\nopening hall — {n} viewers on one section's event stream, {args.bids} sealed bids, PostgreSQL, "
        f"uvicorn --workers 2, {os.cpu_count()} cores (load generator on the same machine)"
    )
    c = out["connect"]
    print(
        f"  connected {c['connected']}/{n} (refused {c['refused']}) in {c['seconds']:.1f} s: {c['reads']:.0f} status "
        f"reads, {c['cpu']:.2f} s app CPU; {out['idle']['seconds']:.0f} s idle with {n} streams open: "
        f"{out['idle']['cpu']:.2f} s app CPU (with none: {out['idle_alone']:.2f} s: the scheduler and the log)"
    )
    floors = []
    for which in (0, 1):
        fan = [x for sample in out[f"fanout{which}"]["samples"] for x in sample]
        floors.append((percentile(fan, 50), percentile(fan, 99), len(out[f"fanout{which}"]["samples"][0])))
    listen = out["floor_listen"]
    print("\nfrom a change's commit (its NOTIFY heard by a bare LISTEN client here) to its event at each viewer:")
    print(f"{'what':66} {'viewers':>8} {'p50 ms':>8} {'p99 ms':>8} {'p50 vs floor':>13}")
    print(
        f"{'floor: a commit → a bare LISTEN client (200 NOTIFYs)':66} {'':>8} {percentile(listen, 50) * 1e3:8.2f} "
        f"{percentile(listen, 99) * 1e3:8.2f}"
    )
    for which, label in ((0, "the steps' event"), (1, "the opened event")):
        p50, p99, count = floors[which]
        size = out[f"fanout{which}"]["bytes"] / 1024
        what = f"floor: bare fan-out of {label} ({size:.1f} KiB), 5 times"
        print(f"{what:66} {count:8d} {p50 * 1e3:8.2f} {p99 * 1e3:8.2f}")
    for number, step in enumerate(out["steps"]):
        floor_p50 = floors[1 if number == 3 else 0][0]
        if step.latencies:
            p50, p99 = percentile(step.latencies, 50), percentile(step.latencies, 99)
            print(
                f"{'app: ' + step.name:66} {len(step.latencies):8d} {p50 * 1e3:8.2f} {p99 * 1e3:8.2f} "
                f"{p50 / floor_p50:13.1f}"
            )
        else:
            print(f"{'app: ' + step.name:66} {0:8d} {'—':>8} {'—':>8}")
    ce, old = out["ceremony"], out["old"]
    spr = f"{out['statements_before']} (before the opening) to {out['statements_per_read']} (opened)"
    print(f"\nwhat the streams cost (a status read is one transaction of {spr} SQL statements):")
    print(f"{'what':66} {'seconds':>8} {'reads':>8} {'reads/s':>8} {'app CPU s':>10} {'CPU/s':>6}")
    print(
        f"{f'old design emulated: {n} viewers × one read/s':66} {old['seconds']:8.1f} {old['reads']:8d} "
        f"{old['reads'] / old['seconds']:8.1f} {old['cpu']:10.2f} {old['cpu'] / old['seconds']:6.2f}"
    )
    print(f"{'  (its reads: latency p50 / p99, ms)':66} {old['p50'] * 1e3:8.1f} {old['p99'] * 1e3:8.1f}")
    print(
        f"{f'live: the ceremony (4 changes) with {n} viewers':66} {ce['seconds']:8.1f} "
        f"{ce['reads']:8.0f} {ce['reads'] / ce['seconds']:8.1f} {ce['cpu']:10.2f} {ce['cpu'] / ce['seconds']:6.2f}"
    )
    fan_cpu = out["fanout0"]["cpu"] + out["fanout1"]["cpu"]
    print(f"{f'floor: bare fan-out, 10 changes to {n} viewers':66} {'':>8} {0:8d} {'':>8} {fan_cpu:10.2f}")
    print(
        f"  live: {ce['notifications']:.0f} notifications heard by the app's listeners, {ce['events']:,} events "
        f"({ce['bytes'] / 1e6:.1f} MB) written, {ce['ended']}/{n} streams ended with the opening; "
        f"reads per change per worker: {ce['reads'] / 4 / 2:.1f} (old design: {n} per second)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--bids", type=int, default=200)
    parser.add_argument("--poll-seconds", type=float, default=10.0, help="how long the old design is emulated")
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--patience", type=float, default=60.0, help="longest wait for every viewer to hear a step")
    parser.add_argument(
        "--server", default=os.environ.get("TRADING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--database", default="trading_bench_hall")
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--fanout-port", type=int, default=8796)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * args.viewers + 256  # both ends of each stream live on this machine
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))  # the app inherits it
    url = fresh_database(args.server, args.database)
    args.tmp = tempfile.mkdtemp(prefix="bench-hall-")
    tmp = Path(args.tmp)
    args.settings = Settings(
        database_url=url,
        blob_dir=str(tmp / "blobs"),
        signing_key_path=str(tmp / "key.pem"),
        password_memory_cost=1024,
        password_iterations=1,
        # The seeding issues its tokens three weeks back (when the tender was published): long enough to last.
        token_lifetimes="admin=365,opener=365,evaluator=365,supervisor=365,staff=365,bidder=365",
    )
    t = time.perf_counter()
    seeded, _files = asyncio.run(seed(args.settings, args.bids, tmp))
    print(f"seeded {args.bids} sealed bids in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    metrics_dir = tmp / "metrics"
    metrics_dir.mkdir()
    env = dict(
        os.environ,
        TRADING_DATABASE_URL=url,
        TRADING_BLOB_DIR=args.settings.blob_dir,
        TRADING_SIGNING_KEY_PATH=args.settings.signing_key_path,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),  # /metrics adds up both workers
    )
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    processes: list[subprocess.Popen[bytes]] = []
    with serve_app(env, args.port, workers=2, processes=processes) as base_url:
        for _ in range(120):  # the scheduler closes the section (its deadline has passed) within a tick
            status = httpx.get(f"{base_url}/api/sections/{seeded.section_id}/opening").json()
            if status["section_state"] == "closed":
                break
            time.sleep(0.25)
        out = asyncio.run(live(args, base_url, seeded, processes[0].pid, dsn))
    report(args, out)
    return 0


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


if __name__ == "__main__":
    raise SystemExit(main())
