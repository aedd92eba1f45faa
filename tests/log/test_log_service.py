"""The log in the database: sequencing, exactly-once, deadline cuts, the HTTP interface, witnesses."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import build_world, published_tender
from trading.log import merkle, services
from trading.log.cuts import parse_cut
from trading.log.integrator import integrate_once
from trading.log.models import DeadlineCheckpoint, LogEntry
from trading.log.note import NoteVerifier, parse_checkpoint, verify_note

pytestmark = pytest.mark.asyncio


async def _checkpoint(client):
    vkey = (await client.get("/log/key")).text.strip()
    note = (await client.get("/log/checkpoint")).text
    return parse_checkpoint(verify_note(note, [NoteVerifier.from_vkey(vkey)]))


async def test_published_notices_are_logged_and_provable(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    assert (await client.get("/log/checkpoint")).status_code == 404  # nothing integrated yet
    assert await integrate_once(app.state) == 1
    cp = await _checkpoint(client)
    assert cp.size == 1 and cp.origin == app.state.settings.log_origin
    entries = (await client.get("/log/entries", params={"start": 0, "end": 10})).json()["entries"]
    data = base64.b64decode(entries[0]["data"])
    import json

    doc = json.loads(data)
    assert doc == {
        "kind": "notice_version",
        "trade_code": doc["trade_code"],
        "notice_id": notice["id"],
        "notice_kind": "tender",
        "version": 1,
        "content_sha256": notice["content_hash"],
        "published_at": doc["published_at"],
    }
    proof = (await client.get("/log/proof/inclusion", params={"index": 0, "tree_size": 1})).json()
    assert merkle.verify_inclusion(
        merkle.leaf_hash(data), 0, 1, [base64.b64decode(p) for p in proof["proof"]], cp.root_hash
    )
    by_hash = (
        await client.get("/log/proof/inclusion", params={"leaf_hash": merkle.leaf_hash(data).hex(), "tree_size": 1})
    ).json()
    assert by_hash["index"] == 0
    detail = (await client.get(f"/api/notices/{notice['id']}")).json()
    assert detail["versions"][0]["log_index"] == 0


async def test_concurrent_appends_get_gap_free_indices_exactly_once(app, clock):
    async def add(i: int) -> None:
        async with app.state.sessionmaker() as s:
            await services.append(s, event_key=f"test:{i % 40}", kind="test", document={"i": i % 40}, at=clock.at)
            await s.commit()

    async def integrate_repeatedly() -> None:
        for _ in range(10):
            await integrate_once(app.state)
            await asyncio.sleep(0)

    await asyncio.gather(*[add(i) for i in range(120)], integrate_repeatedly(), integrate_repeatedly())
    await integrate_once(app.state)
    async with app.state.sessionmaker() as s:
        indices = sorted(await s.scalars(select(LogEntry.leaf_index)))
        assert indices == list(range(40)), "each event once, indices 0..n-1 with no gap"
        assert await services.tree_size(s) == 40
        cp = await services.latest_checkpoint(s)
        assert cp.size == 40
        leaves = [bytes(h) for h in await s.scalars(select(LogEntry.leaf_hash).order_by(LogEntry.leaf_index))]
        assert merkle.root_from_leaf_hashes(leaves) == cp.root_hash


async def test_a_retried_request_leaves_one_leaf(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    async with app.state.sessionmaker() as s:
        # the same event again (a retried request): nothing is added
        await services.append(
            s, event_key=f"notice:{notice['id']}:v1", kind="notice_version", document={"x": 1}, at=clock.at
        )
        await s.commit()
        assert await s.scalar(select(func.count()).select_from(LogEntry)) == 1


async def test_proofs_for_every_size_match_an_independent_tree(app, clock):
    async with app.state.sessionmaker() as s:
        for i in range(37):
            await services.append(s, event_key=f"e{i}", kind="test", document={"n": i}, at=clock.at)
            await s.commit()
            await integrate_once(app.state)
        reference = [
            merkle.leaf_hash(bytes(d)) for d in await s.scalars(select(LogEntry.data).order_by(LogEntry.leaf_index))
        ]
        for size in range(1, 38):
            root = merkle.root_from_leaf_hashes(reference[:size])
            assert (await services.checkpoint_at(s, size)).root_hash == root
            for index in range(size):
                proof = await services.inclusion_proof(s, index, size)
                assert merkle.verify_inclusion(reference[index], index, size, proof, root)
            for first in range(1, size + 1):
                proof = await services.consistency_proof(s, first, size)
                assert merkle.verify_consistency(
                    first, size, merkle.root_from_leaf_hashes(reference[:first]), root, proof
                )


async def test_the_deadline_checkpoint_holds_exactly_what_came_before(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at, days=20)
    section_id = notice["section_ids"][0]
    deadline = (await client.get(f"/api/projects/{notice['project_id']}")).json()["sections"][0]["deadline_at"]
    async with app.state.sessionmaker() as s:
        from datetime import datetime

        d = datetime.fromisoformat(deadline)
        await services.append(s, event_key="before", kind="test", document={"t": "before"}, at=d - timedelta(seconds=1))
        await services.append(s, event_key="at", kind="test", document={"t": "at"}, at=d)
        await services.append(
            s, event_key="after", kind="test", document={"t": "after"}, at=d + timedelta(milliseconds=1)
        )
        await s.commit()
    clock.set(d + timedelta(seconds=2))  # past the deadline, inside the grace period
    await integrate_once(app.state, grace=timedelta(seconds=5))
    async with app.state.sessionmaker() as s:
        # "after" waits: it may not be integrated before the deadline's cut
        assert await s.scalar(select(LogEntry.leaf_index).where(LogEntry.event_key == "after")) is None
        assert await s.get(DeadlineCheckpoint, section_id) is None
    clock.set(d + timedelta(seconds=6))
    await integrate_once(app.state, grace=timedelta(seconds=5))
    async with app.state.sessionmaker() as s:
        cut = await s.get(DeadlineCheckpoint, section_id)
        assert cut is not None and cut.size == 3  # the notice, "before" and "at"
        assert await s.scalar(select(LogEntry.leaf_index).where(LogEntry.event_key == "after")) == 3
        # ...and the signed cut itself is logged right after, so the platform cannot show another one later
        assert (
            await s.scalar(select(LogEntry.leaf_index).where(LogEntry.event_key == f"deadline_cut:{section_id}")) == 4
        )
        assert (await services.latest_checkpoint(s)).size == 5
        checkpoint = await services.checkpoint_at(s, 3)
    served = await client.get(f"/log/cuts/{section_id}")
    assert served.status_code == 200 and served.text == cut.cut_note
    parsed = parse_cut(verify_note(served.text, [app.state.log_signer.verifier()]))
    assert (parsed.section_id, parsed.tree_size, parsed.root_hash) == (section_id, 3, bytes(checkpoint.root_hash))
    assert parsed.deadline == d and parsed.cut_at == d + timedelta(seconds=6)
    assert (await client.get(f"/log/cuts/{section_id + 1000}")).json()["error"]["code"] == "deadline_cut_not_found"


async def test_bad_log_queries_are_400s(client):
    assert (await client.get("/log/entries", params={"start": 5, "end": 2})).status_code == 400
    r = await client.get("/log/entries", params={"start": 0})
    assert r.status_code == 400 and r.json()["error"]["details"]["problems"][0]["key"] == "end"
    assert "参数 end：必填" in r.json()["error"]["message_zh"] and "end: the query parameter is required" in r.text
    assert (await client.get("/log/proof/inclusion", params={"tree_size": 1})).status_code == 400
    assert (await client.get("/log/proof/inclusion", params={"tree_size": 1, "leaf_hash": "zz"})).status_code == 400
    assert (await client.get("/log/proof/consistency", params={"first": 3, "second": 99})).status_code == 400
    r = await client.post("/log/witness", json={"size": 1, "cosignature": "— nobody AAAA"})
    assert r.status_code in (403, 404)


async def test_everyone_waiting_on_the_pump_at_once_is_served_by_one_shared_round(app, clock, monkeypatch):
    """Two hundred bids committing together cost a round or two, not two hundred (trading.log.integrator)."""
    from trading.log import integrator
    from trading.log.models import LogCheckpoint

    async with app.state.sessionmaker() as s:
        for i in range(50):
            await services.append(s, event_key=f"pump:{i}", kind="test", document={"i": i}, at=clock.at)
        await s.commit()
    rounds = 0
    real = integrator.integrate_once

    async def counted(state, **kwargs):
        nonlocal rounds
        rounds += 1
        return await real(state, **kwargs)

    monkeypatch.setattr(integrator, "integrate_once", counted)
    pump = integrator.pump_of(app.state)
    await asyncio.gather(*[pump.round() for _ in range(50)])
    # The first caller's round; then one more for the 49 who asked while it ran (their entries might have
    # committed after it read the queue): two rounds, not fifty.
    assert rounds == 2
    async with app.state.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.leaf_index.is_(None))) == 0
        assert await s.scalar(select(func.count()).select_from(LogCheckpoint)) == 1
    # One alone runs its own round.
    await pump.round()
    assert rounds == 3
