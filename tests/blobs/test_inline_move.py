"""Small bids' ciphertexts kept in the database (trading.blobs.inline) move to the blob store once
``inline_blob_keep_days`` old, so that the database does not hold every small bid ever made: written there
before their rows go, found by every reader before, during and after, and left where they were when the store
fails. On SQLite nothing is kept in the database, so nothing moves."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from tests.bidding.harness import bid_rows, blob_files, ciphertexts, seal, submit_file
from tests.bidding.test_one_request import _market
from trading.blobs.backup import missing_blobs
from trading.blobs.gc import collect_garbage, move_kept
from trading.blobs.inline import inline_blobs, move_to_store

pytestmark = pytest.mark.asyncio


async def _kept_bid(app, client, clock, tmp_path) -> dict[str, bytes]:
    """A section's second bid sent whole (the first makes its tag key): its ciphertexts by digest."""
    _world, section, (first, bidder) = await _market(app, client, clock, 2)
    assert (await submit_file(client, first, section, seal(section, first, tmp_path))).status_code == 201
    path = seal(section, bidder, tmp_path)
    assert (await submit_file(client, bidder, section, path)).status_code == 201
    (bid,) = [row for row in await bid_rows(app, section.id) if row.organisation_id == bidder.organisation_id]
    return {bid.blobs[envelope]["sha256"]: data for envelope, data in ciphertexts(path).items()}


async def _kept(app, digests) -> dict[str, bytes]:
    async with app.state.engine.connect() as conn:
        return await inline_blobs(conn, digests)


async def _read_back(app, sent: dict[str, bytes]) -> None:
    store = app.state.blobs
    assert await store.read_many([(sha, len(data)) for sha, data in sent.items()]) == list(sent.values())
    for sha, data in sent.items():
        assert b"".join([chunk async for chunk in store.open_stream(sha)]) == data


async def test_kept_ciphertexts_move_to_the_blob_store_once_old_and_every_reader_still_finds_them(
    app, client, clock, tmp_path
):
    sent = await _kept_bid(app, client, clock, tmp_path)
    kept_here = app.state.engine.dialect.name == "postgresql"
    assert (await _kept(app, sent)).keys() == (set(sent) if kept_here else set())
    before = await blob_files(app)

    # Not old enough: nothing moves.
    assert await move_kept(app.state, now=clock.at + timedelta(days=29)) == 0
    assert (await _kept(app, sent)).keys() == (set(sent) if kept_here else set())

    # A dry run counts them and moves nothing.
    assert await move_kept(app.state, now=clock.at + timedelta(days=31), dry_run=True) == (2 if kept_here else 0)
    assert await blob_files(app) == before

    assert await move_kept(app.state, now=clock.at + timedelta(days=31)) == (2 if kept_here else 0)
    assert await _kept(app, sent) == {}
    after = await blob_files(app)
    assert len(after) == len(before) + (2 if kept_here else 0)
    assert {sha for _size, sha in after.values()} >= set(sent)
    await _read_back(app, sent)
    assert await missing_blobs(app.state) == {}
    report = await collect_garbage(app.state, grace=timedelta(0))
    assert report.blobs_missing == 0 and report.blobs_deleted == 0
    await _read_back(app, sent)

    # Again: nothing left to move.
    assert await move_kept(app.state, now=clock.at + timedelta(days=31)) == 0


async def test_a_store_that_fails_mid_move_leaves_the_rows_it_had_not_deleted(app, client, clock, tmp_path):
    sent = await _kept_bid(app, client, clock, tmp_path)
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps no bid's ciphertexts in the database")

    class Failing:
        """The blob store, away after its first write."""

        def __init__(self, inner) -> None:
            self.inner, self.written = inner, 0

        async def put_bytes(self, data: bytes, *, expected_sha256: str):
            if self.written:
                raise OSError("the store is away")
            self.written += 1
            return await self.inner.put_bytes(data, expected_sha256=expected_sha256)

    with pytest.raises(OSError):
        await move_to_store(app.state.sessionmaker, Failing(app.state.blobs), clock.at + timedelta(days=1))
    assert (await _kept(app, sent)).keys() == set(sent)  # the batch's rows stay until all of it is written
    await _read_back(app, sent)
    assert await move_to_store(app.state.sessionmaker, app.state.blobs, clock.at + timedelta(days=1)) == 2
    assert await _kept(app, sent) == {}
    await _read_back(app, sent)


async def test_inline_blob_keep_days_zero_keeps_them_and_the_setting_is_bounded(app, client, clock, tmp_path):
    sent = await _kept_bid(app, client, clock, tmp_path)
    app.state.settings = msgspec.structs.replace(app.state.settings, inline_blob_keep_days=0.0)
    assert await move_kept(app.state, now=clock.at + timedelta(days=3650)) == 0
    if app.state.engine.dialect.name == "postgresql":
        assert (await _kept(app, sent)).keys() == set(sent)
    from trading.settings import Settings

    for days in (-1, 3651):
        with pytest.raises(ValueError, match="inline_blob_keep_days"):
            Settings(inline_blob_keep_days=days)


async def test_the_garbage_collections_round_moves_them(app, client, clock, tmp_path):
    """The periodic round (one worker of all, under the collection's lock) moves them too, once old on the
    platform's clock, which dated them."""
    from trading.blobs.gc import _collect_once

    sent = await _kept_bid(app, client, clock, tmp_path)
    kept = await _kept(app, sent)
    clock.set(clock.at + timedelta(days=29))
    await _collect_once(app.state, timedelta(hours=24))
    assert await _kept(app, sent) == kept
    clock.set(clock.at + timedelta(days=2))
    await _collect_once(app.state, timedelta(hours=24))
    assert await _kept(app, sent) == {}
    await _read_back(app, sent)
