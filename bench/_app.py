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


@contextmanager
def serve_app(env: dict[str, str], port: int, workers: int = 1) -> Iterator[str]:
    """Start the app (its settings in *env*) and yield its base URL; stop it afterwards."""
    command = [
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
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
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
        with _profiled(server.pid):
            yield base
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
        [spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "250", "--output", out],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1)  # py-spy attaches
    try:
        yield
    finally:
        sampler.send_signal(signal.SIGINT)
        sampler.wait(timeout=60)
