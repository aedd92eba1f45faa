"""Submitting sealed bids through the API: receipts, replays, late bids, forgeries, withdrawals."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest

from tests.bidding.harness import make_bidder, open_section, seal, submit
from tests.factories import build_world, integrate_all

pytestmark = pytest.mark.asyncio


async def test_a_sealed_bid_is_accepted_with_a_signed_receipt(app, client, clock, tmp_path):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1)
    path = seal(section, bidder, tmp_path)
    r = await submit(client, bidder, section, path)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "active"
    receipt = body["receipt"]
    doc = json.loads(base64.b64decode(receipt["receipt"]))
    assert doc["manifest_sha256"] == body["manifest_sha256"]
    assert doc["section_id"] == section.id and doc["bidder_credit_code"] == bidder.credit_code
    assert doc["format"] == "trading-receipt/v2"
    assert datetime.fromisoformat(doc["merge_by"]) == datetime.fromisoformat(doc["received_at"]) + timedelta(
        seconds=doc["max_merge_delay_seconds"]
    )
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from trading.log.note import NoteVerifier

    vkey = (await client.get("/log/key")).text.strip()
    pub = NoteVerifier.from_vkey(vkey).public_key if hasattr(NoteVerifier.from_vkey(vkey), "public_key") else None
    if isinstance(pub, Ed25519PublicKey):
        pub.verify(base64.b64decode(receipt["signature"]), base64.b64decode(receipt["receipt"]))
    # The public log holds only a commitment: neither the section nor the bidder.
    await integrate_all(app)
    entries = (await client.get("/log/entries", params={"start": 0, "end": 100})).json()["entries"]
    bid_entries = [json.loads(base64.b64decode(e["data"])) for e in entries]
    bid_entries = [e for e in bid_entries if e["kind"] == "bid_event"]
    assert len(bid_entries) == 1 and set(bid_entries[0]) == {"kind", "commitment", "section_tag"}


async def test_a_bidder_has_one_open_upload_per_section_and_the_newest_wins(app, client, clock, tmp_path):
    from sqlalchemy import select

    from bidding.models import Upload
    from tests.bidding.harness import begun, ciphertexts, complete, put

    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1)
    first = seal(section, bidder, tmp_path, price=4_512_345_600)
    second = seal(section, bidder, tmp_path, price=4_498_000_000)
    old = await begun(client, bidder, section, first)
    new = await begun(client, bidder, section, second)
    assert old["upload_id"] != new["upload_id"]
    async with app.state.sessionmaker() as s:
        states = dict((await s.execute(select(Upload.id, Upload.state))).all())
    assert states == {old["upload_id"]: "superseded", new["upload_id"]: "open"}
    r = await client.get(f"/api/uploads/{old['upload_id']}", headers=bidder.headers)
    assert r.json()["state"] == "superseded"
    r = await put(client, bidder, old["upload_id"], "price", ciphertexts(first)["price"])
    assert r.status_code == 409 and "取代" in r.json()["error"]["message_zh"]
    r = await complete(client, bidder, old["upload_id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "upload_conflict"
    # Going back to the first bid reopens it, and supersedes the second.
    again = await begun(client, bidder, section, first)
    assert again["upload_id"] == old["upload_id"]
    async with app.state.sessionmaker() as s:
        states = dict((await s.execute(select(Upload.id, Upload.state))).all())
    assert states == {old["upload_id"]: "open", new["upload_id"]: "superseded"}
