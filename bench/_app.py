"""Running the real app for a benchmark: a fresh PostgreSQL database, and uvicorn in a subprocess, ready when
/healthz answers."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from trading.workers import listening_sockets

ROOT = Path(__file__).resolve().parent.parent


def fresh_database(server: str, name: str) -> str:
    """Drop and create database *name* on *server* (a PostgreSQL URL); returns its SQLAlchemy asyncpg URL."""
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)

    async def recreate() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(recreate())
    return make_url(server).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process *pid* and its descendants (a server and its workers), from /proc."""
    return sum(_cpu_of(p) for p in _tree(pid))


class Served(str):
    """The served app's base URL, with the process id of its supervisor (its workers are that one's children)."""

    pid: int

    def __new__(cls, base: str, pid: int) -> Served:
        served = super().__new__(cls, base)
        served.pid = pid
        return served

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the app's processes: the supervisor and its workers."""
        return cpu_seconds(self.pid)

    def cpu_by_process(self) -> dict[int, float]:
        """CPU time so far of each of the app's processes, by process id."""
        return {p: _cpu_of(p) for p in _tree(self.pid)}


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending += children.get(current, [])
    return found


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve_app(
    env: dict[str, str], port: int, workers: int = 1, processes: list[subprocess.Popen[bytes]] | None = None
) -> Iterator[Served]:
    """Start the app (its settings in *env*) and yield its base URL; stop it afterwards. The server's process is
    appended to *processes* (for a bench that reads its CPU time)."""
    # `trading serve`, as in production (each worker on its own socket, the platform's request log).
    command = [str(Path(sys.executable).with_name("trading")), "serve", "--port", str(port), "--workers", str(workers)]
    log = Path(env.get("TRADING_BLOB_DIR", ".")).parent / "serve.log"
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    if processes is not None:
        processes.append(server)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if server.poll() is not None:
                raise SystemExit(f"the app exited with status {server.returncode} before answering (log: {log})")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("the app did not answer /healthz within 20 s")
        for _ in range(100):  # every worker listening, not only the first to start (a burst spreads over them)
            if listening_sockets(port) >= workers:
                break
            time.sleep(0.2)
        with _profiled(server.pid):
            yield Served(base, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def _profiled(pid: int) -> Iterator[None]:
    """With BENCH_PROFILE=out.txt, sample the app's processes' CPU with py-spy while the bench runs, as
    collapsed stacks (bench/profile_top.py summarises them)."""
    out = os.environ.get("BENCH_PROFILE")
    if not out:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    sampler = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "250", "--output", out]
        # BENCH_PROFILE_GIL=1: only the threads holding the GIL (Python's own CPU, not time blocked in calls).
        + (["--gil"] if os.environ.get("BENCH_PROFILE_GIL") else []),
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1)  # py-spy attaches
    try:
        yield
    finally:
        sampler.send_signal(signal.SIGINT)
        sampler.wait(timeout=60)
