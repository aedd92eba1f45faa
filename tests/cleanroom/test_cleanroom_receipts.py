"""The clean-room receipt checker (tests/cleanroom/receipts.py) against a site with real bids, on SQLite and
PostgreSQL.

The site is stood up with the project's test harness (tests/bidding/harness.py, tests/factories.py); the checker
sees only the receipt and HTTP. The test app runs no integrator of its own: the log takes in entries only when a
test calls ``integrate_all``, so "never integrated" is a test that does not call it and moves the clock (the
app's FixedClock, which the site and the verifier both read here) past ``merge_by``.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.bidding.harness import make_bidder, open_all, open_section, seal, submit
from tests.cleanroom import primitives as p
from tests.cleanroom.receipts import check_receipt, verify_receipt
from tests.cleanroom.tampering import tampered_site
from tests.factories import build_world, integrate_all

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def _bid(app, client, clock, tmp_path, *, count: int = 1, integrate_first: bool = False):
    """A published section and *count* bids; with *integrate_first* the log has a signed checkpoint (of the
    notice and key entries) before the bids come in. Returns (world, section, [receipt objects as served])."""
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [await make_bidder(app, client, clock.at, i + 1) for i in range(count)]
    if integrate_first:
        await integrate_all(app)
    receipts = []
    for i, bidder in enumerate(bidders):
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=4_500_000_000 + i))
        assert r.status_code == 201, r.text
        receipts.append(r.json()["receipt"])
    return world, section, receipts


def _merge_by(receipt) -> datetime:
    return datetime.fromisoformat(receipt["document"]["merge_by"])


async def _vkey(client) -> str:
    return (await client.get("/log/key")).text.strip()


def _resigned(receipt, document: dict, key: Ed25519PrivateKey) -> dict:
    signed = p.canonical_json(document)
    return {"receipt": p.b64(signed), "signature": p.b64(key.sign(signed)), "document": document}


async def test_an_honest_receipt_verifies_once_integrated(app, client, clock, tmp_path):
    _, _, (receipt,) = await _bid(app, client, clock, tmp_path)
    check = check_receipt(receipt, log_key=await _vkey(client))
    assert check.ok, check.problems
    assert check_receipt(json.dumps(receipt).encode(), log_key=await _vkey(client)).ok  # the file form
    await integrate_all(app)
    result = await verify_receipt(client, receipt, now=clock.at)
    assert result.status == "verified" and result.ok, result.summary()
    assert result.index is not None and result.index < result.tree_size and not result.opened
    # a later run from the checkpoint kept: consistent; a different root at that size is a split view
    again = await verify_receipt(client, receipt, now=clock.at, previous=(result.tree_size, result.root))
    assert again.status == "verified", again.summary()
    forked = await verify_receipt(client, receipt, now=clock.at, previous=(result.tree_size, b"\x00" * 32))
    assert forked.status == "failed" and forked.codes() == ["split_view"], forked.summary()


async def test_before_integration_a_receipt_is_pending_not_failed(app, client, clock, tmp_path):
    # no checkpoint at all yet (/log/checkpoint answers 404 no_checkpoint)
    _, _, (receipt,) = await _bid(app, client, clock, tmp_path)
    result = await verify_receipt(client, receipt, now=clock.at)
    assert result.status == "pending" and result.ok and not result.problems, result.summary()
    assert result.tree_size is None


async def test_pending_against_a_checkpoint_without_the_entry(app, client, clock, tmp_path):
    # a signed checkpoint exists, the bid's entry is not in it yet (/log/proof/inclusion answers 404)
    _, _, (receipt,) = await _bid(app, client, clock, tmp_path, integrate_first=True)
    clock.set(_merge_by(receipt) - timedelta(seconds=1))
    result = await verify_receipt(client, receipt, now=clock.at)
    assert result.status == "pending" and result.ok, result.summary()
    assert result.tree_size and result.tree_size > 0


async def test_never_integrated_past_merge_by_is_a_broken_promise(app, client, clock, tmp_path):
    _, _, (receipt,) = await _bid(app, client, clock, tmp_path, integrate_first=True)
    clock.set(_merge_by(receipt) + timedelta(seconds=1))
    result = await verify_receipt(client, receipt, now=clock.at)
    assert result.status == "failed" and result.codes() == ["broken_promise"], result.summary()


async def test_no_checkpoint_at_all_past_merge_by_is_a_broken_promise(app, client, clock, tmp_path):
    _, _, (receipt,) = await _bid(app, client, clock, tmp_path)
    clock.set(_merge_by(receipt) + timedelta(minutes=10))
    result = await verify_receipt(client, receipt, now=clock.at)
    assert result.codes() == ["broken_promise"], result.summary()


async def test_one_byte_changed_fails_the_signature(app, client, clock, tmp_path):
    _, _, (receipt,) = await _bid(app, client, clock, tmp_path)
    await integrate_all(app)
    signed = bytearray(base64.b64decode(receipt["receipt"]))
    at = signed.index(b'"merge_by":"') + len(b'"merge_by":"2026-03-02T0')  # the hour's second digit
    signed[at] = ord("9")  # merge_by eight hours later: the bytes stay canonical, the signature breaks
    tampered = {**receipt, "receipt": p.b64(bytes(signed)), "document": json.loads(signed)}
    check = check_receipt(tampered, log_key=await _vkey(client))
    assert "bad_signature" in check.codes(), check.problems
    result = await verify_receipt(client, tampered, now=clock.at)
    assert result.status == "failed" and "bad_signature" in result.codes(), result.summary()

    # a byte of the bidder's credit code: the signature, and the event no longer names the receipt's bidder
    signed = bytearray(base64.b64decode(receipt["receipt"]))
    at = signed.index(b'"bidder_credit_code":"') + len(b'"bidder_credit_code":"')
    signed[at] = ord("8")
    check = check_receipt({**receipt, "receipt": p.b64(bytes(signed)), "document": json.loads(signed)})
    assert check.codes() == ["bad_signature", "event_mismatch"], check.problems


async def test_the_served_document_must_be_the_signed_one(app, client, clock, tmp_path):
    _, _, (receipt,) = await _bid(app, client, clock, tmp_path)
    shown = {**receipt, "document": {**receipt["document"], "merge_by": "2026-03-09T01:01:00+00:00"}}
    assert check_receipt(shown, log_key=await _vkey(client)).codes() == ["receipt_document_mismatch"]


async def test_a_receipt_signed_by_another_key_fails(app, client, clock, tmp_path):
    _, _, (receipt,) = await _bid(app, client, clock, tmp_path)
    await integrate_all(app)
    vkey = await _vkey(client)
    other = Ed25519PrivateKey.generate()
    document = dict(receipt["document"])

    # signed by another key, still naming the log's key
    forged = _resigned(receipt, document, other)
    assert check_receipt(forged, log_key=vkey).codes() == ["bad_signature"]
    result = await verify_receipt(client, forged, now=clock.at)
    assert result.codes() == ["bad_signature"], result.summary()

    # signed by another key under the log's name, naming that key: self-consistent, but not the log's
    public = other.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    origin = vkey.split("+", 1)[0]
    impostor = _resigned(receipt, {**document, "log_key": p.make_vkey(origin, 0x01, public)}, other)
    assert check_receipt(impostor).ok  # unpinned: it only shows the receipt agrees with itself
    assert check_receipt(impostor, log_key=vkey).codes() == ["log_key_mismatch", "bad_signature"]
    result = await verify_receipt(client, impostor, now=clock.at)
    assert result.status == "failed" and result.codes() == ["log_key_mismatch", "bad_signature"], result.summary()


def _tampered(app, rewrite) -> httpx.AsyncClient:
    return tampered_site(app, rewrite)


async def test_an_inclusion_proof_for_another_entry_is_reported(app, client, clock, tmp_path):
    _, _, receipts = await _bid(app, client, clock, tmp_path, count=2)
    await integrate_all(app)
    mine, theirs = (r["document"]["leaf_hash"] for r in receipts)
    size = int((await client.get("/log/checkpoint")).text.split("\n")[1])
    other = (await client.get("/log/proof/inclusion", params={"tree_size": size, "leaf_hash": theirs})).json()

    def proof_of_theirs(request, status, body):  # the proof (index, path) of the other bid, leaf hash ours
        if request.url.path == "/log/proof/inclusion" and request.url.params.get("leaf_hash") == mine:
            return 200, json.dumps({**other, "leaf_hash": p.b64(bytes.fromhex(mine))}).encode()
        return status, body

    async with _tampered(app, proof_of_theirs) as site:
        result = await verify_receipt(site, receipts[0], now=clock.at)
    assert result.status == "failed" and result.codes() == ["bad_proof"], result.summary()

    def entry_of_theirs(request, status, body):  # an honest proof, but another entry served at that index
        if request.url.path == "/log/entries":
            data = json.loads(body)
            for e in data["entries"]:
                e["data"] = receipts[1]["document"]["log_entry"]
            return status, json.dumps(data).encode()
        return status, body

    async with _tampered(app, entry_of_theirs) as site:
        result = await verify_receipt(site, receipts[0], now=clock.at)
    assert result.codes() == ["entry_mismatch"], result.summary()


async def test_a_site_that_denies_the_entry_past_merge_by_is_reported(app, client, clock, tmp_path):
    """The entry is in the log, but the site answers 'no such leaf': by its own account the promise is broken."""
    _, _, (receipt,) = await _bid(app, client, clock, tmp_path)
    await integrate_all(app)

    def deny(request, status, body):
        if request.url.path == "/log/proof/inclusion":
            return 404, json.dumps({"error": {"code": "leaf_not_found", "message": "No such leaf"}}).encode()
        return status, body

    async with _tampered(app, deny) as site:
        early = await verify_receipt(site, receipt, now=clock.at)
        late = await verify_receipt(site, receipt, now=_merge_by(receipt) + timedelta(seconds=1))
    assert early.status == "pending", early.summary()
    assert late.codes() == ["broken_promise"], late.summary()


async def test_after_the_opening_the_receipt_is_checked_against_the_cut(app, client, clock, tmp_path):
    world, section, receipts = await _bid(app, client, clock, tmp_path, count=3)  # three: the legal minimum
    # a fourth bidder replaces its bid: the replaced bid's receipt must still verify (the record lists it)
    first = await make_bidder(app, client, clock.at, 9)
    r = await submit(client, first, section, seal(section, first, tmp_path / "a", price=4_400_000_000))
    assert r.status_code == 201, r.text
    receipts.append(r.json()["receipt"])
    r = await submit(client, first, section, seal(section, first, tmp_path / "b", price=4_390_000_000))
    assert r.status_code == 201, r.text
    assert r.json()["receipt"]["document"]["event"]["replaces"] == receipts[-1]["document"]["manifest_sha256"]
    receipts.append(r.json()["receipt"])
    clock.set(section.deadline + timedelta(minutes=1))
    r = await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    await open_all(client, section)
    await integrate_all(app)
    for receipt in receipts:
        result = await verify_receipt(client, receipt, now=clock.at)
        assert result.status == "verified" and result.opened, result.summary()

    def drop_first_bid(request, status, body):  # a record document that no longer lists the first bid
        if request.url.path.endswith("/document"):
            data = json.loads(body)
            if data.get("kind") == "opening_record":
                manifest = receipts[0]["document"]["manifest_sha256"]
                data["fields"]["bids"] = [b for b in data["fields"]["bids"] if b["manifest_sha256"] != manifest]
                return status, p.canonical_json(data)
        return status, body

    async with _tampered(app, drop_first_bid) as site:
        result = await verify_receipt(site, receipts[0], now=clock.at)
    assert result.codes() == ["bid_dropped"], result.summary()


async def test_a_receipt_states_the_merge_delay_the_log_states(app, settings, clock, tmp_path):
    """GAPS.md Receipts R1, fixed: the delay is whole seconds (a fraction was signed truncated while merge_by kept
    it), and never more than the hour a verifier accepts (R2)."""
    import msgspec

    from trading.app import create_app  # setup only: the same site with another setting, as conftest makes it

    for refused in (90.5, 0, 7200):
        with pytest.raises(ValueError, match="log_max_merge_delay"):
            msgspec.structs.replace(settings, log_max_merge_delay=refused)
    site = create_app(msgspec.structs.replace(settings, log_max_merge_delay=90), clock=clock)
    try:
        transport = httpx.ASGITransport(app=site, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            _, _, (receipt,) = await _bid(site, client, clock, tmp_path)
            stated = (await client.get("/log/info")).json()["max_merge_delay_seconds"]
            check = check_receipt(receipt, log_key=await _vkey(client))
    finally:
        await site.state.live.stop()
        await site.state.engine.dispose()
    assert stated == 90
    assert check.ok, check.problems


async def test_a_first_format_receipt_is_checked_by_its_own_proof(app, client, clock, tmp_path):
    """log.md §11, "The first format": a v1 receipt (the site's key, its entry's index, the signed checkpoint and
    the audit path in hex) verifies; an audit path with one hash changed fails even though it is signed."""
    _, _, receipts = await _bid(app, client, clock, tmp_path, count=2)
    await integrate_all(app)
    document = dict(receipts[0]["document"])
    checkpoint = (await client.get("/log/checkpoint")).text
    size = int(checkpoint.split("\n")[1])
    proof = (
        await client.get("/log/proof/inclusion", params={"tree_size": size, "leaf_hash": document["leaf_hash"]})
    ).json()
    del document["max_merge_delay_seconds"], document["merge_by"]
    document |= {
        "format": "trading-receipt/v1",
        "leaf_index": proof["index"],
        "checkpoint": checkpoint,
        "inclusion_proof": [p.b64decode(node).hex() for node in proof["proof"]],
    }
    first = _resigned(receipts[0], document, app.state.platform_key)
    assert check_receipt(first, log_key=await _vkey(client)).ok
    result = await verify_receipt(client, first, now=clock.at)
    assert result.status == "verified" and result.index == proof["index"], result.summary()

    bent = _resigned(
        receipts[0],
        {**document, "inclusion_proof": ["00" * 32, *document["inclusion_proof"][1:]]},
        app.state.platform_key,
    )
    result = await verify_receipt(client, bent, now=clock.at)
    assert result.status == "failed" and result.codes() == ["bad_proof"], result.summary()
    beyond = _resigned(receipts[0], {**document, "leaf_index": size}, app.state.platform_key)
    result = await verify_receipt(client, beyond, now=clock.at)
    assert result.status == "failed" and set(result.codes()) == {"bad_proof"}, result.summary()
    in_base64 = _resigned(receipts[0], {**document, "inclusion_proof": proof["proof"]}, app.state.platform_key)
    assert "receipt_malformed" in check_receipt(in_base64, log_key=await _vkey(client)).codes()
