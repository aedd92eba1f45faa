"""A hundred completions racing the bid deadline (20号令 §27), with the scheduler's close running among them.

A hundred bidders each have a bid in, and each seals a second one to replace it (a bidder has one upload open
at a time); all the second ciphertexts are uploaded in time; then the 100 ``complete`` calls go out together,
twenty at a time, while the platform clock moves one millisecond per answer from 25 ms before the deadline to
75 ms after it, and the scheduler keeps trying to close the section.

Whatever the interleaving: every answer is a receipt or a refusal (never an error); every receipt is a bid in
the opening record (the latest per bidder active and opened to the price it was sealed with, the others
replaced); every bid in the record has a receipt; no bid was received at or after the deadline; and every
receipted bid's log entry lies inside the deadline checkpoint, with no bid event after it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from datetime import timedelta

import pytest

from bidding import events, scheduler
from bidding.envelope import read_sealed_bid
from tests.bidding.harness import (
    b64,
    bid_rows,
    complete,
    log_entries,
    make_bidder,
    manifest_sha256_of,
    open_all,
    open_section,
    opening_record,
    seal,
    start_opening,
)
from tests.factories import build_world
from trading.app import create_app
from trading.log import merkle

pytestmark = pytest.mark.asyncio

BIDDERS = 100
ROUNDS = 2  # a bid in before the race, and its replacement completed in the race
IN_FLIGHT = 20
RACE = BIDDERS  # completions in the race, one per bidder
BEFORE = RACE // 4  # answers before the clock reaches the deadline
PLACES = ["长沙", "株洲", "湘潭", "衡阳", "邵阳", "岳阳", "常德", "张家界", "益阳", "郴州"]
TRADES = ["路桥建设", "市政工程", "建工集团", "水利水电工程"]


def _name(i: int) -> str:
    return f"湖南{PLACES[i % len(PLACES)]}{TRADES[i // len(PLACES) % len(TRADES)]}有限公司"


def _price(i: int, j: int) -> int:
    return 4_400_000_000 + i * 1_000_000 + j * 10_000  # fen


async def _gather_limited(limit: int, coros):
    gate = asyncio.Semaphore(limit)

    async def one(c):
        async with gate:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


async def test_a_hundred_replacements_racing_the_deadline_and_the_close(app, client, clock, tmp_path):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [await make_bidder(app, client, clock.at, i + 1, _name(i)) for i in range(BIDDERS)]
    files = {
        (i, j): seal(
            section,
            bidders[i],
            tmp_path / "sealed",
            price=_price(i, j),
            documents={"投标函.txt": f"{_name(i)} 第{j + 1}次递交".encode()},
        )
        for i in range(BIDDERS)
        for j in range(ROUNDS)
    }
    digest = {key: manifest_sha256_of(path) for key, path in files.items()}

    async def prepare(key):
        bidder, sealed = bidders[key[0]], read_sealed_bid(files[key])
        r = await client.post(
            f"/api/sections/{section.id}/bids",
            headers=bidder.headers,
            json={
                "manifest": b64(sealed.manifest_bytes),
                "signature": b64(sealed.signature),
                "sealed_shares": {e: [b64(s) for s in shares] for e, shares in sealed.sealed_shares.items()},
            },
        )
        assert r.status_code == 201, r.text
        upload_id = r.json()["upload_id"]
        for envelope in ("price", "documents"):
            data = b"".join(sealed.iter_ciphertext(envelope))
            put = await client.put(
                f"/api/uploads/{upload_id}/{envelope}", params={"offset": 0}, content=data, headers=bidder.headers
            )
            assert put.status_code == 200, put.text
        return key, upload_id

    first = [(i, 0) for i in range(BIDDERS)]
    uploads = dict(await _gather_limited(IN_FLIGHT, [prepare(key) for key in first]))
    earlier = {}
    for key in first:  # every bidder's first bid, in well before the deadline
        r = await complete(client, bidders[key[0]], uploads[key])
        assert r.status_code == 201, r.text
        earlier[key] = r.json()
    order = [(i, 1) for i in range(BIDDERS)]
    uploads |= dict(await _gather_limited(IN_FLIGHT, [prepare(key) for key in order]))

    # The race: 100 completions in a shuffled order, 20 in flight; the clock moves 1 ms per answer, crossing
    # the deadline after about 25 answers; the scheduler tries to close the section all along.
    random.Random(20260302).shuffle(order)
    clock.set(section.deadline - timedelta(milliseconds=BEFORE))
    done = asyncio.Event()
    closes: list[tuple[int, int]] = []  # (section closed, answers given by then)
    answered = 0

    # The scheduler runs as another worker would: with its own connection pool, not queued behind the requests.
    worker = create_app(app.state.settings, clock=clock)

    async def ticker():
        while not done.is_set():
            closes.extend((closed, answered) for closed in await scheduler.tick(worker.state))
            await asyncio.sleep(0.005)

    async def finish(key):
        nonlocal answered
        r = await complete(client, bidders[key[0]], uploads[key])
        answered += 1
        clock.advance(milliseconds=1)
        return key, r

    ticking = asyncio.create_task(ticker())
    try:
        answers = await _gather_limited(IN_FLIGHT, [finish(key) for key in order])
    finally:
        done.set()
        await ticking
        await worker.state.engine.dispose()
    assert clock.at >= section.deadline + timedelta(milliseconds=RACE - BEFORE - 1)
    # Closed exactly once, after the clock crossed the deadline. (When, among the answers after it, depends on
    # the database: on PostgreSQL the close waits for the row lock of every completion begun before the
    # deadline, while the refusals after it answer at once.)
    assert [closed for closed, _ in closes] == [section.id]
    assert BEFORE <= closes[0][1] <= RACE, closes

    # Every answer is a receipt or a refusal that names the deadline or the closed section: never an error.
    raced = {key: r.json() for key, r in answers if r.status_code == 201}
    refusals = [(key, r) for key, r in answers if r.status_code != 201]
    for _key, r in refusals:
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] in ("deadline_passed", "section_not_open"), r.text
    assert len(answers) == RACE
    assert BEFORE // 2 <= len(raced) <= 2 * BEFORE, (len(raced), closes)  # the deadline fell in the race
    receipted = earlier | raced
    assert any(r.json()["error"]["code"] == "deadline_passed" for _, r in refusals)

    platform = app.state.platform_key.public_key()
    for key, body in receipted.items():
        receipt = body["receipt"]
        assert receipt is not None, body
        platform.verify(base64.b64decode(receipt["signature"]), base64.b64decode(receipt["receipt"]))
        document = json.loads(base64.b64decode(receipt["receipt"]))
        assert document["manifest_sha256"] == body["manifest_sha256"] == digest[key]
        assert document["bidder_credit_code"] == bidders[key[0]].credit_code
        assert document["received_at"] < section.deadline.isoformat()

    # The database holds exactly the receipted bids, none received at or after the deadline; the latest
    # receipted bid of each bidder (the last to commit) is the active one.
    rows = await bid_rows(app, section.id)
    assert {b.manifest_sha256 for b in rows} == {digest[k] for k in receipted}
    assert all(b.received_at < section.deadline for b in rows)
    latest: dict[int, tuple[int, tuple[int, int]]] = {}
    for key, body in receipted.items():
        if key[0] not in latest or body["bid_id"] > latest[key[0]][0]:
            latest[key[0]] = (body["bid_id"], key)
    active = {digest[key] for _, key in latest.values()}
    assert {b.manifest_sha256 for b in rows if b.state == "active"} == active
    assert {b.state for b in rows if b.manifest_sha256 not in active} <= {"replaced"}
    # Refused completions left no bid, and their uploads were abandoned at the close.
    refused_keys = {key for key, _ in refusals}
    for key in refused_keys:
        r = await client.get(f"/api/uploads/{uploads[key]}", headers=bidders[key[0]].headers)
        assert r.json()["state"] == "abandoned", r.text

    # The opening: every receipted bid is in the record, and nothing else.
    clock.set(section.deadline + timedelta(minutes=1))
    r = await start_opening(client, world, section)
    assert r.status_code == 200 and r.json()["state"] == "waiting", r.text
    await open_all(client, section)  # all n: the opening is due at once (else when the window ends)
    record = await opening_record(client, section)
    listed = {row["manifest_sha256"]: row for row in record["fields"]["bids"]}
    assert set(listed) == {digest[k] for k in receipted}
    by_digest = {digest[k]: k for k in receipted}
    for manifest, row in listed.items():
        assert row["received_at"] < section.deadline.isoformat()
        if manifest in active:
            assert row["state"] == "active" and row["outcome"] == "opened", row
            assert row["form"]["total_price_fen"] == _price(*by_digest[manifest])
        else:
            assert row["state"] == row["outcome"] == "replaced" and "form" not in row, row

    # The log: every receipted bid's entry is inside the deadline checkpoint, and no bid event after it.
    cut = record["fields"]["deadline_checkpoint"]["size"]
    note = (await client.get(f"/log/checkpoints/{cut}")).text
    assert note == record["fields"]["deadline_checkpoint"]["note"]
    tree = int((await client.get("/log/checkpoint")).text.splitlines()[1])
    entries = await log_entries(client, 0, tree)
    assert [i for i, _ in entries] == list(range(tree))
    inside = {merkle.leaf_hash(data).hex(): i for i, data in entries[:cut]}
    commitments_inside = [
        json.loads(data)["commitment"] for _, data in entries[:cut] if json.loads(data).get("kind") == "bid_event"
    ]
    for key, body in receipted.items():
        document = body["receipt"]["document"]
        assert document["leaf_hash"] in inside, key
        assert document["format"] == "trading-receipt/v2" and document["merge_by"]  # the promise, kept
    for row in listed.values():
        assert events.commitment(row["event"]["details"], base64.b64decode(row["event"]["salt"])) in commitments_inside
    assert len(commitments_inside) == len(listed)  # one event per bid: nothing extra, nothing missing
    assert not [i for i, data in entries[cut:] if json.loads(data).get("kind") == "bid_event"]
