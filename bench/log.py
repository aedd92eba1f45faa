"""The transparency log on PostgreSQL: appends under a deadline storm, and proofs from large trees.

    .venv/bin/python bench/log.py --writers 64 --seconds 10 --sizes 1000000,10000000

1. Appends. W concurrent writers (one session per append, as one request each) queue sealed-bid entries with
   ``services.append`` and commit, for D seconds, while two integrators run ``integrate_once`` every 250 ms
   (as ``trading/log/integrator.py`` does; they serialise on the size counter's row lock). It prints
   committed appends/s against a floor measured in the same run — the same W tasks doing raw asyncpg
   ``BEGIN; INSERT …; COMMIT`` of the same rows into a plain table with one unique key — then integrated
   leaves/s and the integration lag (from an append's commit to the commit of the round that integrated it,
   on one monotonic clock), and checks the result: leaf indices 0..n-1 without gaps or duplicates, every
   event key once, the signed checkpoint's root equal to the root of the leaf hashes. Writers and integrators
   share this one Python process, as requests and the integrator share a worker, so the CPU time per append
   is printed too: it says whether the client or the database is the limit.
2. Proofs. For each size N it builds a log of N leaves directly (leaf hashes and every perfect subtree
   computed in memory with ``merkle.new_nodes``, 65,536 leaves at a time, copied into ``log_nodes``; no
   ``log_entries`` rows, which proofs never read) plus a signed checkpoint for N, then times
   ``services.inclusion_proof``, ``services.consistency_proof`` and the root (``root_plan`` fetched, then
   ``root_from_nodes``) at random positions, interleaved, against a floor measured the same way in the same
   run: a single-row primary-key SELECT on ``log_nodes`` through the same session. A sample of the proofs is
   verified with the RFC 9162 verifiers against the root computed while building.

No timing is asserted anywhere: these are measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import sys
import time
from bisect import bisect_right
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.datastructures import State
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trading.canonical import canonical_bytes  # noqa: E402
from trading.clock import DatabaseClock  # noqa: E402
from trading.db import make_engine, make_sessionmaker  # noqa: E402
from trading.log import merkle, services  # noqa: E402
from trading.log.integrator import integrate_once  # noqa: E402
from trading.log.models import LogEntry, LogNode  # noqa: E402
from trading.log.note import Checkpoint, NoteSigner, format_checkpoint  # noqa: E402
from trading.migrate import upgrade  # noqa: E402
from trading.settings import Settings  # noqa: E402

ORIGIN = "ggzy.hunan.example/log"
INTERVAL = 0.25
BUILD_BATCH = 1 << 16
TRADE_CODE = "E4301000001002025003"

FLOOR_TABLE = (
    "CREATE TABLE floor_entries (event_key varchar(200) PRIMARY KEY, kind varchar(40) NOT NULL,"
    " data bytea NOT NULL, created_at timestamptz NOT NULL)"
)
FLOOR_INSERT = "INSERT INTO floor_entries (event_key, kind, data, created_at) VALUES ($1, $2, $3, $4)"


def bid_submission(writer: int, seq: int, at: datetime) -> dict[str, object]:
    """The entry a sealed bid's submission leaves in the log (~300 bytes canonical)."""
    return {
        "kind": "bid_submission",
        "trade_code": TRADE_CODE,
        "section_code": f"{TRADE_CODE}-{writer % 3 + 1:02d}",
        "bidder_credit_code": f"91430100MA4L{writer:05d}X",
        "submission_no": seq + 1,
        "envelopes": ["commercial", "technical"],
        "manifest_sha256": hashlib.sha256(f"manifest:{writer}:{seq}".encode()).hexdigest(),
        "submitted_at": at.isoformat(timespec="microseconds"),
    }


def _leaf_template() -> bytes:
    """Canonical bytes of a bid entry with ``%d`` where the leaf number goes (built trees use leaf i = t % i)."""
    doc = bid_submission(7, 0, datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    doc["submission_no"] = "@@"
    return canonical_bytes(doc).replace(b"%", b"%%").replace(b'"@@"', b"%d")


LEAF_TEMPLATE = _leaf_template()


def leaf_data(i: int) -> bytes:
    return LEAF_TEMPLATE % i


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _db_url(server: str, name: str) -> str:
    return make_url(server).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


async def _create_database(server: str, name: str, *, reuse: bool = False) -> bool:
    """Create *name* (dropping an old one unless *reuse*); True when an existing database was kept."""
    conn = await asyncpg.connect(_dsn(server))
    try:
        if reuse and await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return True
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        return False
    finally:
        await conn.close()


async def _drop_database(server: str, name: str) -> None:
    conn = await asyncpg.connect(_dsn(server))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --- 1. appends under a deadline storm -----------------------------------------------------------------------


async def floor_appends(dsn: str, writers: int, seconds: float) -> tuple[int, float, float, list[float]]:
    """The same W tasks doing raw asyncpg BEGIN; INSERT; COMMIT of equivalent rows into a plain table."""
    conns = [await asyncpg.connect(dsn) for _ in range(writers)]
    await conns[0].execute(FLOOR_TABLE)
    latencies: list[float] = []
    try:
        for k, conn in enumerate(conns):  # warm up: prepare the insert on every connection
            at = datetime.now(UTC)
            await conn.execute(
                FLOOR_INSERT, f"warmup:{k}", "bid_submission", canonical_bytes(bid_submission(k, -1, at)), at
            )
        deadline = time.perf_counter() + seconds

        async def writer(k: int, conn: asyncpg.Connection) -> None:
            seq = 0
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                at = datetime.now(UTC)
                data = canonical_bytes(bid_submission(k, seq, at))
                async with conn.transaction():
                    await conn.execute(FLOOR_INSERT, f"bid:{k}:{seq}", "bid_submission", data, at)
                latencies.append(time.perf_counter() - t)
                seq += 1

        t0, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*[writer(k, c) for k, c in enumerate(conns)])
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        for conn in conns:
            await conn.close()
    return len(latencies), elapsed, cpu, latencies


class Storm:
    """The log side of the storm: writers appending through the service, integrators folding them in."""

    def __init__(self, url: str, writers: int, integrators: int) -> None:
        self.settings = Settings(
            database_url=url, pool_size=writers + integrators + 2, log_origin=ORIGIN, log_interval=INTERVAL
        )
        self.engine = make_engine(self.settings)
        self.signer = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
        self.state = State(
            {
                "settings": self.settings,
                "sessionmaker": make_sessionmaker(self.engine),
                "clock": DatabaseClock(),
                "log_signer": self.signer,
            }
        )
        self.writers = writers
        self.integrators = integrators
        self.commits: list[tuple[str, float]] = []  # (event key, when its commit returned)
        self.latencies: list[float] = []
        self.rounds: list[tuple[float, int]] = []  # (when a round's commit returned, tree size after it)
        self.round_times: list[float] = []
        self.failures = 0
        self.target: int | None = None
        self.drained = asyncio.Event()

    async def append(self, k: int, seq: int) -> None:
        key = f"bid:{k}:{seq}"
        at = datetime.now(UTC)
        async with self.state.sessionmaker() as session:
            await services.append(
                session, event_key=key, kind="bid_submission", document=bid_submission(k, seq, at), at=at
            )
            await session.commit()
        self.commits.append((key, time.perf_counter()))

    async def integrator(self, stop: asyncio.Event) -> None:
        """``trading.log.integrator.run``, with each round timed and failures counted rather than logged."""
        while not stop.is_set():
            t = time.perf_counter()
            try:
                size = await integrate_once(self.state)
            except Exception as exc:
                self.failures += 1
                print(f"\n  integration round failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            else:
                if size is not None:
                    done = time.perf_counter()
                    self.rounds.append((done, size))
                    self.round_times.append(done - t)
                    if self.target is not None and size >= self.target:
                        self.drained.set()
            try:
                await asyncio.wait_for(stop.wait(), timeout=INTERVAL)
            except TimeoutError:
                pass

    async def run(self, seconds: float) -> dict[str, float]:
        await asyncio.gather(*[self.append(k, -1) for k in range(self.writers)])  # warm up the pool
        warmup = len(self.commits)
        stop = asyncio.Event()
        integrators = [asyncio.create_task(self.integrator(stop)) for _ in range(self.integrators)]
        t0, cpu0 = time.perf_counter(), time.process_time()
        deadline = t0 + seconds

        async def writer(k: int) -> None:
            seq = 0
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                await self.append(k, seq)
                self.latencies.append(time.perf_counter() - t)
                seq += 1

        await asyncio.gather(*[writer(k) for k in range(self.writers)])
        t1, cpu1 = time.perf_counter(), time.process_time()
        self.target = len(self.commits)  # every committed entry, the warm-up included
        if max((size for _, size in self.rounds), default=0) >= self.target:
            self.drained.set()
        try:
            await asyncio.wait_for(self.drained.wait(), timeout=300)
        except TimeoutError:
            print("\n  the integrators did not catch up within 300 s", file=sys.stderr)
        t2 = time.perf_counter()
        stop.set()
        await asyncio.gather(*integrators)
        while await integrate_once(self.state) is not None:  # a round that began before the drain finished
            pass

        def size_at(t: float) -> int:
            return max((size for done, size in self.rounds if done <= t), default=0)

        return {
            "elapsed": t1 - t0,
            "cpu": cpu1 - cpu0,
            "drain": t2 - t1,
            "appended": len(self.commits) - warmup,
            "integrated": size_at(t1) - size_at(t0),
            "backlog": len(self.commits) - size_at(t1),
            "rounds": sum(t0 < done <= t1 for done, _ in self.rounds),
        }

    async def lags(self) -> list[float]:
        """For each append: from its commit to the commit of the first round whose tree includes its leaf."""
        async with self.state.sessionmaker() as session:
            index = {key: leaf for key, leaf in await session.execute(select(LogEntry.event_key, LogEntry.leaf_index))}
        rounds = sorted(self.rounds)
        times = [done for done, _ in rounds]
        reach: list[int] = []
        for _, size in rounds:
            reach.append(max(size, reach[-1] if reach else 0))
        lags = []
        for key, committed in self.commits:
            leaf = index[key]
            first = bisect_right(reach, leaf)  # the first round whose tree has more than `leaf` leaves
            if first < len(times):
                lags.append(times[first] - committed)
        return lags

    async def check(self) -> tuple[bool, str]:
        """No gaps, no duplicates, every committed key once, and the signed root equal to the leaves' root."""
        async with self.state.sessionmaker() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT count(*), count(leaf_index), count(DISTINCT leaf_index), min(leaf_index), max(leaf_index),"
                        " count(DISTINCT event_key) FROM log_entries"
                    )
                )
            ).one()
            n, indexed, distinct, low, high, keys = row
            size = await services.tree_size(session)
            checkpoint = await services.latest_checkpoint(session)
            leaves = (
                await session.execute(select(LogEntry.data, LogEntry.leaf_hash).order_by(LogEntry.leaf_index))
            ).all()
            stored_root = merkle.root_from_nodes(n, await services._fetch_nodes(session, merkle.root_plan(n)))
        hashes = [merkle.leaf_hash(bytes(r.data)) for r in leaves]
        committed = len({key for key, _ in self.commits})
        facts = {
            f"{n:,} entries == {committed:,} committed appends": n == committed,
            f"leaf indices 0..{n - 1:,} without gaps or duplicates": (indexed, distinct, low, high) == (n, n, 0, n - 1),
            f"{keys:,} distinct event keys": keys == n,
            "stored leaf hashes match the data": hashes == [bytes(r.leaf_hash) for r in leaves],
            f"counter log_size == {size:,}": size == n,
            "latest checkpoint is for n and its root is the leaves' root (and the stored nodes')": (
                checkpoint is not None
                and checkpoint.size == n
                and checkpoint.root_hash == merkle.root_from_leaf_hashes(hashes) == stored_root
            ),
            "its note verifies": checkpoint is not None and self._verifies(checkpoint.note),
        }
        ok = all(facts.values())
        return ok, "; ".join(f"{fact}{'' if good else ' — FAILED'}" for fact, good in facts.items())

    def _verifies(self, note: str) -> bool:
        from trading.log.note import NoteError, verify_note

        try:
            verify_note(note, [self.signer.verifier()])
        except NoteError:
            return False
        return True


async def storm(args: argparse.Namespace) -> None:
    name = "trading_bench_log_storm"
    await _create_database(args.server, name)
    url = _db_url(args.server, name)
    entry_bytes = len(canonical_bytes(bid_submission(12, 345, datetime.now(UTC))))
    try:
        print(f"floor: {args.writers} raw asyncpg writers for {args.seconds:.0f} s …", file=sys.stderr)
        await _prepare_schema(url)
        floor_n, floor_elapsed, floor_cpu, floor_lat = await floor_appends(_dsn(url), args.writers, args.seconds)
        print(
            f"log: {args.writers} writers through services.append, {args.integrators} integrators, "
            f"{args.seconds:.0f} s …",
            file=sys.stderr,
        )
        log = Storm(url, args.writers, args.integrators)
        try:
            result = await log.run(args.seconds)
            lags = await log.lags()
            ok, facts = await log.check()
        finally:
            await log.engine.dispose()
    finally:
        await _drop_database(args.server, name)  # a storm starts from an empty log: nothing to reuse
    floor_rate = floor_n / floor_elapsed
    rate = result["appended"] / result["elapsed"]
    rounds = [(0.0, 0), *sorted(log.rounds)]
    per_round = [size - before for (_, size), (_, before) in zip(rounds[1:], rounds, strict=False)]

    def row(label: str, per_s: str, times: list[float] | None = None, cpu: str = "", ratio: str = "") -> None:
        ms = [f"{_pct(times, q) * 1e3:8.1f}" for q in (0.5, 0.99)] + [f"{max(times) * 1e3:8.1f}"] if times else [""] * 3
        print(f"{label:50} {per_s:>8} {ms[0]:>8} {ms[1]:>8} {ms[2]:>8} {cpu:>9} {ratio:>9}")

    print(
        f"\nlog appends — deadline storm on PostgreSQL: {args.writers} writers, {args.integrators} integrators "
        f"every {INTERVAL * 1000:.0f} ms, {args.seconds:.0f} s, entries of {entry_bytes} bytes"
    )
    print(f"{'':50} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'CPU µs/op':>9} {'vs floor':>9}")
    row(
        "raw asyncpg BEGIN/INSERT/COMMIT (floor)",
        f"{floor_rate:.0f}",
        floor_lat,
        f"{floor_cpu / floor_n * 1e6:.0f}",
        "1.00",
    )
    row(
        "services.append + commit",
        f"{rate:.0f}",
        log.latencies,
        f"{result['cpu'] / result['appended'] * 1e6:.0f}",
        f"{rate / floor_rate:.2f}",
    )
    row("integrated leaves committed during the storm", f"{result['integrated'] / result['elapsed']:.0f}")
    row("integration lag (append commit → round commit)", "", lags)
    row(
        "integrate_once rounds that did work",
        f"{len(log.rounds) / (result['elapsed'] + result['drain']):.1f}",
        log.round_times,
    )
    print(
        f"(CPU: this process's CPU time per committed append — on the services.append line the integrators' "
        f"included; rounds committed during the storm: {result['rounds']}; leaves per round p50 "
        f"{statistics.median(per_round or [0]):.0f}, max {max(per_round or [0]):,}; backlog when the writers "
        f"stopped: {result['backlog']:,} entries, drained in {result['drain']:.2f} s; failed rounds: {log.failures})"
    )
    print(f"check: {'OK' if ok else 'FAILED'} — {facts}")


async def _prepare_schema(url: str) -> None:
    engine = make_engine(Settings(database_url=url))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


# --- 2. proofs from large trees ------------------------------------------------------------------------------


def _build_batch(
    start: int, count: int, frontier: dict[merkle.Node, bytes]
) -> tuple[list[tuple[int, int, bytes]], dict[merkle.Node, bytes]]:
    """The log_nodes rows completed by leaves [start, start+count), and the new right edge of the tree."""
    hashes = [merkle.leaf_hash(LEAF_TEMPLATE % i) for i in range(start, start + count)]
    made = merkle.new_nodes(start, hashes, {node: frontier[node] for node in merkle.append_plan(start, count)})
    edge = {node: made[node] if node in made else frontier[node] for node in merkle.perfect_subtrees(0, start + count)}
    return [(level, index, digest) for (level, index), digest in made.items()], edge


async def build_tree(url: str, n: int, signer: NoteSigner) -> tuple[bytes, float]:
    """Copy every perfect subtree of an n-leaf log into log_nodes; sign a checkpoint for n. Returns the root."""
    await _prepare_schema(url)
    conn = await asyncpg.connect(_dsn(url))
    t0 = time.perf_counter()
    try:
        edge: dict[merkle.Node, bytes] = {}
        size = 0
        copying: asyncio.Task[str] | None = None
        while size < n:
            count = min(BUILD_BATCH, n - size)
            # hash the next batch in a thread while the previous one is copied
            rows, edge = await asyncio.to_thread(_build_batch, size, count, edge)
            if copying is not None:
                await copying
            copying = asyncio.create_task(
                conn.copy_records_to_table("log_nodes", records=rows, columns=["level", "index", "hash"])
            )
            size += count
            rate = size / (time.perf_counter() - t0)
            print(f"\r  built {size:,}/{n:,} leaves ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
        if copying is not None:
            await copying
        root = merkle.root_from_nodes(n, edge)
        note = signer.sign(format_checkpoint(Checkpoint(origin=ORIGIN, size=n, root_hash=root)))
        await conn.execute("INSERT INTO counters (name, value) VALUES ($1, $2)", services.SIZE_COUNTER, n)
        await conn.execute(
            "INSERT INTO log_checkpoints (size, root_hash, note, created_at) VALUES ($1, $2, $3, $4)",
            n,
            root,
            note,
            datetime.now(UTC),
        )
        print("\n  vacuum analyze log_nodes …", file=sys.stderr, flush=True)
        await conn.execute("VACUUM (ANALYZE) log_nodes")
    finally:
        await conn.close()
    return root, time.perf_counter() - t0


async def _built_root(url: str, n: int) -> bytes | None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        return await conn.fetchval("SELECT root_hash FROM log_checkpoints WHERE size = $1", n)
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()


async def proofs(args: argparse.Namespace, n: int) -> None:
    name = f"trading_bench_log_{n}"
    url = _db_url(args.server, name)
    kept = await _create_database(args.server, name, reuse=args.reuse)
    root = await _built_root(url, n) if kept else None
    build_note = "reused"
    try:
        if root is None:
            if kept:
                await _create_database(args.server, name)
            print(f"building a log of {n:,} leaves in {name} …", file=sys.stderr)
            root, seconds = await build_tree(url, n, NoteSigner(ORIGIN, Ed25519PrivateKey.generate()))
            build_note = f"built in {seconds:.0f} s ({n / seconds:,.0f} leaves/s)"
        await _time_proofs(url, n, root, args.proofs, build_note)
    finally:
        if not args.reuse:
            await _drop_database(args.server, name)


async def _time_proofs(url: str, n: int, root: bytes, count: int, build_note: str) -> None:
    engine = make_engine(Settings(database_url=url, pool_size=2))
    rng = random.Random(n)
    samples: dict[str, list[float]] = {"floor": [], "inclusion": [], "consistency": [], "root": [], "size_check": []}
    nodes: dict[str, list[int]] = {
        "floor": [1],
        "root": [len(merkle.root_plan(n))],
        "inclusion": [],
        "consistency": [],
        "size_check": [0],
    }
    try:
        async with make_sessionmaker(engine)() as session:
            sizes = (
                await session.execute(
                    text(
                        "SELECT pg_size_pretty(pg_table_size('log_nodes')), pg_size_pretty(pg_indexes_size('log_nodes')),"
                        " (SELECT count(*) FROM log_nodes)"
                    )
                )
            ).one()
            stored_root = merkle.root_from_nodes(n, await services._fetch_nodes(session, merkle.root_plan(n)))

            async def floor() -> None:
                await session.scalar(select(LogNode.hash).where(LogNode.level == 0, LogNode.index == rng.randrange(n)))

            async def inclusion() -> None:
                index = rng.randrange(n)
                nodes["inclusion"].append(len(set(merkle.inclusion_plan(index, n))))
                await services.inclusion_proof(session, index, n)

            async def consistency() -> None:
                first = rng.randrange(1, n)
                nodes["consistency"].append(len(set(merkle.consistency_plan(first, n))))
                await services.consistency_proof(session, first, n)

            async def size_check() -> None:
                await services.latest_checkpoint(session)

            async def root_hash() -> None:
                merkle.root_from_nodes(n, await services._fetch_nodes(session, merkle.root_plan(n)))

            ops = {
                "floor": floor,
                "inclusion": inclusion,
                "consistency": consistency,
                "root": root_hash,
                "size_check": size_check,
            }
            for _ in range(max(50, count // 20)):  # warm up: prepared statements and the pages near the root
                for op in ops.values():
                    await op()
            nodes["inclusion"].clear()
            nodes["consistency"].clear()
            for _ in range(count):
                order = list(ops)
                rng.shuffle(order)  # interleaved, so drift affects every operation alike
                for key in order:
                    t = time.perf_counter()
                    await ops[key]()
                    samples[key].append(time.perf_counter() - t)

            verified = {"inclusion": [0, 0], "consistency": [0, 0]}
            for _ in range(200):
                index = rng.randrange(n)
                proof = await services.inclusion_proof(session, index, n)
                good = merkle.verify_inclusion(merkle.leaf_hash(leaf_data(index)), index, n, proof, root)
                verified["inclusion"][0] += good
                verified["inclusion"][1] += 1
                first = rng.randrange(1, n)
                first_root = merkle.root_from_nodes(
                    first, await services._fetch_nodes(session, merkle.root_plan(first))
                )
                proof = await services.consistency_proof(session, first, n)
                verified["consistency"][0] += merkle.verify_consistency(first, n, first_root, root, proof)
                verified["consistency"][1] += 1
    finally:
        await engine.dispose()

    floor_p50 = statistics.median(samples["floor"])
    print(
        f"\nproofs — PostgreSQL, a log of {n:,} leaves ({sizes[2]:,} stored nodes, table {sizes[0]}, "
        f"index {sizes[1]}; {build_note}), {count} of each, interleaved"
    )
    print(f"{'operation':50} {'p50 ms':>8} {'p99 ms':>8} {'nodes p50':>10} {'nodes max':>10} {'vs PK read':>11}")
    labels = {
        "floor": "single-row PK SELECT on log_nodes (floor)",
        "inclusion": "services.inclusion_proof",
        "consistency": "services.consistency_proof",
        "root": "root (root_plan fetched + root_from_nodes)",
        "size_check": "latest_checkpoint (every proof's size check)",
    }
    for key, label in labels.items():
        p50 = statistics.median(samples[key])
        print(
            f"{label:50} {p50 * 1e3:8.2f} {_pct(samples[key], 0.99) * 1e3:8.2f} "
            f"{statistics.median(nodes[key]):10.0f} {max(nodes[key]):10d} {p50 / floor_p50:11.2f}"
        )
    inc, con = verified["inclusion"], verified["consistency"]
    ok = inc[0] == inc[1] and con[0] == con[1] and stored_root == root
    print(
        f"check: {'OK' if ok else 'FAILED'} — {inc[0]}/{inc[1]} inclusion proofs (leaf hashes recomputed from the "
        f"data) and {con[0]}/{con[1]} consistency proofs verify against the root computed while building; "
        f"the root from stored nodes {'equals' if stored_root == root else 'DIFFERS FROM'} it"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=64, help="concurrent appending tasks")
    parser.add_argument("--seconds", type=float, default=10, help="duration of the storm (and of its floor)")
    parser.add_argument("--integrators", type=int, default=2, help="integrator tasks (they serialise on a row lock)")
    parser.add_argument("--sizes", default="1000000,10000000", help="tree sizes for the proof timings, comma-separated")
    parser.add_argument("--proofs", type=int, default=2000, help="timed operations of each kind per tree size")
    parser.add_argument("--only", choices=["appends", "proofs"], help="run one half only")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the built trees (trading_bench_log_<N>) and reuse them next time"
    )
    parser.add_argument(
        "--server", default=os.environ.get("TRADING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()

    if args.only != "proofs":
        asyncio.run(storm(args))
    if args.only != "appends":
        for n in (int(s) for s in args.sizes.split(",") if s.strip()):
            asyncio.run(proofs(args, n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
