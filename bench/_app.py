"""Running the real app for a benchmark: uvicorn in a subprocess, ready when /healthz answers."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def serve_app(env: dict[str, str], port: int, workers: int = 1) -> Iterator[str]:
    """Start the app (its settings in *env*) and yield its base URL; stop it afterwards."""
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
