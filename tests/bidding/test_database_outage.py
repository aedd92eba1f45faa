"""Every step of a submission is safe to retry across a database outage (PostgreSQL; SQLite has none).

The outages are real: the app's connection killed on the server (pg_terminate_backend) while its request
waits on a row lock the test holds — so the moment is exact, not a race — or all of its connections broken
and refused through the relay of tests/dbproxy.py. The client hears 503 ``database_unavailable`` with
Retry-After, never 500; retried after the outage, each step finds what was done and completes it: one bid,
one log entry, one receipt.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.bidding.harness import (
    begun,
    bid_rows,
    ciphertexts,
    complete,
    make_bidder,
    open_section,
    put,
    seal,
    upload,
)
from tests.factories import build_world, integrate_all

pytestmark = pytest.mark.asyncio


def _documents(note: str) -> dict[str, bytes]:
    return {"商务标.txt": f"投标函 {note}".encode(), "技术标.txt": f"施工组织设计 {note}".encode()}


def _unavailable(r) -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "database_unavailable"


async def _admin(database_url: str) -> asyncpg.Connection:
    url = make_url(database_url).set(drivername="postgresql")
    return await asyncpg.connect(url.render_as_string(hide_password=False))


@asynccontextmanager
async def _row_locked(database_url: str, sql: str, *args: object) -> AsyncIterator[asyncpg.Connection]:
    """Hold the row lock *sql* takes (in a transaction of a connection of the test's own) until the block ends."""
    conn = await _admin(database_url)
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(sql, *args)
        yield conn
    finally:
        await transaction.rollback()
        await conn.close()


async def _waiting_on_a_lock(admin: asyncpg.Connection) -> int:
    """The backend of the app's request once it waits on the test's lock."""
    for _ in range(400):
        pid = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if pid is not None:
            return pid
        await asyncio.sleep(0.025)
    raise AssertionError("the request never waited on the lock")


LOCK_SECTION = "SELECT 1 FROM sections WHERE id = $1 FOR UPDATE"
# The integrator's lock (trading.log.services._lock_size): a receipt waits for an integration round.
LOCK_LOG = (
    "INSERT INTO counters (name, value) VALUES ('log_size', 0) ON CONFLICT (name) DO UPDATE SET value = counters.value"
)


async def _bid_row(database_url: str, upload_id: str) -> asyncpg.Record | None:
    conn = await _admin(database_url)
    try:
        return await conn.fetchrow("SELECT id, receipt FROM bids WHERE upload_id = $1", upload_id)
    finally:
        await conn.close()


async def _market(app, client, clock, tmp_path, note: str):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1, "湖南建工集团有限公司")
    path = seal(section, bidder, tmp_path, documents=_documents(note))
    return section, bidder, path, world


def _postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("connections killed on the server are a PostgreSQL matter")


async def test_a_completion_whose_connection_is_killed_before_the_bid_commits_is_answered_503_and_retried(
    app, client, clock, tmp_path, backend
):
    _postgresql_only(backend)
    section, bidder, path, _world = await _market(app, client, clock, tmp_path, "断线")
    info = await begun(client, bidder, section, path)
    await upload(client, bidder, path, info)
    database_url = app.state.settings.database_url
    admin = await _admin(database_url)
    try:
        async with _row_locked(database_url, LOCK_SECTION, section.id):
            request = asyncio.create_task(complete(client, bidder, info["upload_id"]))
            pid = await _waiting_on_a_lock(admin)  # checked the ciphertexts, now deciding on the deadline
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            _unavailable(await request)
    finally:
        await admin.close()
    assert await bid_rows(app, section.id) == []  # nothing committed

    retried = await complete(client, bidder, info["upload_id"])
    assert retried.status_code == 201, retried.text
    assert retried.json()["receipt"]["document"]["merge_by"]
    assert [b.upload_id for b in await bid_rows(app, section.id)] == [info["upload_id"]]


async def test_a_bid_whose_commit_is_cut_off_by_an_outage_is_either_not_there_or_there_with_its_receipt(
    outage, clock, tmp_path
):
    """The receipt is signed into the bid's row in the bid's own transaction: whatever the outage does to the
    commit, there is never a committed bid without its receipt, and the retry answers with that receipt."""
    app, client, relay = outage.app, outage.client, outage.relay
    section, bidder, path, _world = await _market(app, client, clock, tmp_path, "提交后断线")
    info = await begun(client, bidder, section, path)
    await upload(client, bidder, path, info)
    admin = await _admin(outage.database_url)
    try:
        async with _row_locked(outage.database_url, LOCK_SECTION, section.id):
            request = asyncio.create_task(complete(client, bidder, info["upload_id"]))
            await _waiting_on_a_lock(admin)  # the ciphertexts are checked; the bid's transaction waits
            await relay.cut()  # the database goes away in the middle of it
            _unavailable(await request)
    finally:
        await admin.close()
    assert await _bid_row(outage.database_url, info["upload_id"]) is None

    await relay.start()
    retried = await complete(client, bidder, info["upload_id"])
    assert retried.status_code == 201, retried.text
    committed = await _bid_row(outage.database_url, info["upload_id"])
    assert committed is not None and committed["receipt"] is not None
    receipt = retried.json()["receipt"]
    assert base64.b64decode(receipt["receipt"]) == bytes(committed["receipt"])
    again = await complete(client, bidder, info["upload_id"])  # the answer lost: the same bid, the same receipt
    assert again.json()["bid_id"] == committed["id"] and again.json()["receipt"] == receipt
    mine = await client.get(f"/api/sections/{section.id}/bids/mine", headers=bidder.headers)
    assert mine.json()["receipt"] == receipt
    assert len(await bid_rows(app, section.id)) == 1


async def test_begin_and_append_in_an_outage_are_answered_503_and_resume_from_what_the_server_holds(
    outage, clock, tmp_path
):
    app, client, relay = outage.app, outage.client, outage.relay
    section, bidder, path, _world = await _market(app, client, clock, tmp_path, "续传")
    data = ciphertexts(path)
    await relay.cut()
    _unavailable(await client.post(f"/api/sections/{section.id}/bids", headers=bidder.headers, json={}))
    await relay.start()
    info = await begun(client, bidder, section, path)
    half = len(data["documents"]) // 2
    assert (await put(client, bidder, info["upload_id"], "documents", data["documents"][:half])).status_code == 200

    await relay.cut()
    _unavailable(await put(client, bidder, info["upload_id"], "documents", data["documents"][half:], half))
    await relay.start()
    # Begun again (the client lost the upload id too): the same upload, holding what it held before the outage.
    again = await begun(client, bidder, section, path)
    assert again["upload_id"] == info["upload_id"]
    assert again["envelopes"]["documents"]["received"] == half
    r = await put(client, bidder, info["upload_id"], "documents", data["documents"][half:], half)
    assert r.status_code == 200, r.text
    assert (await put(client, bidder, info["upload_id"], "price", data["price"])).status_code == 200
    done = await complete(client, bidder, info["upload_id"])
    assert done.status_code == 201, done.text
    assert len(await bid_rows(app, section.id)) == 1


async def test_a_receipt_does_not_wait_for_the_log_and_its_promise_is_kept_once_integration_resumes(
    app, client, clock, tmp_path, backend
):
    """With the log's integrator held up (its lock taken by another transaction), a bid still commits and is
    answered at once with its signed receipt — a promise of inclusion by ``merge_by`` — and once integration
    resumes the entry is in a signed checkpoint and the receipt's inclusion proof verifies."""
    _postgresql_only(backend)
    section, bidder, path, _world = await _market(app, client, clock, tmp_path, "日志")
    info = await begun(client, bidder, section, path)
    await upload(client, bidder, path, info)
    database_url = app.state.settings.database_url
    async with _row_locked(database_url, LOCK_LOG):
        r = await asyncio.wait_for(complete(client, bidder, info["upload_id"]), timeout=30)
        assert r.status_code == 201, r.text
        document = r.json()["receipt"]["document"]
        assert document["format"] == "trading-receipt/v2" and "leaf_index" not in document
        proof = await client.get("/log/proof/inclusion", params={"tree_size": 1, "leaf_hash": document["leaf_hash"]})
        assert proof.status_code in (400, 404, 422), proof.text  # not integrated yet
    await integrate_all(app)
    size = int((await client.get("/log/checkpoint")).text.splitlines()[1])
    proof = await client.get("/log/proof/inclusion", params={"tree_size": size, "leaf_hash": document["leaf_hash"]})
    assert proof.status_code == 200, proof.text
    from trading.log import merkle

    body = proof.json()
    root = base64.b64decode((await client.get("/log/checkpoint")).text.splitlines()[2])
    assert merkle.verify_inclusion(
        bytes.fromhex(document["leaf_hash"]),
        body["index"],
        size,
        [base64.b64decode(p) for p in body["proof"]],
        root,
    )
