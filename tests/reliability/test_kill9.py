"""kill -9 mid-storm, 6 times: 100 bidders submit to one section while every process of `trading serve`
(its supervisor and both workers) is killed at a random moment; the server is started again and the next
round begins. After each restart every bid a client holds a receipt for is stored whole and in the log, and
no bid row is half-stored; at the end the section opens, every active bid opens, and `trading verify`
passes. The per-run table is printed (pytest -s shows it).

Why 6 runs and not more: 25 of the 100 submissions are in flight at any moment of a storm, each at its own
step (the begin, an append, the completion, the log's integration after it), so one kill already cuts
dozens of submissions at every step. What a run adds is another moment of the storm, and the runs' moments
are spread over it: run i is killed at a random moment within the i-th sixth of a whole storm's length (the
first bids' begins to the last completions), so early, middle and late kills are each met on every run of the
suite, where 20 draws over the whole storm (as this test first did) met them only by chance.
``TRADING_KILL_RUNS`` runs more (the moments then spread over that many slices), ``TRADING_KILL_SEED`` others."""

from __future__ import annotations

import asyncio
import os
import random
import time

import httpx
import pytest

from tests.bidding.harness import open_all, opening_record, start_opening
from tests.processes import TradingServe, trading_verify
from tests.reliability.storm import (
    active_bids,
    audit,
    bidding_closed,
    market,
    move_deadline,
    seal_round,
    storm,
)

pytestmark = pytest.mark.asyncio
RUNS = int(os.environ.get("TRADING_KILL_RUNS", "6"))
#: Where in a storm the kills fall: from the first bids' begins to the last completions.
EARLIEST, LATEST = 0.02, 0.95
BIDDERS = 100
SEED = int(os.environ.get("TRADING_KILL_SEED", "20261202"))


async def test_kill_9_mid_storm_loses_nothing_receipted(app, client, clock, settings, tmp_path, backend):
    if backend != "postgresql":
        pytest.skip("a storm of processes against one SQLite file measures SQLite's locking, not the service")
    rng = random.Random(SEED)
    m = await market(app, client, clock, BIDDERS)
    server = TradingServe(settings, tmp_path / "serve", workers=2)
    rows = []
    started = time.monotonic()
    server.start()
    # A first storm runs whole, to learn how long one takes here: the kills fall anywhere inside that.
    calm_started = time.monotonic()
    calm = await storm(server.url, m, await asyncio.to_thread(seal_round, m, tmp_path, 0))
    length = time.monotonic() - calm_started
    receipted: dict[str, dict] = {o.manifest_sha256: o.receipt for o in calm if o.receipt is not None}
    assert len(receipted) == BIDDERS, sorted({s for o in calm for s in o.statuses})
    try:
        for run in range(1, RUNS + 1):
            paths = await asyncio.to_thread(seal_round, m, tmp_path, run)
            width = (LATEST - EARLIEST) / RUNS
            kill_at = rng.uniform(EARLIEST + (run - 1) * width, EARLIEST + run * width) * length
            order = rng.sample(range(BIDDERS), BIDDERS)  # who comes first differs from run to run
            task = asyncio.create_task(storm(server.url, m, paths, order=order))
            await asyncio.sleep(kill_at)
            server.kill9()
            outcomes = await task
            restarted = time.monotonic()
            server.start()
            restart_s = time.monotonic() - restarted
            held = {o.manifest_sha256: o.receipt for o in outcomes if o.receipt is not None}
            receipted.update(held)
            result = await audit(app, m.section.id, set(receipted))
            for _ in range(100):  # the restarted workers integrate what the killed ones queued
                if not result.unlogged:
                    break
                await asyncio.sleep(0.1)
                result = await audit(app, m.section.id, set(receipted))
            statuses = sorted({s for o in outcomes for s in o.statuses})
            rows.append((run, kill_at, len(held), result.bids, result.half_stored, result.lost, restart_s, statuses))
            assert not result.lost, f"run {run}: receipted bids lost: {result.lost}"
            assert result.half_stored == 0, f"run {run}: {result.half_stored} half-stored ciphertexts counted"
            assert not result.unlogged, f"run {run}: receipted bids not in the log: {result.unlogged}"
            assert 500 not in statuses, f"run {run}: a 500 among {statuses}"
    finally:
        _print_table(rows, time.monotonic() - started, length)

    try:
        # The section closes and opens: every bidder's latest committed bid opens.
        await move_deadline(app, m.section, 1.5)
        await bidding_closed(server.url, m.section)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            assert (await start_opening(http, m.world, m.section)).status_code == 200
            await open_all(http, m.section)
            record = await opening_record(http, m.section)
        opened = {b["manifest_sha256"]: b["outcome"] for b in record["fields"]["bids"] if b["state"] == "active"}
        active = await active_bids(app, m.section.id)
        assert set(opened) == active and len(active) == BIDDERS  # each bidder's latest committed bid
        assert set(opened.values()) == {"opened"}, opened
        await trading_verify(server.url, tmp_path)
    finally:
        server.stop()


def _print_table(rows, total: float, length: float) -> None:
    print(
        f"\nkill -9 mid-storm: {len(rows)} runs × {BIDDERS} bidders, seed {SEED}, {total:.0f} s "
        f"(a whole storm without a kill: {length:.1f} s)"
    )
    print("run  kill at  receipts  bid rows  half-stored  lost  restart  statuses seen")
    for run, kill_at, held, bids, half, lost, restart_s, statuses in rows:
        print(
            f"{run:>3}  {kill_at:6.2f}s  {held:>8}  {bids:>8}  {half:>11}  {len(lost):>4}  {restart_s:6.1f}s  {statuses}"
        )
