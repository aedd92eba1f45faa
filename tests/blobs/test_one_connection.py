"""An app held to one database connection (``pool_size = 1``, ``pool_overflow = 0``) still opens a section whose
bids keep their ciphertexts in the database, and serves them: the opening's reads, the public download of an
opened bid's price ciphertext, the panel's documents. A reader that held its request's connection while the
store took a second one for the kept ciphertexts (trading.blobs.inline) would wait on itself here until the
pool's timeout — as every worker would in a storm once as many such reads as its pool holds met. And the slow
part of a completion, hashing what was uploaded, holds no connection at all."""

from __future__ import annotations

import msgspec
import pytest

from bidding import submission
from tests.bidding.harness import begun, complete, make_bidder, open_section, opening_settled, seal, upload
from tests.evaluation.test_documents import _draw, _open, _sections
from tests.factories import build_world
from trading.settings import Settings

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, pool_size=1, pool_overflow=0)


async def test_one_connection_opens_and_serves_ciphertexts_kept_in_the_database(app, client, clock, tmp_path):
    from datetime import timedelta

    world, (section,), (pool,), _bidders, sealed = await _sections(app, client, clock, tmp_path, ["市政"])
    clock.set(section.deadline + timedelta(minutes=1))
    await _open(client, world, section)
    status = await opening_settled(client, section)
    assert status["state"] == "opened", status
    record = (await client.get(f"/api/notices/{status['record_notice_id']}")).json()
    for bid in record["fields"]["bids"]:
        r = await client.get(f"/api/sections/{section.id}/opening/bids/{bid['manifest_sha256']}/price")
        assert r.status_code == 200, r.text
        assert len(r.content) == int(r.headers["content-length"])
    member = pool[(await _draw(client, world, section))[0]]
    for bid_id in sorted(sealed):
        r = await client.get(f"/api/sections/{section.id}/evaluation/bids/{bid_id}/documents/index", headers=member)
        assert r.status_code == 200, r.text


async def test_a_completion_holds_no_connection_while_it_hashes_the_ciphertexts(
    app, client, clock, tmp_path, monkeypatch
):
    """A big bid's ciphertexts take seconds to hash: were its request's connection held meanwhile (idle in a
    transaction), a storm of completions would hold the pool for as long."""
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1)
    path = seal(section, bidder, tmp_path)
    info = await begun(client, bidder, section, path)
    await upload(client, bidder, path, info)
    pool = app.state.engine.sync_engine.pool
    held: list[int] = []
    check = submission._check_ciphertexts

    async def counting(*args):
        held.append(pool.checkedout() if hasattr(pool, "checkedout") else 0)
        return await check(*args)

    monkeypatch.setattr(submission, "_check_ciphertexts", counting)
    r = await complete(client, bidder, info["upload_id"])
    assert r.status_code == 201, r.text
    assert held == [0]
