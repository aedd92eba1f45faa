"""A big bid from the bidder's disk to the platform's: `bidding seal`, then `bidding submit` to `trading serve`.

    .venv/bin/python bench/bigbid.py              # a 2 GiB documents folder
    .venv/bin/python bench/bigbid.py --gib 0.25   # a quick run

Creates a fresh PostgreSQL database (trading_bench_bigbid), seeds a section with a three-opener committee and
two bidders with registered signing keys (through the platform's services), starts the real server
(`trading serve`), and runs the real command lines as a bidder would: `bidding fetch`, then `bidding seal` of a
folder of random files (--gib GiB, written in chunks), then `bidding submit`. A first bidder seals and submits
a 1 MiB folder the same way: its figures are the programs' own size, and the big bid's memory is reported as
growth over them. The server's memory (the RSS of every process of `trading serve`) is sampled throughout.

The floors, measured in the same run on the same disk:
- for seal: a raw read of the documents, a raw AES-256-GCM pass over the same bytes (cryptography's AESGCM, the
  envelope's 64 KiB chunks), a SHA-256 pass, and a raw write+fsync of as many bytes as the sealed file has —
  the work sealing cannot avoid, one after the other as `bidding seal` does it on one core;
- for submit: a raw copy of the sealed file's bytes into a new file in the blob store's directory, with one
  fsync at the end (the mean of one copy just before the submit and one just after: on a shared virtual disk
  the same copy takes anywhere from 2 to 8 s for 2 GiB, so both are printed); with ``--store s3`` (a private
  SeaweedFS on 127.0.0.1, its data on the same disk, as tests/s3server.py starts it), a raw multipart PUT of
  the sealed file into the same bucket by obstore, with its default parts and concurrency.
Ratios are floor seconds / seconds (1.00 = as fast as the floor). Everything runs on 127.0.0.1. No timing is
asserted anywhere: these are measurements.

--profile DIR runs the client commands and the server under py-spy (``pip install py-spy``) and leaves raw
(collapsed-stack) profiles there: seal.txt, submit.txt and server.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _app import fresh_database  # noqa: E402
from _section import seed_bidders, seed_section  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from trading.db import make_engine, make_sessionmaker  # noqa: E402
from trading.migrate import upgrade  # noqa: E402
from trading.settings import Settings  # noqa: E402

BIN = Path(sys.executable).parent
MIB = 1024 * 1024
WRITE_CHUNK = 8 * MIB
FILE_SIZE = 256 * MIB  # the documents folder holds files of at most this size, as a real bid's would
AEAD_CHUNK = 65536  # the envelope's chunk size (bidding.envelope.aead.DEFAULT_CHUNK_SIZE)


@dataclass
class Bidder:
    code: str
    token: str
    key_path: Path


async def seed(settings: Settings, folder: Path) -> tuple[int, list[Bidder]]:
    """A section taking bids for three hours, and two bidders (a signing key each, registered)."""
    engine = make_engine(settings)
    await upgrade(engine)
    sm = make_sessionmaker(engine)
    now = datetime.now(UTC)
    published = now - timedelta(days=21)
    bidders = []
    async with sm() as s:
        seeded = await seed_section(s, settings, published=published, deadline=now + timedelta(hours=3))
        for i, b in enumerate(
            await seed_bidders(s, settings, 2, at=published, series="MB", name="湖南第{i}路桥建设有限公司")
        ):
            key_path = folder / f"bidder{i}.pem"
            key_path.write_bytes(
                b.key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            bidders.append(Bidder(b.credit_code, b.token, key_path))
        await s.commit()
    await engine.dispose()
    return seeded.section_id, bidders


def make_documents(folder: Path, size: int) -> int:
    """A folder of random files adding up to *size* bytes, written in chunks (this process stays small)."""
    folder.mkdir(parents=True)
    left, index = size, 0
    while left:
        this = min(FILE_SIZE, left)
        with open(folder / f"技术标-{index:02d}.bin", "wb") as fh:
            done = 0
            while done < this:
                fh.write(os.urandom(min(WRITE_CHUNK, this - done)))
                done += min(WRITE_CHUNK, this - done)
        left -= this
        index += 1
    return size


# --- measuring processes ----------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0


def tree(pid: int) -> list[int]:
    """*pid* and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parent = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


class TreeSampler:
    """The summed RSS of a process tree, sampled every 20 ms in a thread; ``peak_since(mark)`` for a window."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._pids = tree(root)
        self._refreshed = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            if time.monotonic() - self._refreshed > 1:
                self._pids, self._refreshed = tree(self.root), time.monotonic()
            self.samples.append((time.monotonic(), sum(rss_kib(p) for p in self._pids)))

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def now(self) -> int:
        time.sleep(0.1)
        return self.samples[-1][1]

    def peak_since(self, mark: float) -> int:
        return max((kib for t, kib in self.samples if t >= mark), default=0)


@dataclass
class Run:
    seconds: float
    peak_kib: int
    output: str


#: Runs a command and writes its peak RSS (KiB) to the file named first. A small process forks the command, not
#: this one: a child's ru_maxrss counts the memory it had before exec, which would be all of this bench's.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(argv: list[str], *, env: dict[str, str], cwd: Path, profile: Path | None = None) -> Run:
    """Run a command line; its wall time and its own peak RSS (the kernel's high-water mark, from wait4)."""
    if profile is not None:
        argv = [
            str(BIN / "py-spy"),
            "record",
            "--format",
            "raw",
            "--rate",
            "100",
            "--idle",
            "-o",
            str(profile),
            "--",
            *argv,
        ]
    with tempfile.NamedTemporaryFile("r", prefix="maxrss-") as maxrss:
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", LAUNCHER, maxrss.name, *argv],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        seconds = time.perf_counter() - t
        peak = int(maxrss.read() or 0)
    text = done.stdout.decode(errors="replace")
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {done.returncode}:\n{text}")
    # Under py-spy the high-water mark is py-spy's or the child's, whichever is larger: no memory figures then.
    return Run(seconds, 0 if profile is not None else peak, text)


@contextmanager
def trading_serve(env: dict[str, str], port: int, workers: int, log: Path) -> Iterator[int]:
    """`trading serve` on 127.0.0.1:*port*; yields the root pid of its processes."""
    argv = [str(BIN / "trading"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with open(log, "wb") as out:
        server = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if server.poll() is not None:
                raise SystemExit(f"trading serve exited with {server.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise SystemExit("trading serve did not answer /healthz within 30 s")
        yield server.pid
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@contextmanager
def spying_on(pid: int, profile: Path | None) -> Iterator[None]:
    """py-spy attached to *pid* and its children for the block (nothing without a *profile* path)."""
    if profile is None:
        yield
        return
    argv = [str(BIN / "py-spy"), "record", "--format", "raw", "--rate", "100", "--idle", "--subprocesses"]
    spy = subprocess.Popen([*argv, "--pid", str(pid), "-o", str(profile)], stdout=subprocess.DEVNULL)
    time.sleep(1)  # attached
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes the profile and exits
        spy.wait(timeout=60)


def server_times(log: Path, start: int) -> dict[str, tuple[int, float]]:
    """Requests logged by the server from byte *start* of its log on: route → (count, seconds)."""
    times: dict[str, tuple[int, float]] = {}
    with open(log, "rb") as fh:
        fh.seek(start)
        for line in fh:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if "route" in entry and "duration_ms" in entry:
                key = f"{entry['method']} {entry['route']}"
                count, seconds = times.get(key, (0, 0.0))
                times[key] = (count + 1, seconds + entry["duration_ms"] / 1000)
    return times


# --- the floors -------------------------------------------------------------------------------------------------


def raw_read(paths: list[Path]) -> float:
    t = time.perf_counter()
    for path in paths:
        with open(path, "rb", buffering=0) as fh:
            while fh.read(MIB):
                pass
    return time.perf_counter() - t


def raw_aes_gcm(paths: list[Path]) -> float:
    """AES-256-GCM over the documents in the envelope's 64 KiB chunks, read in 1 MiB blocks (the reads are
    timed in raw_read; here the blocks come from the page cache as they would for the sealer)."""
    aead = AESGCM(os.urandom(32))
    nonce = bytes(12)
    spent = 0.0
    for path in paths:
        with open(path, "rb", buffering=0) as fh:
            while block := fh.read(MIB):
                t = time.perf_counter()
                view = memoryview(block)
                for start in range(0, len(block), AEAD_CHUNK):
                    aead.encrypt(nonce, view[start : start + AEAD_CHUNK], b"")
                spent += time.perf_counter() - t
    return spent


def raw_sha256(path: Path) -> float:
    digest = hashlib.sha256()
    spent = 0.0
    with open(path, "rb", buffering=0) as fh:
        while block := fh.read(MIB):
            t = time.perf_counter()
            digest.update(block)
            spent += time.perf_counter() - t
    return spent


def raw_write_fsync(folder: Path, size: int) -> float:
    """*size* bytes written to a new file in *folder* in 8 MiB writes, one fsync at the end."""
    block = os.urandom(WRITE_CHUNK)
    target = folder / f"floor-{os.getpid()}.bin"
    t = time.perf_counter()
    with open(target, "wb", buffering=0) as fh:
        left = size
        while left:
            left -= fh.write(memoryview(block)[: min(WRITE_CHUNK, left)])
        os.fsync(fh.fileno())
    spent = time.perf_counter() - t
    target.unlink()
    return spent


def raw_put_s3(source: Path, settings: Settings) -> float:
    """The file's bytes PUT into the bucket the settings name (obstore's multipart upload, its defaults)."""
    import obstore

    from trading.blobs.s3 import make_s3

    store, key = make_s3(settings), f"floor-{os.getpid()}.bin"
    t = time.perf_counter()
    obstore.put(store, key, source)
    spent = time.perf_counter() - t
    obstore.delete(store, key)
    return spent


def raw_copy_fsync(source: Path, folder: Path) -> float:
    """The file's bytes read and written to a new file in *folder* in 8 MiB pieces, one fsync at the end."""
    target = folder / f"floor-{os.getpid()}.bin"
    t = time.perf_counter()
    with open(source, "rb", buffering=0) as src, open(target, "wb", buffering=0) as dst:
        while block := src.read(WRITE_CHUNK):
            dst.write(block)
        os.fsync(dst.fileno())
    spent = time.perf_counter() - t
    target.unlink()
    return spent


# --- the run ----------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=2.0, help="size of the documents folder in GiB (default 2)")
    parser.add_argument(
        "--server", default=os.environ.get("TRADING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--port", type=int, default=8798)
    parser.add_argument("--workers", type=int, default=1, help="trading serve's worker processes (default 1)")
    parser.add_argument("--dir", help="where to put the files (default: a new folder in the system's temp dir)")
    parser.add_argument("--profile", metavar="DIR", help="record py-spy raw profiles of seal, submit and the server")
    parser.add_argument("--keep", action="store_true", help="keep the files afterwards")
    parser.add_argument("--chunk-mib", type=float, help="bidding submit --chunk-mib (default: the client's own)")
    parser.add_argument(
        "--store", choices=("local", "s3"), default="local", help="the blob store: local (default) or s3 (SeaweedFS)"
    )
    args = parser.parse_args()

    size = int(args.gib * 1024 * MIB)
    url = fresh_database(args.server, "trading_bench_bigbid")
    base = Path(tempfile.mkdtemp(prefix="bench-bigbid-", dir=args.dir))
    platform, bidder_dir = base / "platform", base / "bidder"
    platform.mkdir()
    bidder_dir.mkdir()
    profile = Path(args.profile).resolve() if args.profile else None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
    seaweed = None
    s3: dict[str, str] = {}
    if args.store == "s3":
        from tests.s3server import BUCKET, SeaweedFS

        print("starting SeaweedFS …", file=sys.stderr)
        seaweed = SeaweedFS(base / "seaweedfs").start()
        s3 = dict(
            blob_store="s3",
            s3_endpoint=seaweed.endpoint,
            s3_bucket=BUCKET,
            s3_prefix="bench",
            s3_access_key_id="bench",
            s3_secret_access_key="bench",
        )
    settings = Settings(
        database_url=url,
        blob_dir=str(platform / "blobs"),
        signing_key_path=str(platform / "platform-key.pem"),
        password_memory_cost=1024,
        password_iterations=1,
        **s3,
    )
    try:
        print(f"seeding; writing {size / MIB:,.0f} MiB of documents …", file=sys.stderr)
        section_id, bidders = asyncio.run(seed(settings, bidder_dir))
        small_docs, big_docs = bidder_dir / "docs-small", bidder_dir / "docs"
        make_documents(small_docs, MIB)
        make_documents(big_docs, size)
        (bidder_dir / "price.json").write_text(
            json.dumps({"total_price_fen": 4_512_345_600, "duration_days": 240, "quality": "合格"}), encoding="utf-8"
        )
        port = args.port
        server_env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_", "BIDDING_"))}
        server_env |= dict(
            TRADING_DATABASE_URL=url,
            TRADING_BLOB_DIR=settings.blob_dir,
            TRADING_SIGNING_KEY_PATH=settings.signing_key_path,
            TRADING_BASE_URL=f"http://127.0.0.1:{port}",
        )
        server_env |= {f"TRADING_{name.upper()}": value for name, value in s3.items()}
        client_env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_", "BIDDING_"))}
        client_env["HOME"] = str(bidder_dir)

        def bidding(who: Bidder, *argv: str, profile_as: str | None = None) -> Run:
            command = [str(BIN / "bidding"), "--server", f"http://127.0.0.1:{port}", "--token", who.token]
            command += ["--config", str(bidder_dir / "config"), *argv]
            where = profile / profile_as if profile is not None and profile_as else None
            return run_measured(command, env=client_env, cwd=bidder_dir, profile=where)

        def seal(who: Bidder, docs: Path, out: str, profile_as: str | None = None) -> Run:
            return bidding(
                who,
                "seal",
                "--section", "section.json",
                "--key", str(who.key_path),
                "--price", "price.json",
                "--documents", str(docs),
                "--out", out,
                "--credit-code", who.code,
                profile_as=profile_as,
            )  # fmt: skip

        with trading_serve(server_env, port, args.workers, base / "server.log") as server_pid:
            with TreeSampler(server_pid) as sampler:
                small, big = bidders
                bidding(small, "fetch", str(section_id), "--out", "section.json")
                print("sealing and submitting the 1 MiB bid (the programs' own size) …", file=sys.stderr)
                seal_small = seal(small, small_docs, "small.bid")
                submit_small = bidding(small, "submit", "small.bid", str(section_id))

                print("the floor for sealing …", file=sys.stderr)
                paths = sorted(big_docs.iterdir())
                floor_read = raw_read(paths)
                floor_aead = raw_aes_gcm(paths)
                print("sealing …", file=sys.stderr)
                sealed = seal(big, big_docs, "big.bid", profile_as="seal.txt")
                bid = bidder_dir / "big.bid"
                bid_size = bid.stat().st_size
                floor_hash = raw_sha256(bid)
                floor_write = raw_write_fsync(bidder_dir, bid_size)
                floor_seal = floor_read + floor_aead + floor_hash + floor_write

                blob_dir = Path(settings.blob_dir)

                def floor_for_submit() -> float:
                    return raw_put_s3(bid, settings) if seaweed is not None else raw_copy_fsync(bid, blob_dir)

                print("the floor for submitting …", file=sys.stderr)
                copy_before = floor_for_submit()
                server_before = sampler.now()
                log_mark = (base / "server.log").stat().st_size
                print("submitting …", file=sys.stderr)
                with spying_on(server_pid, profile / "server.txt" if profile is not None else None):
                    mark = time.monotonic()
                    slices = ["--chunk-mib", str(args.chunk_mib)] if args.chunk_mib else []
                    submitted = bidding(big, "submit", "big.bid", str(section_id), *slices, profile_as="submit.txt")
                    server_peak = sampler.peak_since(mark)
                server_after = sampler.now()
                requests = server_times(base / "server.log", log_mark)
                copy_after = floor_for_submit()
                floor_copy = (copy_before + copy_after) / 2
                if "回执已保存并核验" not in submitted.output:
                    raise SystemExit(f"no verified receipt:\n{submitted.output}")
    finally:
        if seaweed is not None:
            seaweed.stop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"files kept in {base}", file=sys.stderr)

    def mib_s(seconds: float, nbytes: int) -> str:
        return f"{nbytes / MIB / seconds:9,.0f}" if seconds else f"{'—':>9}"

    def mem(kib: int) -> str:
        return f"{kib / 1024:8.0f}" if kib else f"{'—':>8}"

    def row(what: str, seconds: float, nbytes: int, ratio: float | None, peak: int = 0, growth: int = 0) -> None:
        r = f"{ratio:8.2f}" if ratio is not None else f"{'':8}"
        g = f"{growth / 1024:+9.0f}" if peak else f"{'':9}"
        print(f"{what:58} {seconds:8.2f} {mib_s(seconds, nbytes)} {r} {mem(peak) if peak else '':>8} {g}")

    print(
        f"\na big bid — {size / MIB:,.0f} MiB of documents, sealed {bid_size:,} bytes; PostgreSQL; blob store "
        f"{args.store}; trading serve "
        f"--workers {args.workers}; {os.cpu_count()} cores; files in {base.parent}"
    )
    print(f"{'what':58} {'seconds':>8} {'MiB/s':>9} {'vs floor':>8} {'peak MiB':>8} {'growth':>9}")
    row("raw read of the documents", floor_read, size, None)
    row("raw AES-256-GCM of the same bytes (64 KiB chunks)", floor_aead, size, None)
    row("raw SHA-256 of the sealed bytes", floor_hash, bid_size, None)
    row("raw write+fsync of the sealed size", floor_write, bid_size, None)
    row("floor for seal: read + AES-GCM + SHA-256 + write+fsync", floor_seal, size, 1.0)
    row(
        "bidding seal",
        sealed.seconds,
        size,
        floor_seal / sealed.seconds,
        sealed.peak_kib,
        sealed.peak_kib - seal_small.peak_kib,
    )
    floor_what = (
        "raw multipart PUT of the sealed file" if seaweed is not None else "raw copy of the sealed file + fsync"
    )
    row(f"floor for submit: {floor_what}", floor_copy, bid_size, 1.0)
    row(
        "bidding submit (begin, upload, complete, receipt checked)",
        submitted.seconds,
        bid_size,
        floor_copy / submitted.seconds,
        submitted.peak_kib,
        submitted.peak_kib - submit_small.peak_kib,
    )
    print(
        f"memory growth of the client is over the same command for a 1 MiB bid (seal {mem(seal_small.peak_kib).strip()}"
        f" MiB, submit {mem(submit_small.peak_kib).strip()} MiB peak)"
    )
    print(
        f"trading serve (all processes): {server_before / 1024:.0f} MiB before the submit, {server_peak / 1024:.0f} "
        f"MiB peak during it ({(server_peak - server_before) / 1024:+.0f} MiB), {server_after / 1024:.0f} MiB after"
    )
    print(
        "the submit as the server timed it: "
        + "; ".join(f"{key} ×{count} {seconds:.2f} s" for key, (count, seconds) in sorted(requests.items()))
    )
    print(f"floor copies: {copy_before:.2f} s before the submit, {copy_after:.2f} s after (the floor is their mean)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
