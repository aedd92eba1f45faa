"""PostgreSQL restarted in the middle of a bidding storm (issue 14): clients hear only 2xx, or 503 with
Retry-After — never a 500, never a request left hanging — the service recovers by itself, and nothing a
client holds a receipt for is lost.

A private cluster (tests/reliability/pgcluster.py) and ``trading serve`` in its own process on 127.0.0.1; 20
bidders, each submitting three small sealed bids one after another (each replacing the last) over HTTP, and
retrying each step after a 503 as a client should; ``pg_ctl restart -m fast`` once the storm is under way.
Afterwards the database is read directly: every receipt held is the one stored for a bid, whole (its
ciphertexts in the blob store, its entry in the log); there is no bid no client was receipted for, and each
bidder has exactly one active bid, its last. Bounded: 20 bidders × 3 bids, 20 s per request, 90 s in all.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from bidding.client import ApiError, BiddingClient
from bidding.envelope import read_sealed_bid
from tests.bidding import harness
from tests.conftest import DEFAULT_NOW
from tests.factories import build_world
from tests.processes import TradingServe
from tests.reliability.pgcluster import PrivatePostgres, server_binaries
from trading.app import create_app
from trading.blobs import make_blob_store
from trading.clock import FixedClock
from trading.migrate import upgrade
from trading.settings import Settings

pytestmark = pytest.mark.slow

BIDDERS = 20
BIDS_EACH = 3
REQUEST_TIMEOUT = 20.0
#: The most a bidder's run may take (its future's timeout): the bound on the test, not an assertion about speed.
WHOLE_RUN = 90.0
#: Restart once this many bids have been receipted: the storm is under way, most of it still to come.
RESTART_AFTER = 6


@dataclass
class Held:
    """What one bidder's client holds at the end: its receipts (by manifest hash) and every status it saw."""

    receipts: dict[str, bytes] = field(default_factory=dict)
    last: str | None = None
    statuses: list[tuple[str, int, str | None]] = field(default_factory=list)


async def _seed(settings: Settings, tmp: Path) -> tuple[int, list[tuple[str, list[Path]]]]:
    """A section open for bids with a three-opener committee, and 20 bidders with keys and sealed bids."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    app = create_app(settings, clock=FixedClock(DEFAULT_NOW))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    bidders = []
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            world = await build_world(app, DEFAULT_NOW)
            section = await harness.open_section(app, client, world, DEFAULT_NOW)
            for n in range(1, BIDDERS + 1):
                bidder = await harness.make_bidder(app, client, DEFAULT_NOW, n, f"湖南第{n}建设工程有限公司")
                bids = [
                    harness.seal(
                        section,
                        bidder,
                        tmp / "bids",
                        price=4_500_000_000 + n * 1_000_000 + i,
                        documents={"技术标.txt": f"施工组织设计（第{n}家，第{i + 1}稿）".encode()},
                    )
                    for i in range(BIDS_EACH)
                ]
                bidders.append((bidder.token, bids))
    finally:
        await app.state.engine.dispose()
    return section.id, bidders


def _call(http: httpx.Client, held: Held, step: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One step, repeated after each 503 once Retry-After has passed; any other refusal fails the test."""
    for _ in range(40):
        r = http.request(method, url, **kwargs)  # a transport error or a timeout propagates: the test fails
        held.statuses.append((step, r.status_code, r.headers.get("retry-after")))
        if r.status_code != 503:
            assert r.status_code in (200, 201), f"{step}: {r.status_code} {r.text[:300]}"
            return r
        assert r.json()["error"]["code"] == "database_unavailable", r.text
        time.sleep(min(float(r.headers["retry-after"]), 3.0))
    raise AssertionError(f"{step}: still 503 after 40 tries")


def _submit(http: httpx.Client, held: Held, section_id: int, path: Path) -> bytes:
    sealed = read_sealed_bid(path)
    body = {
        "manifest": harness.b64(sealed.manifest_bytes),
        "signature": harness.b64(sealed.signature),
        "sealed_shares": {e: [harness.b64(s) for s in shares] for e, shares in sealed.sealed_shares.items()},
    }
    upload = _call(http, held, "begin", "POST", f"/api/sections/{section_id}/bids", json=body).json()
    upload_id = upload["upload_id"]
    for envelope in ("price", "documents"):
        data = b"".join(sealed.iter_ciphertext(envelope))
        received = upload["envelopes"][envelope]["received"]
        while received < len(data):
            r = http.put(
                f"/api/uploads/{upload_id}/{envelope}",
                params={"offset": received},
                content=data[received:],
                headers={"Content-Type": "application/octet-stream"},
            )
            held.statuses.append(("append", r.status_code, r.headers.get("retry-after")))
            if r.status_code == 503:  # wait, then ask how much the server holds and go on from there
                time.sleep(min(float(r.headers["retry-after"]), 3.0))
                status = _call(http, held, "status", "GET", f"/api/uploads/{upload_id}").json()
                received = status["envelopes"][envelope]["received"]
                continue
            assert r.status_code == 200, f"append: {r.status_code} {r.text[:300]}"
            received = r.json()["received"]
    done = _call(http, held, "complete", "POST", f"/api/uploads/{upload_id}/complete").json()
    assert done["manifest_sha256"] == upload["manifest_sha256"] and done["state"] == "active", done
    return base64.b64decode(done["receipt"]["receipt"])


def _bidding_client(port: int, token: str, held: Held) -> BiddingClient:
    def heard(error: ApiError, seconds: float) -> None:
        assert error.code == "database_unavailable" and seconds >= 1, error.code
        held.statuses.append(("bidding-client", error.status_code, f"{seconds:g}"))

    return BiddingClient(f"http://127.0.0.1:{port}", token, timeout=REQUEST_TIMEOUT, on_unavailable=heard)


def _submit_with_bidding_client(client: BiddingClient, held: Held, section_id: int, path: Path) -> bytes:
    """The same submission through bidding.client (the calls `bidding submit` makes); any refusal but a 503
    it waits out raises, and fails the test."""
    sealed = read_sealed_bid(path)
    upload = client.begin_submission(
        section_id,
        harness.b64(sealed.manifest_bytes),
        harness.b64(sealed.signature),
        {e: [harness.b64(s) for s in shares] for e, shares in sealed.sealed_shares.items()},
    )
    for envelope in ("price", "documents"):
        data = b"".join(sealed.iter_ciphertext(envelope))
        received = upload["envelopes"][envelope]["received"]
        if received < len(data):
            assert client.put_ciphertext(upload["upload_id"], envelope, received, data[received:]) == len(data)
    done = client.complete_upload(upload["upload_id"])
    held.statuses.append(("bidding-client", 201, None))
    assert done["manifest_sha256"] == upload["manifest_sha256"] and done["state"] == "active", done
    return base64.b64decode(done["receipt"]["receipt"])


async def _stored(database_url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        bids = await conn.fetch("SELECT organisation_id, manifest_sha256, state, receipt, blobs FROM bids ORDER BY id")
        logged = await conn.fetchval("SELECT count(*) FROM log_entries WHERE kind = 'bid_event'")
        uploads = await conn.fetch("SELECT state, count(*) AS n FROM uploads GROUP BY state")
    finally:
        await conn.close()
    return {"bids": bids, "logged": logged, "uploads": {r["state"]: r["n"] for r in uploads}}


@pytest.mark.skipif(server_binaries() is None, reason="PostgreSQL server binaries not installed")
def test_a_postgresql_restart_mid_storm_loses_nothing_receipted_and_answers_only_2xx_or_503(tmp_path):
    began = time.monotonic()
    cluster = PrivatePostgres()
    server: TradingServe | None = None
    try:
        cluster.start()
        data = tmp_path / "platform"
        settings = Settings(
            database_url=cluster.url.replace("postgresql://", "postgresql+asyncpg://"),
            blob_dir=str(data / "blobs"),
            signing_key_path=str(data / "platform-key.pem"),
            cookie_secure=False,
            password_memory_cost=1024,
            password_iterations=1,
            clock=DEFAULT_NOW.isoformat(),
        )
        section_id, bidders = asyncio.run(_seed(settings, tmp_path))
        server = TradingServe(settings, tmp_path / "serve", workers=1, own_base_url=True)
        server.start()
        port = server.port

        receipted = threading.Semaphore(0)

        def storm(token: str, bids: list[Path], with_bidding_client: bool) -> Held:
            held = Held()
            headers = {"Authorization": f"Bearer {token}"}
            with (
                httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=REQUEST_TIMEOUT) as http,
                _bidding_client(port, token, held) as client,
            ):
                for path in bids:
                    digest = harness.manifest_sha256_of(path)
                    if with_bidding_client:
                        held.receipts[digest] = _submit_with_bidding_client(client, held, section_id, path)
                    else:
                        held.receipts[digest] = _submit(http, held, section_id, path)
                    held.last = digest
                    receipted.release()
            return held

        with ThreadPoolExecutor(BIDDERS) as pool:
            # Half the bidders speak HTTP here, half through the `bidding` command's own client, which waits
            # out each 503 by itself.
            running = [pool.submit(storm, token, bids, i % 2 == 1) for i, (token, bids) in enumerate(bidders)]
            for _ in range(RESTART_AFTER):
                assert receipted.acquire(timeout=30), "the storm did not get going"
            restart_took = cluster.restart()
            helds = [f.result(timeout=WHOLE_RUN) for f in running]

        statuses = [s for held in helds for s in held.statuses]
        assert {code for _, code, _ in statuses} <= {200, 201, 503}
        unavailable = [s for s in statuses if s[1] == 503]
        assert all(retry_after is not None and int(retry_after) >= 1 for _, _, retry_after in unavailable)
        assert unavailable, f"no request met the restart ({restart_took:.1f} s): it tested nothing"

        # The service came back by itself.
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=REQUEST_TIMEOUT)
        assert ready.status_code == 200, ready.text

        stored = asyncio.run(_stored(cluster.url))
        by_manifest = {row["manifest_sha256"]: row for row in stored["bids"]}
        held_receipts = {digest: receipt for held in helds for digest, receipt in held.receipts.items()}
        assert len(held_receipts) == BIDDERS * BIDS_EACH
        assert set(by_manifest) == set(held_receipts)  # nothing receipted lost, nothing stored unreceipted
        for digest, receipt in held_receipts.items():
            assert by_manifest[digest]["receipt"] == receipt
        assert stored["logged"] == len(by_manifest)
        assert stored["uploads"] == {"complete": len(by_manifest)}
        active = sorted(row["manifest_sha256"] for row in stored["bids"] if row["state"] == "active")
        assert active == sorted(held.last for held in helds)  # one active bid per bidder: its last

        store = make_blob_store(settings)

        async def whole() -> list[str]:
            import json

            missing = []
            for row in stored["bids"]:
                blobs = row["blobs"] if isinstance(row["blobs"], dict) else json.loads(row["blobs"])
                for envelope in blobs.values():
                    if not await store.exists(envelope["sha256"]):
                        missing.append(envelope["sha256"])
            return missing

        assert asyncio.run(whole()) == []
        print(
            f"\nPostgreSQL restart mid-storm: {len(held_receipts)} bids receipted, {len(statuses)} requests, "
            f"{len(unavailable)} answered 503 ({sum(s[0] == 'bidding-client' for s in unavailable)} waited out by "
            f"bidding.client), restart {restart_took:.1f} s, run {time.monotonic() - began:.1f} s"
        )
    finally:
        if server is not None:
            server.stop()
        cluster.stop()
    output = (tmp_path / "serve" / "serve.log").read_text(errors="replace")
    assert "Traceback" not in output and "internal error" not in output, output[-5000:]
