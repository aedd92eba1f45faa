"""kill -9 mid-opening: the opening job of a section of a hundred and twenty bids runs on `trading serve` (two
workers, one bid a batch); every process of the server is killed once some batches are committed and before the
record is out. The server is started again: once the dead worker's claim has lapsed, one of the new workers takes
the job over from its last committed batch, opens every bid once and publishes one record, and `trading verify`
passes."""

from __future__ import annotations

import asyncio
import time

import httpx
import msgspec
import pytest
from sqlalchemy import func, select

from bidding.models import DocumentKey, Opening, OpeningResult
from notices.models import Notice
from tests.bidding.harness import open_as, opening_record, seal, start_opening, submit
from tests.processes import TradingServe, trading_verify
from tests.reliability.storm import bidding_closed, market, move_deadline

pytestmark = pytest.mark.asyncio
BIDS = 120
LEASE = 3.0


async def _results(app, section_id: int) -> tuple[int, int]:
    async with app.state.sessionmaker() as s:
        results = await s.scalar(
            select(func.count()).select_from(OpeningResult).where(OpeningResult.section_id == section_id)
        )
        keys = await s.scalar(select(func.count()).select_from(DocumentKey).where(DocumentKey.section_id == section_id))
        return results, keys


async def test_kill_9_mid_opening_resumes_and_publishes_once(app, client, clock, settings, tmp_path, backend):
    if backend != "postgresql":
        pytest.skip("two `trading serve` workers on one SQLite file measure SQLite's locking, not the job")
    m = await market(app, client, clock, BIDS)
    for n, bidder in enumerate(m.bidders):
        r = await submit(client, bidder, m.section, seal(m.section, bidder, tmp_path, price=4_000_000_000 + 97 * n))
        assert r.status_code == 201, r.text
    await move_deadline(app, m.section, 0.5)
    # As deployed (the arithmetic in a process beside each worker), with one bid a batch and a short lease.
    served = msgspec.structs.replace(settings, opening_batch=1, opening_lease=LEASE, opening_processes=1)
    server = TradingServe(served, tmp_path / "serve", workers=2)
    server.start()
    try:
        await bidding_closed(server.url, m.section)
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            assert (await start_opening(http, m.world, m.section)).status_code == 200
            for opener in m.section.openers[:-1]:
                assert (await open_as(http, opener, m.section)).status_code == 200
            r = await open_as(http, m.section.openers[-1], m.section)
            assert r.status_code == 202, r.text
            # Kill every process of the server as soon as the job has committed a batch.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status = (await http.get(f"/api/sections/{m.section.id}/opening")).json()
                if status["state"] != "opening" or status["progress"]["opened"] > 0:
                    break
                await asyncio.sleep(0.005)
            server.kill9()
        assert status["state"] == "opening", f"the job finished before the kill: raise BIDS ({status})"
        opened_before, _ = await _results(app, m.section.id)
        async with app.state.sessionmaker() as s:
            opening = await s.get(Opening, m.section.id)
            assert opening.state == "opening" and opening.lease_owner is not None  # held by a dead worker
            assert opening.bids_opened == opened_before and 0 < opened_before < BIDS

        restarted = time.monotonic()
        server.start()
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            record = await opening_record(http, m.section)
            taken_over = time.monotonic() - restarted
            bids = record["fields"]["bids"]
            assert len(bids) == BIDS and {b["outcome"] for b in bids} == {"opened"}
            assert sorted(b["form"]["total_price_fen"] for b in bids) == [4_000_000_000 + 97 * n for n in range(BIDS)]
        assert await _results(app, m.section.id) == (BIDS, BIDS)  # every bid opened once (one row each)
        async with app.state.sessionmaker() as s:
            records = await s.scalar(
                select(func.count())
                .select_from(Notice)
                .where(Notice.kind == "opening_record", Notice.project_id == m.section.notice["project_id"])
            )
            assert records == 1
            opening = await s.get(Opening, m.section.id)
            assert (opening.state, opening.bids_opened, opening.lease_owner) == ("opened", BIDS, None)
        print(
            f"\nkill -9 after {opened_before} of {BIDS} bids; restarted, taken over and published in {taken_over:.1f} s"
        )
        await trading_verify(server.url, tmp_path)
    finally:
        server.stop()
