"""The blob stores, each through the one interface: the local directory (SQLite half) and S3 on a private
SeaweedFS (PostgreSQL half). Content addressing, refusals that leave nothing, resumable uploads that survive a
request cut short, an upload carried across app hosts, and garbage collection that never takes what a row
references."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.bidding.harness import (
    begun,
    bid_rows,
    ciphertexts,
    complete,
    make_bidder,
    open_section,
    put,
    seal,
    store_objects,
    stored_blobs,
)
from tests.factories import build_world
from trading.app import create_app
from trading.blobs import HashMismatch, OffsetMismatch
from trading.blobs.gc import collect_garbage
from trading.errors import PayloadTooLarge

pytestmark = pytest.mark.asyncio
MIB = 1024 * 1024


async def _pieces(data: bytes, size: int = 256 * 1024, stop_after: int | None = None) -> AsyncIterator[bytes]:
    """*data* in pieces; with *stop_after*, the client goes away after that many bytes."""
    sent = 0
    for start in range(0, len(data), size):
        if stop_after is not None and sent >= stop_after:
            raise ConnectionResetError("client went away")
        yield data[start : start + size]
        sent += len(data[start : start + size])


async def test_a_blob_is_stored_under_its_hash_and_read_back_whole(app):
    store = app.state.blobs
    data = os.urandom(3 * MIB + 17)
    stored = await store.put_stream(_pieces(data), max_bytes=len(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert await store.exists(stored.sha256)
    assert b"".join([c async for c in store.open_stream(stored.sha256)]) == data
    assert await store.read_bytes(stored.sha256, len(data)) == data
    with store.open_reader(stored.sha256) as fh:
        assert fh.read(10) == data[:10] and fh.read() == data[10:]
    again = await store.put_stream(_pieces(data), max_bytes=len(data))  # written once: the same blob
    assert again == stored and await stored_blobs(app) == {stored.sha256}


async def test_a_body_that_is_not_what_was_promised_leaves_nothing_under_any_address(app):
    store = app.state.blobs
    data = os.urandom(6 * MIB)
    with pytest.raises(HashMismatch):
        await store.put_stream(_pieces(data), max_bytes=len(data), expected_sha256="0" * 64)
    with pytest.raises(PayloadTooLarge):
        await store.put_stream(_pieces(data), max_bytes=len(data) - 1)
    with pytest.raises(ConnectionResetError):
        await store.put_stream(_pieces(data, stop_after=5 * MIB), max_bytes=len(data))
    assert await stored_blobs(app) == set()
    assert not await store.exists(hashlib.sha256(data).hexdigest())


async def test_an_upload_cut_short_keeps_what_arrived_and_resumes_from_there(app):
    uploads = app.state.blobs.uploads
    data = os.urandom(9 * MIB + 123)  # more than two S3 segments
    with pytest.raises(ConnectionResetError):
        await uploads.append("u1", "documents", 0, _pieces(data, stop_after=5 * MIB + 7), len(data))
    kept = await uploads.received("u1", "documents")
    assert 5 * MIB <= kept <= len(data)  # everything that arrived, inside a segment on S3
    with pytest.raises(OffsetMismatch) as wrong:
        await uploads.append("u1", "documents", 0, _pieces(data), len(data))
    assert wrong.value.received == kept
    assert await uploads.append("u1", "documents", kept, _pieces(data[kept:]), len(data)) == len(data)
    with pytest.raises(PayloadTooLarge):
        await uploads.append("u1", "documents", len(data), _pieces(b"x"), len(data))
    assert await uploads.received("u1", "documents") == len(data)
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(HashMismatch):  # the wrong promise: the bytes go, so the file can be sent again
        await uploads.prepare("u1", "documents", "f" * 64, len(data))
    assert await uploads.received("u1", "documents") == 0
    await uploads.append("u1", "documents", 0, _pieces(data, size=3 * MIB), len(data))
    prepared = await uploads.prepare("u1", "documents", sha, len(data))
    stored = await uploads.commit(prepared)
    assert stored.sha256 == sha and await app.state.blobs.read_bytes(sha, len(data)) == data
    await uploads.discard("u1")
    assert await uploads.received("u1", "documents") == 0
    assert not [name for name in await store_objects(app.state.blobs) if name.startswith("uploads/")]


async def test_a_segment_write_that_fails_while_later_ones_land_is_sent_again_on_resume(app, settings):
    """S3 writes an append's segments a few at once, so a later one can land while an earlier one fails: the
    append is refused (503), the received offset is the run of segments from 0 (not counting past the gap),
    and the resumed upload fills the gap and completes with the right bytes."""
    if settings.blob_store != "s3":
        pytest.skip("the local store writes one file in order")
    from trading.blobs import StoreUnavailable
    from trading.blobs.s3 import SEGMENT, S3Uploads

    class FailingOnce(S3Uploads):
        failed = False

        async def _write(self, upload_id: str, envelope: str, index: int, pieces: list[bytes]) -> None:
            if index == 1 and not self.failed:
                self.failed = True
                await asyncio.sleep(0.3)  # the segments after it are written meanwhile
                raise StoreUnavailable()
            await super()._write(upload_id, envelope, index, pieces)

    data = os.urandom(4 * SEGMENT + 99)
    failing = FailingOnce(app.state.blobs)
    with pytest.raises(StoreUnavailable):
        await failing.append("u2", "documents", 0, _pieces(data, size=MIB), len(data))
    landed = await failing._segments("u2", "documents")
    assert 0 in landed and 1 not in landed and 2 in landed  # a gap, with a segment beyond it
    received = await failing.received("u2", "documents")
    assert received == SEGMENT
    assert await failing.append("u2", "documents", received, _pieces(data[received:]), len(data)) == len(data)
    sha = hashlib.sha256(data).hexdigest()
    stored = await failing.commit(await failing.prepare("u2", "documents", sha, len(data)))
    assert await app.state.blobs.read_bytes(stored.sha256, len(data)) == data
    await failing.discard("u2")


async def test_segment_writes_are_bounded_per_append_and_per_process(app, settings, monkeypatch):
    """Several uploads at once on S3 share the process's segment writes (memory stays bounded however many
    bidders upload), each append has at most a few under way, and every byte arrives."""
    if settings.blob_store != "s3":
        pytest.skip("the local store writes one file in order")
    from trading.blobs import s3

    monkeypatch.setattr(s3, "SEGMENTS_IN_FLIGHT_PER_PROCESS", 4)
    running: dict[str, int] = {}
    most = {"all": 0}

    class Counting(s3.S3Uploads):
        async def _write(self, upload_id: str, envelope: str, index: int, pieces: list[bytes]) -> None:
            running[upload_id] = running.get(upload_id, 0) + 1
            most[upload_id] = max(most.get(upload_id, 0), running[upload_id])
            most["all"] = max(most["all"], sum(running.values()))
            try:
                await asyncio.sleep(0.05)
                await super()._write(upload_id, envelope, index, pieces)
            finally:
                running[upload_id] -= 1

    uploads = Counting(app.state.blobs)
    data = {f"c{n}": os.urandom(6 * s3.SEGMENT + n) for n in range(3)}
    sent = await asyncio.gather(
        *[uploads.append(uid, "documents", 0, _pieces(body, size=MIB), len(body)) for uid, body in data.items()]
    )
    assert sent == [len(body) for body in data.values()]
    assert 2 <= most["all"] <= 4  # the process's bound (the last, short segments included)
    assert all(most[uid] <= s3.SEGMENTS_IN_FLIGHT for uid in data)
    for uid, body in data.items():
        stored = await uploads.commit(
            await uploads.prepare(uid, "documents", hashlib.sha256(body).hexdigest(), len(body))
        )
        assert await app.state.blobs.read_bytes(stored.sha256, len(body)) == body
        await uploads.discard(uid)


async def test_garbage_collection_takes_only_what_nothing_references_and_is_old_enough(app, client, clock, tmp_path):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1, "湖南建工集团有限公司")
    path = seal(section, bidder, tmp_path, documents={"商务标.txt": "投标函".encode()})
    info = await begun(client, bidder, section, path)
    for envelope, data in ciphertexts(path).items():
        assert (await put(client, bidder, info["upload_id"], envelope, data)).status_code == 200
    assert (await complete(client, bidder, info["upload_id"])).status_code == 201
    (bid,) = await bid_rows(app, section.id)
    referenced = {b["sha256"] for b in bid.blobs.values()}
    store = app.state.blobs
    orphan = (await store.put_stream(_pieces(b"a crash between storing and committing"), max_bytes=100)).sha256
    await store.uploads.append("f00d", "price", 0, _pieces(b"a begin that never committed"), 100)
    assert await stored_blobs(app) == referenced | {orphan}

    now = datetime.now(UTC)
    young = await collect_garbage(app.state, grace=timedelta(hours=1), now=now)
    assert (young.blobs_deleted, young.uploads_deleted) == (0, 0)  # all of it younger than the grace period
    dry = await collect_garbage(app.state, grace=timedelta(hours=1), now=now + timedelta(hours=2), dry_run=True)
    assert (dry.blobs_deleted, dry.uploads_deleted) == (1, 2) and await stored_blobs(app) == referenced | {orphan}
    # (2 uploads: the one that never committed, and the completed bid's own upload, whose bytes are now blobs)
    report = await collect_garbage(app.state, grace=timedelta(hours=1), now=now + timedelta(hours=2))
    assert (report.blobs_deleted, report.blobs_kept, report.uploads_deleted) == (1, 2, 2)
    assert await stored_blobs(app) == referenced  # whatever its age, a referenced blob stays
    assert not [name for name in await store_objects(store) if name.startswith("uploads/")]
    # and the bid still opens from what is kept
    for digest in referenced:
        assert await store.read_bytes(digest, 1 << 20)


async def test_an_upload_begun_on_one_host_is_continued_on_a_second_and_completed_on_a_third(
    app, client, clock, tmp_path, settings
):
    """Three app instances share the database and the bucket, each with its own local folder: a bid begun on
    the first, continued on the second and completed on the third is receipted once."""
    if settings.blob_store != "s3":
        pytest.skip("app hosts share blobs only through S3 (the local store is one host's directory)")
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1, "湖南建工集团有限公司")
    path = seal(section, bidder, tmp_path, documents={"技术标.bin": os.urandom(6 * MIB)})
    data = ciphertexts(path)
    hosts = []
    for n in (2, 3):
        other = create_app(
            settings.__class__(**{**_fields(settings), "blob_dir": str(tmp_path / f"host{n}")}), clock=clock
        )
        hosts.append(other)
    try:
        async with _client(hosts[0]) as second, _client(hosts[1]) as third:
            info = await begun(client, bidder, section, path)  # host 1
            uid = info["upload_id"]
            half = len(data["documents"]) // 2
            assert (await put(client, bidder, uid, "documents", data["documents"][:half])).status_code == 200
            r = await second.put(  # host 2 resumes from where host 1 stopped
                f"/api/uploads/{uid}/documents",
                params={"offset": half},
                content=data["documents"][half:],
                headers=bidder.headers,
            )
            assert r.status_code == 200 and r.json()["received"] == len(data["documents"]), r.text
            assert (await put(second, bidder, uid, "price", data["price"])).status_code == 200
            done = await complete(third, bidder, uid)  # host 3 completes
            assert done.status_code == 201, done.text
            again = await complete(client, bidder, uid)  # a retry on host 1: the same bid and receipt
            assert again.status_code == 201 and again.json()["receipt"] == done.json()["receipt"]
    finally:
        for other in hosts:
            await other.state.engine.dispose()
    assert len(await bid_rows(app, section.id)) == 1
    assert not (tmp_path / "host2").exists() or not any((tmp_path / "host2").rglob("*.part"))


def _fields(settings):
    import msgspec

    return msgspec.structs.asdict(settings)


def _client(app):
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
