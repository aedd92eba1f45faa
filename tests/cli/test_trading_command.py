"""The `trading` command line through its real entry point: migrate, then serve with several workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.conftest import _create_pg_database, _drop_pg_database
from tests.processes import free_port

TRADING = str(Path(sys.executable).parent / "trading")


@pytest_asyncio.fixture
async def fresh_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
        return
    url = await _create_pg_database()
    yield url
    await _drop_pg_database(url)


@asynccontextmanager
async def serving(env: dict[str, str], workers: int = 1) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """`trading serve` on a free port of 127.0.0.1; yields a client for it and, once stopped, its output."""
    port = free_port()
    server = subprocess.Popen(
        [TRADING, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
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
            yield client, output
    finally:
        server.terminate()
        output.append(server.communicate(timeout=30)[0])


async def _migrated(fresh_url: str, tmp_path) -> dict[str, str]:
    env = dict(os.environ, TRADING_DATABASE_URL=fresh_url, TRADING_BLOB_DIR=str(tmp_path / "blobs"))
    out = subprocess.run([TRADING, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "migrated" in out.stdout
    return env


@pytest.mark.asyncio
async def test_db_upgrade_then_serve_with_two_workers(fresh_url, tmp_path):
    env = await _migrated(fresh_url, tmp_path)
    async with serving(env, workers=2) as (client, output):
        r = await client.get("/api/notices")
        assert r.status_code == 200 and r.json() == {"items": [], "next": None}
        r = await client.get("/api/procedures")
        assert {p["key"] for p in r.json()} >= {"works_open_tender", "land_listing"}
    assert "Started parent process" in output[0] or output[0].count("Started server process") >= 2, output[0]


@pytest.mark.asyncio
async def test_a_forged_forwarded_for_does_not_change_who_the_client_is(fresh_url, tmp_path):
    """Unless the settings name it as a proxy, a client's X-Forwarded-For is not believed: guessing from
    127.0.0.1 under ever new forged addresses still meets the per-address sign-in limit."""
    # The test's password cost (each refused guess hashes once, against timing guesses of who exists).
    env = await _migrated(fresh_url, tmp_path) | {
        "TRADING_LOGIN_MAX_FAILURES_PER_ADDRESS": "3",
        "TRADING_PASSWORD_MEMORY_COST": "1024",
        "TRADING_PASSWORD_ITERATIONS": "1",
    }

    async def guesses(client: httpx.AsyncClient) -> list[int]:
        statuses = []
        for i in range(5):
            r = await client.post(
                "/api/tokens",
                json={"username": f"user{i}", "password": "Password123"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            )
            statuses.append(r.status_code)
        return statuses

    async with serving(env) as (client, _):
        assert await guesses(client) == [401, 401, 401, 429, 429]
    # Behind a proxy the settings name, each forwarded address is its own (here the test plays nginx).
    async with serving(env | {"TRADING_TRUSTED_PROXIES": "127.0.0.1"}) as (client, _):
        assert await guesses(client) == [401] * 5


def test_bad_settings_are_refused_with_a_message(tmp_path):
    env = dict(os.environ, TRADING_POOL_SIZE="many")
    out = subprocess.run([TRADING, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "bad settings" in out.stderr and "pool_size" in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_refuses_a_database_behind_the_code_and_says_what_to_run(tmp_path):
    env = dict(
        os.environ,
        TRADING_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'var' / 'trading.db'}",
        TRADING_BLOB_DIR=str(tmp_path / "var" / "blobs"),
        TRADING_SIGNING_KEY_PATH=str(tmp_path / "var" / "key.pem"),
    )
    out = subprocess.run(
        [TRADING, "serve", "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "trading db upgrade" in out.stderr and "未迁移" in out.stderr and "Traceback" not in out.stderr


def test_serve_refuses_while_an_openers_private_key_sits_in_its_data_directory(tmp_path):
    from bidding.envelope import generate_opener_key, protect_private_key

    env = dict(
        os.environ,
        TRADING_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'var' / 'trading.db'}",
        TRADING_BLOB_DIR=str(tmp_path / "var" / "blobs"),
        TRADING_SIGNING_KEY_PATH=str(tmp_path / "var" / "key.pem"),
    )
    assert subprocess.run([TRADING, "db", "upgrade"], env=env, capture_output=True, timeout=120).returncode == 0
    key = tmp_path / "var" / "demo-openers" / "opener1.key"
    key.parent.mkdir()
    key.write_bytes(
        protect_private_key(
            "hpke-x25519-sha256-aes256gcm",
            generate_opener_key("hpke-x25519-sha256-aes256gcm"),
            "pw",
            iterations=1,
            memory_kib=64,
        )
    )
    out = subprocess.run(
        [TRADING, "serve", "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert str(key) in out.stderr and "开标人私钥" in out.stderr


def test_what_the_platform_writes_is_its_users_alone(tmp_path):
    var = tmp_path / "var"
    env = dict(
        os.environ,
        TRADING_DATABASE_URL=f"sqlite+aiosqlite:///{var / 'trading.db'}",
        TRADING_BLOB_DIR=str(var / "blobs"),
    )
    assert subprocess.run([TRADING, "db", "upgrade"], env=env, capture_output=True, timeout=120).returncode == 0
    assert (var / "trading.db").stat().st_mode & 0o777 == 0o600
    assert (var / "blobs").stat().st_mode & 0o777 == 0o700
    assert var.stat().st_mode & 0o777 == 0o700
