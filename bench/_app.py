"""Running the real app for a benchmark: a fresh PostgreSQL database, and uvicorn in a subprocess, ready when
/healthz answers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

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
    """User + system CPU seconds of process *pid* and its children (a server and its workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state ppid ... utime (14th field overall) stime (15th)
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@contextmanager
def serve_app(
    env: dict[str, str], port: int, workers: int = 1, processes: list[subprocess.Popen[bytes]] | None = None
) -> Iterator[str]:
    """Start the app (its settings in *env*) and yield its base URL; stop it afterwards. The server's process is
    appended to *processes* (for a bench that reads its CPU time)."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "trading.asgi:app_factory",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    if processes is not None:
        processes.append(server)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if server.poll() is not None:
                raise SystemExit(f"the app exited with status {server.returncode} before answering")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("the app did not answer /healthz within 20 s")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
