"""The clean-room verifier against a site with a real opening, on SQLite and PostgreSQL.

The site is stood up with the project's own test harness (tests/bidding/harness.py, tests/factories.py), the
only non-document code read for this; the verifier (tests/cleanroom/verifier.py) sees nothing but HTTP.
Tampering is done the two ways an outsider cannot tell apart: rows changed behind the platform's back before
the opening, and a site serving altered answers (a rewriting transport in front of the honest app).
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete, select, update

from tests.bidding.harness import make_bidder, open_all, open_section, seal, submit
from tests.cleanroom.tampering import tampered_site
from tests.cleanroom.verifier import verify
from tests.factories import build_world, integrate_all

pytestmark = pytest.mark.asyncio

PRICES = [4_512_345_600, 4_498_000_000, 4_630_120_000, 4_700_000_000]


async def _site(app, client, clock, tmp_path, count=3, before_opening=None):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = []
    for i in range(count):
        bidder = await make_bidder(app, client, clock.at, i + 1)
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=PRICES[i]))
        assert r.status_code == 201, r.text
        bidders.append(bidder)
    if before_opening:
        await before_opening(section, bidders)
    clock.set(section.deadline + timedelta(minutes=1))
    r = await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    await open_all(client, section)  # all n upload: the opening is due at once
    await integrate_all(app)
    return section


async def test_an_honest_opening_verifies_clean(app, client, clock, tmp_path):
    await _site(app, client, clock, tmp_path)
    report = await verify(client)
    assert report.ok, report.summary()
    assert report.openings == 1 and report.offline_openings == 0
    assert report.bids == 3 and report.events == 3 and report.manifests == 3 and report.opened_bids == 3
    assert report.entries == report.tree_size > 0
    assert report.kinds["bid_event"] == 3 and report.kinds["deadline_cut"] == 1 and not report.unknown_kinds


async def _seal_ceiling(app, client, world_headers, section, tmp_path, times=1):
    from tests.bidding.harness import centre_key, reserve_body, seal_reserve

    key = await centre_key(client, world_headers)
    for i in range(times):  # sealed again: the later replaces the earlier, both logged
        body = reserve_body(seal_reserve(section, key, tmp_path / "centre", fen=4_800_000_000 + i))
        r = await client.post(
            f"/api/sections/{section.id}/reserve-price", headers=world_headers.headers("staff"), json=body
        )
        assert r.status_code == 201, r.text


async def test_an_opening_with_a_replaced_control_price_verifies_clean(app, client, clock, tmp_path):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    for i in range(3):
        bidder = await make_bidder(app, client, clock.at, i + 1)
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=PRICES[i]))
        assert r.status_code == 201, r.text
    await _seal_ceiling(app, client, world, section, tmp_path, times=2)
    clock.set(section.deadline + timedelta(minutes=1))
    r = await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    await open_all(client, section)
    await integrate_all(app)
    report = await verify(client)
    assert report.ok, report.summary()
    assert report.reserve_prices == 2 and report.bids == 5 and report.events == 5 and report.manifests == 5
    assert report.opened_bids == 4  # three bids and the active control price re-decrypted


async def test_a_bid_deleted_before_the_opening_is_named(app, client, clock, tmp_path):
    from bidding.models import Bid  # setup only: someone with database rights drops a bid

    async def drop_second(_section, bidders):
        async with app.state.sessionmaker() as s:
            victim = await s.scalar(select(Bid).where(Bid.organisation_id == bidders[1].organisation_id))
            await s.execute(delete(Bid).where(Bid.id == victim.id))
            await s.commit()

    await _site(app, client, clock, tmp_path, count=4, before_opening=drop_second)
    report = await verify(client)
    assert report.codes() == ["bid_dropped"], report.summary()
    assert report.bids == 3


async def test_a_bid_both_replaced_and_withdrawn_is_named(app, client, clock, tmp_path):
    """log.md §5 step 4. With database rights, a bid its replacement had ended is made active again and
    withdrawn (signed and logged as the bidder asked): the record lists it withdrawn and replaced."""
    from bidding.models import Bid
    from tests.bidding.harness import withdraw

    async def set_states(states):
        async with app.state.sessionmaker() as s:
            for manifest, state in states.items():  # one at a time: one active bid per bidder
                await s.execute(update(Bid).where(Bid.manifest_sha256 == manifest).values(state=state))
            await s.commit()

    async def withdraw_the_replaced_bid(section, bidders):
        last = bidders[-1]
        first = (await client.get(f"/api/sections/{section.id}/bids/mine", headers=last.headers)).json()
        again = seal(section, last, tmp_path / "again", price=PRICES[2] - 1)
        assert (await submit(client, last, section, again)).status_code == 201
        second = (await client.get(f"/api/sections/{section.id}/bids/mine", headers=last.headers)).json()
        await set_states({second["manifest_sha256"]: "replaced", first["manifest_sha256"]: "active"})
        assert (await withdraw(client, last, section.id, first["manifest_sha256"])).status_code == 200
        await set_states({second["manifest_sha256"]: "active"})
        ended.append(first["manifest_sha256"])

    ended: list[str] = []
    await _site(app, client, clock, tmp_path, before_opening=withdraw_the_replaced_bid)
    report = await verify(client)
    assert report.codes() == ["bid_ended_twice"], report.summary()
    assert report.problems[0].where["manifest_sha256"] == ended[0]


def _tampered_client(app, rewrite) -> httpx.AsyncClient:
    """The site with *rewrite* (path, honest body → body served) changing its answers."""
    return tampered_site(app, lambda request, status, body: (status, rewrite(request.url.path, body)))


def _change_price(fields):
    fields["bids"][0]["form"]["total_price_fen"] += 100_000_00


async def test_a_changed_price_in_the_record_is_named(app, client, clock, tmp_path):
    """The notice's fields say another price than the logged document: both are named."""
    await _site(app, client, clock, tmp_path)

    def rewrite(path, body):
        if path.startswith("/api/notices/") and path.count("/") == 3:
            data = json.loads(body)
            if data.get("kind") == "opening_record":
                _change_price(data["fields"])
                return json.dumps(data, ensure_ascii=False).encode()
        return body

    async with _tampered_client(app, rewrite) as tampered:
        report = await verify(tampered)
    assert report.codes() == ["document_altered"], report.summary()


async def test_a_changed_price_in_the_served_document_is_named(app, client, clock, tmp_path):
    """A site that serves a record document with another price (its hash then differs from the log's)."""
    await _site(app, client, clock, tmp_path)

    def rewrite(path, body):
        if path.endswith("/document"):
            data = json.loads(body)
            if data.get("kind") == "opening_record":
                _change_price(data["fields"])
                return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        return body

    async with _tampered_client(app, rewrite) as tampered:
        report = await verify(tampered)
    assert report.codes() == ["document_altered"], report.summary()


async def test_a_price_ciphertext_other_than_the_signed_one_is_named(app, client, clock, tmp_path):
    await _site(app, client, clock, tmp_path)

    def rewrite(path, body):
        if path.endswith("/price"):
            return body[:-1] + bytes([body[-1] ^ 1])
        return body

    async with _tampered_client(app, rewrite) as tampered:
        report = await verify(tampered)
    assert report.codes() == ["price_mismatch"] * 3, report.summary()


async def test_a_false_price_published_and_logged_with_the_log_key_is_named(app, client, clock, tmp_path, settings):
    """The platform itself lies: it serves a record with another price, logs that document's hash and signs the
    new checkpoint with its own key. Log and record then agree; only re-decrypting the price shows it."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from tests.cleanroom import primitives as p

    await _site(app, client, clock, tmp_path)
    log_key = load_pem_private_key(open(settings.signing_key_path, "rb").read(), None)  # the site's own key
    record_id = (await client.get("/api/notices", params={"kind": "opening_record"})).json()["items"][0]["id"]
    detail = (await client.get(f"/api/notices/{record_id}")).json()
    url = detail["versions"][-1]["document_url"]
    honest = (await client.get(url)).content
    document = json.loads(honest)
    _change_price(document["fields"])
    false = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    old_hash, new_hash = p.sha256_hex(honest), p.sha256_hex(false)
    info = (await client.get("/log/info")).json()
    size = int((await client.get("/log/checkpoint")).text.split("\n")[1])
    entries = (await client.get("/log/entries", params={"start": 0, "end": size})).json()["entries"]
    rewritten = []
    for item in entries:
        data = base64.b64decode(item["data"])
        doc = json.loads(data)
        if doc.get("content_sha256") == old_hash:
            data = p.canonical_json({**doc, "content_sha256": new_hash})
        rewritten.append({"index": item["index"], "data": base64.b64encode(data).decode()})
    leaves = [p.leaf_hash(base64.b64decode(e["data"])) for e in rewritten]
    root = p.tree_root(leaves)
    checkpoint = p.sign_note(f"{info['origin']}\n{size}\n{p.b64(root)}\n", info["origin"], log_key)

    def rewrite(path, body):
        if path == url:
            return false
        if path == f"/api/notices/{record_id}":
            data = json.loads(body)
            _change_price(data["fields"])
            return json.dumps(data, ensure_ascii=False).encode()
        if path == "/log/checkpoint":
            return checkpoint.encode()
        if path == "/log/entries":
            data = json.loads(body)
            data["entries"] = [rewritten[e["index"]] for e in data["entries"]]
            return json.dumps(data).encode()
        if path.startswith("/log/proof/"):  # and proofs of the rewritten tree
            data = json.loads(body)
            if path.endswith("consistency"):
                data["proof"] = [p.b64(x) for x in p.consistency_proof(leaves, data["first"])]
            else:
                data["proof"] = [p.b64(x) for x in p.inclusion_proof(leaves, data["index"])]
            return json.dumps(data).encode()
        return body

    async with _tampered_client(app, rewrite) as tampered:
        report = await verify(tampered)
    assert report.codes() == ["price_mismatch"], report.summary()


async def test_a_key_directory_naming_another_owner_is_named(app, client, clock, tmp_path):
    await _site(app, client, clock, tmp_path)

    def rewrite(path, body):
        if path == "/api/key-directory/bidders":
            data = json.loads(body)
            for k in data:
                k["owner"]["organisation"] += "（冒名）"
            return json.dumps(data, ensure_ascii=False).encode()
        return body

    async with _tampered_client(app, rewrite) as tampered:
        report = await verify(tampered)
    assert report.codes() == ["key_owner_mismatch"] * 3, report.summary()


async def test_a_log_entry_served_altered_is_named(app, client, clock, tmp_path):
    await _site(app, client, clock, tmp_path)

    def rewrite(path, body):
        if path == "/log/entries":
            data = json.loads(body)
            first = json.loads(base64.b64decode(data["entries"][0]["data"]))
            data["entries"][0]["data"] = base64.b64encode(json.dumps(first).encode()).decode()  # with spaces
            return json.dumps(data).encode()
        return body

    async with _tampered_client(app, rewrite) as tampered:
        report = await verify(tampered)
    # the altered entry is named, and every signed prefix that includes it (the deadline cut's tree) with it
    assert set(report.codes()) == {
        "entries_root_mismatch",
        "entry_not_canonical",
        "deadline_cut_mismatch",
        "deadline_checkpoint_mismatch",
        "inconsistent",  # the honest proof from S no longer joins the prefix the altered entries give
    }, report.summary()


async def test_replaced_and_withdrawn_bids_are_accounted_for(app, client, clock, tmp_path):
    """Every event counts: a bid replaced by its bidder, and one withdrawn, are in the record with their events
    (log.md §5) and the verifier matches each to the log."""
    from tests.bidding.harness import withdraw

    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = []
    for i in range(4):
        bidder = await make_bidder(app, client, clock.at, i + 1)
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=PRICES[i]))
        assert r.status_code == 201, r.text
        bidders.append(bidder)
    again = seal(section, bidders[0], tmp_path / "again", price=PRICES[0] - 1)
    assert (await submit(client, bidders[0], section, again)).status_code == 201
    mine = (await client.get(f"/api/sections/{section.id}/bids/mine", headers=bidders[3].headers)).json()
    r = await withdraw(client, bidders[3], section.id, mine["manifest_sha256"])
    assert r.status_code == 200, r.text
    clock.set(section.deadline + timedelta(minutes=1))
    r = await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    await open_all(client, section)
    await integrate_all(app)
    report = await verify(client)
    assert report.ok, report.summary()
    assert report.bids == 5 and report.events == 6 and report.manifests == 5 and report.opened_bids == 3
