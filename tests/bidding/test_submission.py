"""Submitting sealed bids through the API: receipts, replays, late bids, forgeries, withdrawals."""

from __future__ import annotations

import base64
import json

import pytest

from tests.bidding.harness import make_bidder, open_section, seal, submit
from tests.factories import build_world

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
    assert doc["leaf_index"] is not None and doc["checkpoint"]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from trading.log.note import NoteVerifier

    vkey = (await client.get("/log/key")).text.strip()
    pub = NoteVerifier.from_vkey(vkey).public_key if hasattr(NoteVerifier.from_vkey(vkey), "public_key") else None
    if isinstance(pub, Ed25519PublicKey):
        pub.verify(base64.b64decode(receipt["signature"]), base64.b64decode(receipt["receipt"]))
    # The public log holds only a commitment: neither the section nor the bidder.
    entries = (await client.get("/log/entries", params={"start": 0, "end": 100})).json()["entries"]
    bid_entries = [json.loads(base64.b64decode(e["data"])) for e in entries]
    bid_entries = [e for e in bid_entries if e["kind"] == "bid_event"]
    assert len(bid_entries) == 1 and set(bid_entries[0]) == {"kind", "commitment", "section_tag"}
