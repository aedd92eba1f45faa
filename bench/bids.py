"""The deadline storm: many bidders submitting sealed bids at once, against raw asyncpg commits.

    .venv/bin/python bench/bids.py --bidders 200 --document-kib 64 [--mode pieces]

Creates a fresh PostgreSQL database, seeds a section with a three-opener committee and N bidders with
registered signing keys (through the platform's services), seals one bid per bidder offline (a documents file
of the given size each), starts the real app under uvicorn (2 workers), then has all N bidders submit at once
over loopback (one keep-alive connection each, bench/_http.py): the sealed file in one request, as `bidding
submit` sends a bid under 16 MiB, or with ``--mode pieces`` begin, both ciphertexts, complete. It reports
receipted bids per second, the latency of a whole submission, how soon each receipt's entry was in a signed
checkpoint, and the CPU of the app's processes, of PostgreSQL and of itself meanwhile. The floor, measured in
the same run: N concurrent raw asyncpg INSERT + COMMIT of rows of the same size into a plain table, with as
many connections as the app's pools hold (``--connections``; the app opens none beyond them unless
``--overflow``). A second floor, the bare endpoint (bench/_bare.py): a raw ASGI app under the same uvicorn and
workers taking the same bytes from as many clients at once and storing each with one INSERT + COMMIT (and, to
tell the HTTP from the database, only reading them) — the least an HTTP service in Python does for a bid on
this machine, none of a bid's checks. No timing is asserted anywhere: these are measurements. BENCH_PROFILE=out.txt samples the app
with py-spy (bench/profile_top.py); BENCH_PERF=out.data samples the whole machine, PostgreSQL too, with
``perf record`` during the last storm.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _app import cpu_seconds, fresh_database, serve_app  # noqa: E402
from _http import Connection  # noqa: E402
from _section import seed_bidders, seed_section  # noqa: E402

from bidding.envelope import BidContext, read_sealed_bid, seal_bid  # noqa: E402
from trading.db import make_engine, make_sessionmaker  # noqa: E402
from trading.migrate import upgrade  # noqa: E402
from trading.settings import Settings  # noqa: E402
from trading.workers import listening_sockets  # noqa: E402


async def seed(settings: Settings, n: int, tmp: Path, document_kib: int) -> tuple[int, list[tuple[str, Path]]]:
    engine = make_engine(settings)
    await upgrade(engine)
    sm = make_sessionmaker(engine)
    now = datetime.now(UTC)
    published = now - timedelta(days=21)
    async with sm() as s:
        seeded = await seed_section(s, settings, published=published, deadline=now + timedelta(hours=1))
        bidders = [(b.token, b.credit_code, b.key) for b in await seed_bidders(s, settings, n, at=published)]
        await s.commit()
    section_id, context_base = seeded.section_id, seeded.context_base
    await engine.dispose()
    sealed = []
    for i, (token, code, key) in enumerate(bidders):
        folder = tmp / f"docs{i}"
        folder.mkdir()
        (folder / "技术标.bin").write_bytes(os.urandom(document_kib * 1024))
        out = tmp / f"bid{i}.bid"
        seal_bid(
            BidContext(bidder_credit_code=code, **context_base),
            key,
            {"total_price_fen": 4_000_000_000 + i, "duration_days": 240, "quality": "合格"},
            folder,
            out,
        )
        sealed.append((token, out))
    return section_id, sealed


class Outcome(NamedTuple):
    seconds: float  # the whole submission
    status: int  # the last answer's status, 0 if the connection failed
    leaf_hash: str = ""  # the receipt's
    receipted_at: float = 0.0  # wall clock (time.time) when the receipt arrived


async def submit(port: int, token: str, section_id: int, path: Path, mode: str) -> Outcome:
    """One bidder's whole submission on its own connection."""
    conn = Connection("127.0.0.1", port)
    t = time.perf_counter()
    try:
        if mode == "file":
            seconds, status, body = await _submit_file(conn, token, section_id, path)
        else:
            seconds, status, body = await _submit(conn, token, section_id, path)
    except (OSError, asyncio.IncompleteReadError):
        return Outcome(time.perf_counter() - t, 0)
    finally:
        await conn.close()
    if status != 201:
        return Outcome(seconds, status)
    return Outcome(seconds, status, json.loads(body)["receipt"]["document"]["leaf_hash"], time.time())


async def _submit_file(conn: Connection, token: str, section_id: int, path: Path) -> tuple[float, int, bytes]:
    """The sealed bid file in one request, as `bidding submit` sends a bid under 16 MiB."""
    data = path.read_bytes()  # noqa: ASYNC240 (before the clock starts)
    t = time.perf_counter()
    status, body = await conn.request(
        "POST", f"/api/sections/{section_id}/bids/file", headers={"Authorization": f"Bearer {token}"}, body=data
    )
    return time.perf_counter() - t, status, body


async def _submit(conn: Connection, token: str, section_id: int, path: Path) -> tuple[float, int, bytes]:
    sealed = read_sealed_bid(path)
    headers = {"Authorization": f"Bearer {token}"}
    t = time.perf_counter()
    status, body = await conn.request(
        "POST",
        f"/api/sections/{section_id}/bids",
        headers=headers,
        json_body={
            "manifest": base64.b64encode(sealed.manifest_bytes).decode(),
            "signature": base64.b64encode(sealed.signature).decode(),
            "sealed_shares": {e: [base64.b64encode(x).decode() for x in v] for e, v in sealed.sealed_shares.items()},
        },
    )
    if status != 201:
        return time.perf_counter() - t, status, body
    upload_id = json.loads(body)["upload_id"]
    for envelope in ("price", "documents"):
        data = b"".join(sealed.iter_ciphertext(envelope))
        status, _ = await conn.request(
            "PUT", f"/api/uploads/{upload_id}/{envelope}?offset=0", headers=headers, body=data
        )
        if status != 200:
            return time.perf_counter() - t, status, b""
    status, body = await conn.request("POST", f"/api/uploads/{upload_id}/complete", headers=headers)
    return time.perf_counter() - t, status, body


#: The floor is measured this many times on the same connections: the first run cold, as the first storm meets the
#: app, the later ones warm (their statements planned once and kept), as the later storms do.
FLOOR_RUNS = 3


async def floor(dsn: str, n: int, size: int, connections: int) -> list[tuple[float, list[float]]]:
    """FLOOR_RUNS runs of N concurrent INSERT + COMMIT of *size* random bytes each, on a pool of *connections*
    opened before any is timed: (rows per second, each row's seconds) for each run."""
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    await pool.execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial primary key, key text unique, data bytea)")
    payload = os.urandom(size)

    async def run() -> tuple[float, list[float]]:
        latencies = []

        async def one(i: int) -> None:
            t = time.perf_counter()
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO bench_floor (key, data) VALUES ($1, $2)", f"k{i}-{time.time_ns()}", payload
                )
            latencies.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        await asyncio.gather(*[one(i) for i in range(n)])
        return n / (time.perf_counter() - t0), latencies

    try:
        return [await run() for _ in range(FLOOR_RUNS)]
    finally:
        await pool.close()


def _postgres_cpu() -> float:
    """CPU seconds used so far by this machine's PostgreSQL processes (0 if it runs elsewhere)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, _, rest = stat.read_text().rpartition(")")
        except OSError:
            continue
        if head.endswith("(postgres"):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@contextmanager
def _perf(out: str | None) -> Iterator[None]:
    """With BENCH_PERF=out.data, the whole machine sampled by ``perf record`` during a storm alone (each storm
    writes the file afresh: it holds the last): where PostgreSQL's share of the CPU goes (``perf report -i
    out.data --comm postgres``), which py-spy cannot see."""
    if not out:
        yield
        return
    perf = subprocess.Popen(["perf", "record", "-a", "-g", "-F", "999", "-o", out], stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # perf has started sampling
    try:
        yield
    finally:
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=60)


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


async def integrated(dsn: str, receipts: list[Outcome], wait: float = 60) -> tuple[float, list[float]]:
    """Wait until the storm's receipted bids are all in the log; (bid entries integrated per second, from the
    first receipt to the last integration; each receipt's seconds from its arrival at the bidder to its entry's
    integration into a signed checkpoint — the database's clock and this machine's are the same clock)."""
    wanted = {bytes.fromhex(r.leaf_hash): r.receipted_at for r in receipts}
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + wait
        while True:
            rows = await conn.fetch(
                "SELECT leaf_hash, integrated_at FROM log_entries WHERE leaf_hash = ANY($1::bytea[])", list(wanted)
            )
            if len(rows) >= len(wanted):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the log did not take in the storm's bids within {wait:.0f} s")
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    lag = [max(0.0, r["integrated_at"].timestamp() - wanted[bytes(r["leaf_hash"])]) for r in rows]
    first = min(wanted.values())
    last = max(r["integrated_at"].timestamp() for r in rows)
    return len(rows) / max(last - first, 1e-3), lag


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bidders", type=int, default=200)
    parser.add_argument(
        "--connections",
        type=int,
        default=20,
        help="database connections: the floor's pool, and the app's pools across its workers",
    )
    parser.add_argument(
        "--overflow",
        type=int,
        default=0,
        help="connections each worker may open beyond its pool in the storm (TRADING_POOL_OVERFLOW; -1: as many "
        "as its pool); 0, the default here as in trading serve, holds the app to --connections",
    )
    parser.add_argument("--document-kib", type=int, default=64)
    parser.add_argument(
        "--storms",
        type=int,
        default=2,
        help="storms of --bidders each, one after another (other bidders each time): the first meets a cold app, "
        "the later ones a warm one",
    )
    parser.add_argument(
        "--server", default=os.environ.get("TRADING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--mode",
        choices=("file", "pieces"),
        default="file",
        help="file: the sealed file in one request (as bidding submit sends a bid under 16 MiB); "
        "pieces: begin, upload both ciphertexts, complete (the resumable path of big bids)",
    )
    args = parser.parse_args()
    name = "trading_bench_bids"
    url = fresh_database(args.server, name)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    tmp = Path(tempfile.mkdtemp(prefix="bench-bids-"))
    settings = Settings(
        database_url=url,
        blob_dir=str(tmp / "blobs"),
        signing_key_path=str(tmp / "key.pem"),
        password_memory_cost=1024,
        password_iterations=1,
        pool_size=max(1, args.connections // args.workers),
    )
    total = args.bidders * args.storms
    print(f"seeding and sealing {total} bids ({args.storms} storms of {args.bidders}) …", file=sys.stderr)
    section_id, sealed = asyncio.run(seed(settings, total, tmp, args.document_kib))
    env = dict(
        os.environ,
        TRADING_DATABASE_URL=url,
        TRADING_BLOB_DIR=settings.blob_dir,
        TRADING_SIGNING_KEY_PATH=settings.signing_key_path,
        TRADING_POOL_SIZE=str(max(1, args.connections // args.workers)),
        TRADING_POOL_OVERFLOW=str(args.overflow),
    )
    size = sealed[0][1].stat().st_size
    how = "one request each (the sealed file)" if args.mode == "file" else "begin + 2 uploads + complete"
    print(
        f"\ndeadline storm — {args.bidders} bidders at once, {args.document_kib} KiB documents "
        f"({size:,} bytes sealed), {how}, PostgreSQL, {args.workers} uvicorn worker(s), {os.cpu_count()} cores"
    )
    with serve_app(env, args.port, workers=args.workers) as served:
        storms = [
            _storm(served, dsn, args, section_id, sealed[i * args.bidders : (i + 1) * args.bidders])
            for i in range(args.storms)
        ]
    floors = asyncio.run(floor(dsn, args.bidders, size, args.connections))
    cold, warm = _cold_and_warm(floors)
    bare = {
        what: _bare_runs(dsn if what == "stored" else "", args, size, port=args.port + 1) for what in ("stored", "read")
    }
    print(
        "the first storm meets a cold app (its connections new, every statement planned afresh); the later ones, "
        "other bidders, a warm one, as at a deadline after a morning's bids. The floor likewise: its first run, "
        f"then the better of {len(floors) - 1} more on the same connections."
    )
    print(f"{'what':44} {'per s':>9} {'p50 ms':>9} {'p99 ms':>9} {'vs floor':>9}")
    for i, (measured, (floor_rate, floor_lat)) in enumerate(
        zip(storms, [cold] + [warm] * (len(storms) - 1), strict=True)
    ):
        when = "cold" if i == 0 else "warm"
        if i < 2:
            print(
                f"{f'raw asyncpg INSERT+COMMIT of the same bytes, {when}':44} {floor_rate:9.0f} "
                f"{_ms(floor_lat, 0.5):9.1f} {_ms(floor_lat, 0.99):9.1f} {1:9.2f}"
            )
        measured.report(f"storm {i + 1} ({when})", floor_rate)
    print(
        "\nthe bare endpoint: a raw ASGI app (bench/_bare.py; no framework, no checks) under the same uvicorn, "
        f"{args.workers} worker(s), taking the same bytes from as many clients at once — the least an HTTP service "
        "in Python does here for each bid; its first run, then the better of the rest"
    )
    for what, label in (("stored", "bare endpoint + INSERT+COMMIT"), ("read", "bare endpoint, body read only")):
        for i, run in enumerate(_cold_and_warm(bare[what])):
            rate, latencies, cpu = run
            floor_rate, when = (cold[0], "cold") if i == 0 else (warm[0], "warm")
            print(
                f"{f'{label}, {when}':44} {rate:9.0f} {_ms(latencies, 0.5):9.1f} "
                f"{_ms(latencies, 0.99):9.1f} {rate / floor_rate:9.2f}   server CPU "
                f"{1000 * cpu / args.bidders:.1f} ms per request"
            )
    bare_cold, bare_warm = _cold_and_warm(bare["stored"])
    for i, measured in enumerate(storms):
        bare_rate = (bare_cold if i == 0 else bare_warm)[0]
        print(
            f"storm {i + 1}: {measured.rate / bare_rate:.2f} of the bare endpoint + INSERT+COMMIT "
            f"({'cold' if i == 0 else 'warm'})"
        )
    return 0


def _cold_and_warm(runs: list[Any]) -> tuple[Any, Any]:
    """Of FLOOR_RUNS runs, each (rate, …): the first (cold) and the fastest of the rest (warm)."""
    return runs[0], max(runs[1:], key=lambda run: run[0])


def _bare_runs(dsn: str, args: argparse.Namespace, size: int, port: int) -> list[tuple[float, list[float], float]]:
    """FLOOR_RUNS storms of --bidders POSTs of *size* bytes at bench/_bare.py under uvicorn (storing each body
    when *dsn* is set): (requests per second, each request's seconds, the server's CPU seconds) for each run."""
    env = dict(os.environ, BARE_DSN=dsn, BARE_POOL=str(max(1, args.connections // args.workers)))
    command = [sys.executable, "-m", "uvicorn", "bench._bare:app", "--port", str(port), "--workers", str(args.workers)]
    command += ["--http", "httptools", "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    body = os.urandom(size)

    async def run() -> tuple[float, list[float]]:
        async def one() -> float:
            conn = Connection("127.0.0.1", port)
            try:
                t = time.perf_counter()
                status, _ = await conn.request("POST", "/bids", headers={"Authorization": "Bearer x"}, body=body)
                if status != 201:
                    raise SystemExit(f"the bare endpoint answered {status}")
                return time.perf_counter() - t
            finally:
                await conn.close()

        t0 = time.perf_counter()
        latencies = await asyncio.gather(*[one() for _ in range(args.bidders)])
        return args.bidders / (time.perf_counter() - t0), list(latencies)

    try:
        for _ in range(100):
            if listening_sockets(port) >= 1:
                break
            time.sleep(0.2)
        time.sleep(2)  # every worker started, its pool open
        runs = []
        for _ in range(FLOOR_RUNS):
            cpu = cpu_seconds(server.pid)
            rate, latencies = asyncio.run(run())
            runs.append((rate, latencies, cpu_seconds(server.pid) - cpu))
        return runs
    finally:
        server.terminate()
        server.wait(timeout=10)


class Storm(NamedTuple):
    elapsed: float
    results: list[Outcome]
    integration: tuple[float, list[float]]
    app_cpu: float
    spread: list[float]
    database_cpu: float
    client_cpu: float

    @property
    def receipted(self) -> list[float]:
        """The receipted submissions' seconds."""
        return [r.seconds for r in self.results if r.status == 201]

    @property
    def rate(self) -> float:
        """Receipted bids per second."""
        return len(self.receipted) / self.elapsed

    def report(self, name: str, floor_rate: float) -> None:
        receipted, rate = self.receipted, self.rate
        n = len(receipted)
        if receipted:
            print(
                f"{f'{name}: receipted sealed bids':44} {rate:9.0f} {_ms(receipted, 0.5):9.1f} "
                f"{_ms(receipted, 0.99):9.1f} {rate / floor_rate:9.2f}"
            )
            leaves_per_s, lag = self.integration
            print(
                f"{'  log: integrated / receipt → checkpoint':44} {leaves_per_s:9.0f} {_ms(lag, 0.5):9.1f} "
                f"{_ms(lag, 0.99):9.1f} {leaves_per_s / rate:9.2f}x receipts"
            )
        print(
            f"  app CPU: {self.app_cpu:.2f} s for {n} bids = {1000 * self.app_cpu / max(1, n):.1f} ms per bid "
            f"(all worker processes, as /proc counts it; by process: "
            f"{', '.join(f'{v:.2f}' for v in self.spread if v >= 0.01)} s over {self.elapsed:.1f} s); "
            f"PostgreSQL {self.database_cpu:.2f} CPU-s = {1000 * self.database_cpu / max(1, n):.1f} ms per bid; "
            f"this load generator {self.client_cpu:.2f} CPU-s"
        )
        others = sorted({r.status for r in self.results if r.status != 201})
        print(f"  receipts: {n}/{len(self.results)}; other answers: {others}")


def _storm(served: Any, dsn: str, args: argparse.Namespace, section_id: int, sealed: list[tuple[str, Path]]) -> Storm:
    """All of *sealed* submitted at once, and what it cost."""

    async def storm() -> tuple[float, list[Outcome]]:
        t0 = time.perf_counter()
        results = await asyncio.gather(*[submit(args.port, tok, section_id, p, args.mode) for tok, p in sealed])
        return time.perf_counter() - t0, results

    cpu, each = served.cpu_seconds(), served.cpu_by_process()
    database = _postgres_cpu()
    own = resource.getrusage(resource.RUSAGE_SELF)  # (after the reading of /proc, which is not the storm's)
    with _perf(os.environ.get("BENCH_PERF")):
        elapsed, results = asyncio.run(storm())
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = served.cpu_seconds() - cpu
    database = _postgres_cpu() - database
    client = after.ru_utime + after.ru_stime - own.ru_utime - own.ru_stime
    spread = sorted((v - each.get(p, 0.0) for p, v in served.cpu_by_process().items()), reverse=True)
    integration = asyncio.run(integrated(dsn, [r for r in results if r.status == 201]))
    return Storm(elapsed, results, integration, cpu, spread, database, client)


if __name__ == "__main__":
    raise SystemExit(main())
