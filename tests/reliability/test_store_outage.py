"""The object store stops mid-storm: no receipt is issued for a bid whose ciphertext is not durable, clients
hear 503 with Retry-After (never a 500, never a hang past the store timeout), and the service recovers by
itself when the store returns — with its own SeaweedFS, killed and started again on the same data."""

from __future__ import annotations

import asyncio
import random
import time

import msgspec
import pytest

from tests.processes import TradingServe
from tests.reliability.storm import active_bids, audit, market, seal_round, storm
from tests.s3server import BUCKET, SeaweedFS
from trading.blobs import make_blob_store

pytestmark = pytest.mark.asyncio
BIDDERS = 40
SEED = 20261203


async def test_the_store_stops_mid_storm_and_comes_back(app, client, clock, settings, tmp_path, backend):
    if backend != "postgresql" or settings.blob_store != "s3":
        pytest.skip("the object store half (PostgreSQL with S3)")
    store = SeaweedFS(tmp_path / "seaweedfs").start()
    try:
        own = msgspec.structs.replace(settings, s3_endpoint=store.endpoint, s3_bucket=BUCKET, s3_timeout=3.0)
        m = await market(app, client, clock, BIDDERS)
        app.state.blobs = make_blob_store(own)  # the test reads the same bucket
        server = TradingServe(own, tmp_path / "serve", workers=2)
        server.start()
        try:
            rng = random.Random(SEED)
            paths = await asyncio.to_thread(seal_round, m, tmp_path, 1)
            task = asyncio.create_task(storm(server.url, m, paths, order=rng.sample(range(BIDDERS), BIDDERS)))
            for _ in range(200):  # the store dies once the storm is well under way (a quarter of the bids in)
                if len(await active_bids(app, m.section.id)) >= BIDDERS // 4:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(rng.uniform(0, 0.3))
            store.kill9()
            killed = time.monotonic()
            outcomes = await task
            waited = time.monotonic() - killed
            statuses = {s for o in outcomes for s in o.statuses}
            held = {o.manifest_sha256 for o in outcomes if o.receipt is not None}
            refused = [o for o in outcomes if o.receipt is None]
            print(f"\nstore killed: {len(held)} receipted before, {len(refused)} refused, statuses {sorted(statuses)}")
            assert statuses <= {200, 201, 503}, statuses  # never a 500; the server itself stayed up
            assert held and 503 in statuses and refused
            assert waited < 60, f"clients waited {waited:.0f} s after the store died"
            retry = [v for o in outcomes for v in o.retry_after]
            assert retry and all(v and v.isdigit() for v in retry), retry  # every 503 says when to try again

            store.start()  # the store returns, with what it held
            result = await audit(app, m.section.id, held)
            assert not result.lost and result.half_stored == 0, result

            # The service recovers by itself: every bidder, again, now gets a receipt.
            again = await storm(server.url, m, await asyncio.to_thread(seal_round, m, tmp_path, 2))
            assert all(o.receipt is not None for o in again), sorted({s for o in again for s in o.statuses})
            result = await audit(app, m.section.id, held | {o.manifest_sha256 for o in again})
            assert not result.lost and result.half_stored == 0, result
        finally:
            server.stop()
    finally:
        store.stop()
