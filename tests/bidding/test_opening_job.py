"""The opening as a background job owned by the database (bidding.opening_job): the upload that makes the opening
due is answered 202 and the hall shows the job's progress; two workers racing for the job open every bid once and
publish one record; a worker that dies mid-opening leaves its claim to lapse, and whoever takes the job over
resumes after the last committed batch."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bidding import opening_job
from bidding.models import Bid, DocumentKey, Opening, OpeningResult
from notices.models import Notice, NoticeVersion
from tests.bidding.harness import (
    make_bidder,
    open_as,
    open_section,
    opening_record,
    post_shares,
    seal,
    signed_shares,
    start_opening,
    submit,
)
from tests.factories import build_world
from trading.app import create_app
from trading.audit.models import AuditEntry
from trading.canonical import canonical_bytes, document_hash, sha256_hex
from trading.log.integrator import integrate_once
from trading.log.models import LogEntry
from trading.verify import verify_site

pytestmark = pytest.mark.asyncio

PRICES = [4_512_345_600, 4_498_000_000, 4_630_120_000, 4_701_000_000, 4_388_800_000]


@pytest.fixture
def small_batches(settings):
    """Settings with two bids a batch, so that a five-bid opening runs three batches, each computed in two
    processes beside the worker, as deployed."""
    return msgspec.structs.replace(settings, opening_batch=2, opening_processes=2)


@pytest_asyncio.fixture
async def worker(small_batches, clock):
    """An app of its own on the same database (another worker, or another host)."""
    other = create_app(small_batches, clock=clock)
    yield other
    await opening_job.runner_of(other.state).settle()
    opening_job.runner_of(other.state).drop_pool()
    await other.state.engine.dispose()


@pytest_asyncio.fixture
async def app(small_batches, clock):
    """The test's app, with small batches; its own runner does not start jobs by itself (a test runs them as one
    worker or another would, in the order it needs)."""
    from tests.conftest import _empty_tables

    application = create_app(small_batches, clock=clock)
    if application.state.engine.dialect.name == "postgresql":
        await _empty_tables(application.state.engine)
    runner = opening_job.runner_of(application.state)
    runner.kick = lambda: None  # type: ignore[method-assign]
    yield application
    opening_job.runner_of(application.state).drop_pool()
    await application.state.engine.dispose()


async def _due(app, client, clock, tmp_path):
    """Five bids, the window open, openers 1 and 2 in; opener 3's upload makes the opening due."""
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    for i, price in enumerate(PRICES):
        bidder = await make_bidder(app, client, clock.at, i + 1)
        assert (await submit(client, bidder, section, seal(section, bidder, tmp_path, price=price))).status_code == 201
    clock.set(section.deadline + timedelta(minutes=1))
    assert (await start_opening(client, world, section)).json()["state"] == "waiting"
    for opener in section.openers[:2]:
        r = await open_as(client, opener, section)
        assert r.status_code == 200 and r.json()["state"] == "waiting", r.text
    return section, await open_as(client, section.openers[2], section)


async def _counts(app, section_id: int) -> dict[str, int]:
    async with app.state.sessionmaker() as s:
        return {
            "results": await s.scalar(
                select(func.count()).select_from(OpeningResult).where(OpeningResult.section_id == section_id)
            ),
            "document_keys": await s.scalar(
                select(func.count()).select_from(DocumentKey).where(DocumentKey.section_id == section_id)
            ),
            "records": await s.scalar(select(func.count()).select_from(Notice).where(Notice.kind == "opening_record")),
        }


async def _published_once(app, client, clock, tmp_path, section) -> None:
    """One record, every bid in it opened once at its own price, and `trading verify` agrees."""
    record = await opening_record(client, section)
    bids = record["fields"]["bids"]
    assert sorted(b["form"]["total_price_fen"] for b in bids if b["outcome"] == "opened") == sorted(PRICES)
    counts = await _counts(app, section.id)
    assert (counts["results"], counts["document_keys"], counts["records"]) == (5, 5, 1)
    async with app.state.sessionmaker() as s:
        logged = await s.scalar(
            select(func.count()).select_from(LogEntry).where(LogEntry.event_key.like(f"notice:{record['id']}:%"))
        )
    assert logged == 1 and record["version"] == 1
    async with app.state.sessionmaker() as s:
        opening = await s.get(Opening, section.id)
        assert (opening.state, opening.bids_opened, opening.bids_total, opening.lease_owner) == ("opened", 5, 5, None)
    await _stored_once(app, record)
    await integrate_once(app.state)
    report, _ = await verify_site(client, url="http://site", state_path=tmp_path / "verify.json", now=clock.at)
    assert report.ok, report.summary()


async def _stored_once(app, record: dict) -> None:
    """The record's fields are stored once, in the published document, whose bytes and hash are the version's; the
    audit trail hashes the draft as a whole document holding them (encoded once, placed in both)."""
    async with app.state.sessionmaker() as s:
        notice = await s.get(Notice, record["id"])
        version = await s.scalar(select(NoticeVersion).where(NoticeVersion.notice_id == record["id"]))
        trail = {
            e.action: e
            for e in await s.scalars(
                select(AuditEntry).where(
                    AuditEntry.subject_type == "notice", AuditEntry.subject_id == str(record["id"])
                )
            )
        }
    assert notice.fields is None
    document = msgspec.json.decode(version.document)
    assert document["fields"] == record["fields"] and canonical_bytes(document) == version.document
    assert version.content_hash == sha256_hex(version.document) == record["content_hash"]
    draft = {
        "id": record["id"],
        "kind": "opening_record",
        "status": "draft",
        "title": record["title"],
        "body": record["body"],
        "fields": record["fields"],
        "timetable": record["timetable"],
        "section_ids": record["section_ids"],
        "target_notice_id": None,
    }
    assert trail["notice.draft"].after_hash == trail["notice.publish"].before_hash == document_hash(draft)
    assert trail["notice.publish"].after_hash == version.content_hash


async def test_the_upload_that_makes_the_opening_due_is_answered_202_and_the_job_publishes_the_record(
    app, client, clock, tmp_path
):
    section, r = await _due(app, client, clock, tmp_path)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/api/sections/{section.id}/opening"
    body = r.json()
    assert body["state"] == "opening" and body["uploaded"] == 3
    assert body["hall_url"] == f"/sections/{section.id}/opening" and body["status_url"] == r.headers["location"]
    # Due, not yet opened: nothing decrypted, and the hall says so, with the job's progress.
    status = (await client.get(f"/api/sections/{section.id}/opening")).json()
    assert status["state"] == "opening" and "results" not in status
    assert status["progress"]["opened"] == 0 and status["progress"]["total"] == 5
    assert (await _counts(app, section.id))["results"] == 0
    page = await client.get(f"/sections/{section.id}/opening")
    assert "正在解密" in page.text and 'id="progress-opened">0<' in page.text
    # The shares are fixed: none to download, none taken.
    third = section.openers[2]
    r = await client.get(f"/api/sections/{section.id}/opening/shares", headers=third.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "opening_not_waiting"
    r = await post_shares(client, third, section.id, signed_shares(section.id, 3, [], third.signing))
    assert r.status_code == 422 and r.json()["error"]["code"] == "opening_not_waiting"

    # A worker runs the job; the hall follows its committed batches.
    seen = []
    job = asyncio.create_task(opening_job.run_due(app.state, "worker-a"))
    while not job.done():
        seen.append((await client.get(f"/api/sections/{section.id}/opening")).json().get("progress", {}).get("opened"))
        await asyncio.sleep(0)
    assert await job == [section.id]
    assert seen == sorted(seen) and set(seen) <= {0, 2, 4, 5}
    await _published_once(app, client, clock, tmp_path, section)
    status = (await client.get(f"/api/sections/{section.id}/opening")).json()
    assert status["progress"] == {"opened": 5, "total": 5, "due_at": clock.at.isoformat()}
    # The record says the bids were opened when the opening became due.
    record = await opening_record(client, section)
    assert record["fields"]["opened_at"].startswith(clock.at.strftime("%Y-%m-%dT%H:%M"))
    # Nothing is left to run.
    assert await opening_job.run_due(app.state, "worker-a") == []


async def test_two_workers_racing_for_the_job_open_every_bid_once_and_publish_one_record(
    app, worker, client, clock, tmp_path
):
    section, r = await _due(app, client, clock, tmp_path)
    assert r.status_code == 202, r.text
    # Both workers' loops find the due opening at once; the database lets one take it.
    published = await asyncio.gather(
        opening_job.run_due(app.state, "worker-a"), opening_job.run_due(worker.state, "worker-b")
    )
    assert sorted(published) == [[], [section.id]]
    await _published_once(app, client, clock, tmp_path, section)
    # Later rounds of either find nothing to do.
    assert await opening_job.run_due(worker.state, "worker-b") == []
    assert await opening_job.run_due(app.state, "worker-a") == []


async def test_a_worker_that_dies_mid_opening_is_taken_over_after_its_lease_and_nothing_is_opened_twice(
    app, worker, client, clock, tmp_path
):
    section, r = await _due(app, client, clock, tmp_path)
    assert r.status_code == 202, r.text
    # Worker A opens two batches (four bids), commits them, and dies there: its claim is still held.
    assert await opening_job.run_job(app.state, section.id, "worker-a", batches=2) is False
    status = (await client.get(f"/api/sections/{section.id}/opening")).json()
    assert status["state"] == "opening" and status["progress"]["opened"] == 4
    assert (await _counts(app, section.id))["results"] == 4
    # While A's lease holds, nobody else takes the job.
    assert await opening_job.run_due(worker.state, "worker-b") == []
    # It lapses; B takes the job over, resumes after A's batches, opens the last one and dies before publishing.
    clock.set(clock.at + timedelta(seconds=app.state.settings.opening_lease + 1))
    assert await opening_job.run_job(worker.state, section.id, "worker-b", batches=1) is False
    assert (await _counts(app, section.id))["results"] == 5
    assert (await _counts(app, section.id))["records"] == 0
    # A comes back to life with its old claim: it may write nothing more.
    async with app.state.sessionmaker() as s:
        with pytest.raises(opening_job.LeaseLost):
            await opening_job._hold(s, app.state, section.id, "worker-a")
    assert await opening_job.run_job(app.state, section.id, "worker-a") is False  # B's lease holds
    # B's lapses too: a restarted worker (a new claim) finds every bid opened and publishes once.
    clock.set(clock.at + timedelta(seconds=app.state.settings.opening_lease + 1))
    assert await opening_job.run_due(app.state, "worker-a-restarted") == [section.id]
    await _published_once(app, client, clock, tmp_path, section)


async def test_a_worker_stopping_gracefully_hands_the_job_back_at_once(app, worker, client, clock, tmp_path):
    section, r = await _due(app, client, clock, tmp_path)
    assert r.status_code == 202, r.text
    runner = opening_job.runner_of(worker.state)
    assert await opening_job.run_job(worker.state, section.id, runner.owner, batches=1) is False
    await runner.close()  # SIGTERM: the worker's loop stops and releases its claim
    assert await opening_job.run_due(app.state, "worker-a") == [section.id]  # no lease to wait out
    await _published_once(app, client, clock, tmp_path, section)


def _failures() -> float:
    from prometheus_client import REGISTRY

    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "trading_opening_job_failures"
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


async def test_a_job_that_fails_keeps_its_batches_is_counted_and_goes_on_once_the_cause_is_fixed(
    app, worker, client, clock, tmp_path, caplog
):
    section, r = await _due(app, client, clock, tmp_path)
    assert r.status_code == 202, r.text
    # A price ciphertext of the last batch is gone from the store (a restore that missed it, say).
    async with app.state.sessionmaker() as s:
        bids = list(await s.scalars(select(Bid).where(Bid.section_id == section.id).order_by(Bid.id)))
    gone = bids[4].blobs["price"]
    kept = await app.state.blobs.read_bytes(gone["sha256"], int(gone["size"]))
    await app.state.blobs.delete(gone["sha256"])
    before = _failures()
    await opening_job.runner_of(worker.state).settle()  # the worker's loop runs the job: it fails reading batch 3
    assert _failures() == before + 1
    failed = [r.getMessage() for r in caplog.records if r.name == "trading.opening"]
    assert failed and all(str(p) not in m for m in failed for p in PRICES)  # the type only, no figure
    status = (await client.get(f"/api/sections/{section.id}/opening")).json()
    assert status["state"] == "opening" and status["progress"]["opened"] == 2  # the batch being written stays
    assert (await _counts(app, section.id))["results"] == 2
    # The ciphertext is put back; once the failed attempt's lease lapses, a worker goes on after batch 1.
    await app.state.blobs.put_bytes(kept, expected_sha256=gone["sha256"])
    assert await opening_job.run_due(app.state, "worker-a") == []  # the lease still holds
    clock.set(clock.at + timedelta(seconds=app.state.settings.opening_lease + 1))
    assert await opening_job.run_due(app.state, "worker-a") == [section.id]
    assert _failures() == before + 1
    await _published_once(app, client, clock, tmp_path, section)
