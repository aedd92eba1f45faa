"""Servers the tests start as processes of their own (SeaweedFS, `trading serve`, nginx): a free port to put
one on, waiting until it answers, and stopping it with every process it started. Each process runs in its own
session, so its group is the server and its workers."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec

from trading.settings import Settings

#: The venv's own entry points, as a reader's shell would find them.
BIN = Path(sys.executable).parent


def _ephemeral_start() -> int:
    """Where the kernel starts handing out ports to outgoing connections (32768 on Linux by default)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(also_free: int = 0) -> int:
    """A free 127.0.0.1 port whose port + *also_free* is free too (weed's gRPC listens 10000 above each).

    Both lie below the kernel's range for outgoing connections: a port the kernel hands out (``bind(0)``) is
    one an outgoing connection may take while its server is down, so a server restarted on its old port (the
    store's outage test) could find it taken. Below that range only another listener can hold it."""
    top = _ephemeral_start() - also_free
    low = 10000 if top > 12000 else 1024
    for _ in range(200):
        port = random.randrange(low, top)
        if _bindable(port) and (not also_free or _bindable(port + also_free)):
            return port
    raise RuntimeError("no free port below the ephemeral range")


def wait_ready(url: str, process: subprocess.Popen[bytes], log_tail: Callable[[], str], timeout: float = 60) -> None:
    """Poll *url* until it answers 200; fail with the log's tail if the process exits or *timeout* passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the process exited: {log_tail()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} not ready within {timeout} s: {log_tail()}")


def kill_group(process: subprocess.Popen[bytes] | None) -> None:
    """kill -9 the process and everything in its group, at once."""
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def stop_group(process: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM to the group; after *grace* seconds, kill -9."""
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            kill_group(process)


def settings_env(settings: Settings, **overrides: Any) -> dict[str, str]:
    """The settings as TRADING_* variables, for a `trading serve` process."""
    values = {**msgspec.structs.asdict(settings), **overrides}
    return {
        "TRADING_" + k.upper(): (str(v).lower() if isinstance(v, bool) else str(v))
        for k, v in values.items()
        if v is not None
    }


class TradingServe:
    """`trading serve --workers N` on a free 127.0.0.1 port, in its own process group (to kill -9 whole),
    startable again on the same port after a kill. Its environment is this process's less any TRADING_* and
    BIDDING_* variable, plus the settings (with *own_base_url*, ``base_url`` is the server's own address)."""

    def __init__(
        self,
        settings: Settings,
        folder: Path,
        *,
        workers: int = 2,
        wrap: list[str] | None = None,
        own_base_url: bool = False,
    ) -> None:
        self.folder, self.workers, self.wrap = folder, workers, wrap or []
        self.port = free_port()
        self.settings = msgspec.structs.replace(settings, base_url=self.url) if own_base_url else settings
        self.log = folder / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_", "BIDDING_"))}
        serve = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.wrap, str(BIN / "trading"), *serve],
                env={**inherited, **settings_env(self.settings)},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        wait_ready(f"{self.url}/readyz", self.process, self.log_tail, timeout)

    def kill9(self) -> None:
        """kill -9 every process of the server (the supervisor and its workers) at once."""
        kill_group(self.process)

    def stop(self) -> None:
        stop_group(self.process, grace=15)

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def __enter__(self) -> TradingServe:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def trading_verify(url: str, home: Path) -> None:
    """`trading verify URL --json` as an outsider runs it (its state under *home*); fails with its output."""
    done = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "trading"), "verify", url, "--json"],
        capture_output=True,
        env={**os.environ, "HOME": str(home), "XDG_STATE_HOME": str(home / "state")},
        timeout=180,
    )
    assert done.returncode == 0, done.stdout.decode()[-3000:] + done.stderr.decode()[-2000:]
