"""A big bid through the real `bidding submit` against `trading serve`: the client's memory stays flat whatever
the bid's size, and an upload killed with -9 — the client, then the server in the middle of the next try — goes on
from what the server holds, and ends with a verified receipt and the ciphertext stored whole.

The network between client and server is a TCP relay the test can hold (bytes pass unchanged; nothing of HTTP is
imitated), so the kills fall mid-upload every time, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bidding.envelope import read_sealed_bid, seal_bid
from tests.bidding import harness
from tests.conftest import DEFAULT_NOW
from tests.factories import build_world
from tests.processes import free_port, kill_group, wait_ready
from trading.app import create_app
from trading.clock import FixedClock
from trading.migrate import upgrade
from trading.settings import Settings

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
MIB = 1 << 20
BIG = 160 * MIB
#: Runs a command and writes its peak RSS (KiB) to the file named first. A small process forks it, not pytest: a
#: child's ru_maxrss counts the memory it had before exec, which would be all of pytest's.
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


def _documents(folder: Path, size: int) -> Path:
    """A folder with one file of *size* random bytes, written in pieces."""
    folder.mkdir(parents=True)
    with open(folder / "施工图纸.bin", "wb") as fh:
        left = size
        while left:
            left -= fh.write(os.urandom(min(8 * MIB, left)))
    return folder


async def _seed(settings: Settings, tmp: Path, sizes: list[int]) -> tuple[int, list[tuple[str, Path]]]:
    """A published section with its committee, and one bidder per size with a bid of that size sealed."""
    engine = create_async_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    app = create_app(settings, clock=FixedClock(DEFAULT_NOW))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    bids = []
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            world = await build_world(app, DEFAULT_NOW)
            section = await harness.open_section(app, client, world, DEFAULT_NOW)
            for n, size in enumerate(sizes, start=1):
                bidder = await harness.make_bidder(app, client, DEFAULT_NOW, n)
                out = tmp / f"bid-{n}.bid"
                documents = _documents(tmp / f"docs-{n}", size)
                form = {"total_price_fen": 4_512_345_600 + n, "duration_days": 240, "quality": "合格"}
                await asyncio.to_thread(seal_bid, section.context(bidder), bidder.signing, form, documents, out)
                bids.append((bidder.token, out))
    finally:
        await app.state.engine.dispose()
    return section.id, bids


class Server:
    """`trading serve` (one worker) in its own session, startable again after a kill -9."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("BIDDING_", "TRADING_"))}
        self.env |= dict(
            TRADING_DATABASE_URL=settings.database_url,
            TRADING_BLOB_DIR=settings.blob_dir,
            TRADING_SIGNING_KEY_PATH=settings.signing_key_path,
            TRADING_CLOCK=DEFAULT_NOW.isoformat(),
            TRADING_PASSWORD_MEMORY_COST=str(settings.password_memory_cost),
            TRADING_PASSWORD_ITERATIONS=str(settings.password_iterations),
            TRADING_BASE_URL=self.url,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "trading"), "serve", "--port", str(self.port), "--workers", "1"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_ready(self.url + "/healthz", self.process, lambda: self.log.read_text()[-2000:])

    def kill9(self) -> None:
        kill_group(self.process)


@contextmanager
def serving(settings: Settings, folder: Path) -> Iterator[Server]:
    server = Server(settings, folder)
    server.start()
    try:
        yield server
    finally:
        kill_group(server.process)
        assert "Traceback" not in server.log.read_text(), server.log.read_text()[-4000:]


class Relay:
    """A TCP relay from a port of its own to the server's. ``hold_after(n)``: once *n* more bytes have gone from
    client to server, it forwards nothing more that way (``held`` is set) until ``release()``, which breaks every
    connection open at that moment, as a network that comes back would."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.forwarded = 0
        self.limit: int | None = None
        self.held = threading.Event()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def hold_after(self, count: int) -> None:
        with self.lock:
            self.limit = self.forwarded + count
            self.held.clear()

    def release(self) -> None:
        with self.lock:
            self.limit = None
            for s in self.sockets:
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()
            self.held.clear()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, upstream}
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, upward: bool) -> None:
        try:
            while data := source.recv(256 * 1024):
                if upward:
                    with self.lock:
                        if self.limit is not None:
                            data = data[: max(0, self.limit - self.forwarded)]
                        self.forwarded += len(data)
                        if self.limit is not None and self.forwarded >= self.limit:
                            self.held.set()
                    if data:
                        sink.sendall(data)
                    while self.held.is_set():  # until release() breaks this connection
                        time.sleep(0.01)
                else:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with suppress(OSError):
                    s.close()


def _platform(tmp: Path) -> Settings:
    folder = tmp / "platform"
    folder.mkdir()
    return Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'platform.db'}",
        blob_dir=str(folder / "blobs"),
        signing_key_path=str(folder / "platform-key.pem"),
        cookie_secure=False,
        password_memory_cost=1024,
        password_iterations=1,
    )


def _bidding(url: str, token: str, *args: str, cwd: Path) -> list[str]:
    env_home = str(cwd / "home")
    os.makedirs(env_home, exist_ok=True)
    return [str(BIN / "bidding"), "--server", url, "--token", token, "--config", env_home, *args]


def _env(cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIDDING_", "TRADING_"))}
    return env | {"HOME": str(cwd / "home")}


def _submit_measured(url: str, token: str, bid: Path, section_id: int) -> tuple[int, str]:
    """`bidding submit` as a child of a small launcher: (its peak RSS in KiB, its output)."""
    with tempfile.NamedTemporaryFile("r", prefix="maxrss-") as peak:
        command = _bidding(url, token, "submit", bid.name, str(section_id), cwd=bid.parent)
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", LAUNCHER, peak.name, *command],
            cwd=bid.parent,
            env=_env(bid.parent),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return int(peak.read()), done.stdout


def test_a_big_submit_keeps_the_clients_memory_flat(tmp_path):
    """A 160 MiB bid takes no more of the client's memory than a 1 MiB one, give or take 32 MiB (it took 60 MiB
    more for 100 MiB when each slice sent was kept alive until Python's cyclic garbage collector ran)."""
    settings = _platform(tmp_path)
    section_id, ((small_token, small), (big_token, big)) = asyncio.run(_seed(settings, tmp_path, [MIB, BIG]))
    with serving(settings, tmp_path) as server:
        small_peak, out = _submit_measured(server.url, small_token, small, section_id)
        assert "回执已保存并核验" in out, out
        big_peak, out = _submit_measured(server.url, big_token, big, section_id)
        assert "回执已保存并核验" in out, out
    growth_mib = (big_peak - small_peak) / 1024
    assert growth_mib < 32, f"the client's peak grew by {growth_mib:.0f} MiB for a {BIG // MIB} MiB bid"


def test_an_upload_goes_on_from_what_the_server_holds_after_kill_9_of_the_client_and_of_the_server(tmp_path):
    settings = _platform(tmp_path)
    section_id, ((token, bid),) = asyncio.run(_seed(settings, tmp_path, [BIG]))
    sealed = read_sealed_bid(bid)
    documents_size = sealed.ciphertext_size("documents")
    with serving(settings, tmp_path) as server:
        relay = Relay(server.port)
        command = _bidding(relay.url, token, "submit", bid.name, str(section_id), "--chunk-mib", "16", cwd=tmp_path)

        # The client is killed a third of the way through the documents.
        relay.hold_after(documents_size // 3)
        first = subprocess.Popen(command, cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, text=True)
        assert relay.held.wait(120), "the upload never got a third of the way"
        first.kill()
        first.wait()
        relay.release()
        upload_id = json.loads((tmp_path / f"{bid.name}.upload.json").read_text())["upload_id"]
        part = Path(settings.blob_dir) / "uploads" / upload_id / "documents.part"

        # Run again: it resumes from what the server holds; the server is killed two thirds of the way through
        # and started again, and the same run goes on from what the new server finds on disk.
        relay.hold_after(documents_size // 3)
        second = subprocess.Popen(
            command, cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert relay.held.wait(120), "the resumed upload never got another third of the way"
        held_before_kill = part.stat().st_size
        assert 0 < held_before_kill < documents_size
        server.kill9()
        relay.release()
        server.start()
        out, err = second.communicate(timeout=300)
    assert second.returncode == 0, out + err
    resumed_from = int(out.split("documents 信封从第 ")[1].split(" 字节继续")[0].replace(",", ""))
    assert 0 < resumed_from < held_before_kill
    assert "回执已保存并核验" in out, out
    # The server checked the ciphertext against the signed hash; what it stored is that ciphertext, whole.
    expected = sealed.manifest.envelope("documents").ciphertext_sha256
    blob = Path(settings.blob_dir) / expected[:2] / expected[2:4] / expected
    digest = hashlib.sha256()
    with open(blob, "rb") as fh:
        while block := fh.read(8 * MIB):
            digest.update(block)
    assert digest.hexdigest() == expected and blob.stat().st_size == documents_size
