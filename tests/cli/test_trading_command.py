"""The `trading` command line through its real entry point: migrate, then serve with several workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.conftest import _create_pg_database, _drop_pg_database

TRADING = str(Path(sys.executable).parent / "trading")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest_asyncio.fixture
async def fresh_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
        return
    url = await _create_pg_database()
    yield url
    await _drop_pg_database(url)


@pytest.mark.asyncio
async def test_db_upgrade_then_serve_with_two_workers(fresh_url, tmp_path):
    env = dict(os.environ, TRADING_DATABASE_URL=fresh_url, TRADING_BLOB_DIR=str(tmp_path / "blobs"))
    out = subprocess.run([TRADING, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "migrated" in out.stdout
    port = _free_port()
    server = subprocess.Popen(
        [TRADING, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(150):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                pytest.fail("trading serve did not answer")
            r = await client.get("/api/notices")
            assert r.status_code == 200 and r.json() == {"items": [], "next": None}
            r = await client.get("/api/procedures")
            assert {p["key"] for p in r.json()} >= {"works_open_tender", "land_listing"}
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Started parent process" in output or output.count("Started server process") >= 2, output


def test_bad_settings_are_refused_with_a_message(tmp_path):
    env = dict(os.environ, TRADING_POOL_SIZE="many")
    out = subprocess.run([TRADING, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "bad settings" in out.stderr and "pool_size" in out.stderr
    assert "Traceback" not in out.stderr
