"""The public key directory: a bidder's key and owner become public once a section it bid in has opened,
checkable against the owner commitment logged at registration; revocations are logged; a key swapped in
the database after the fact is caught by `trading verify`."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bidding.directory import owner_commitment
from bidding.models import BidderKey
from tests.bidding.harness import make_bidder, open_all, open_section, seal, submit
from tests.factories import build_world
from trading.accounts.models import Organisation
from trading.log.integrator import integrate_once
from trading.log.models import LogEntry
from trading.verify import verify_site

pytestmark = pytest.mark.asyncio


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def _opened(app, client, clock, tmp_path, count=3):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [await make_bidder(app, client, clock.at, i + 1) for i in range(count + 1)]  # the last one never bids
    for i, bidder in enumerate(bidders[:count]):
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=4_500_000_000 + i))
        assert r.status_code == 201, r.text
    return world, section, bidders


async def _open(app, client, clock, world, section):
    clock.set(section.deadline + timedelta(minutes=1))
    assert (await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))).status_code == 200
    await open_all(client, section)
    await integrate_once(app.state)


def _public(bidder) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bidder.signing.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


async def test_a_key_is_public_only_once_a_section_it_signed_a_bid_in_has_opened(app, client, clock, tmp_path):
    world, section, bidders = await _opened(app, client, clock, tmp_path)
    key = _b64(_public(bidders[0]))
    before = await client.get("/api/key-directory/bidders")
    assert before.status_code == 200 and before.json() == []
    assert (await client.get("/api/key-directory/bidders", params={"public_key": key})).json() == []
    # the registration is logged, but only as the key's hash and a salted commitment to its owner
    async with app.state.sessionmaker() as s:
        logged = [json.loads(d) for d in await s.scalars(select(LogEntry.data).where(LogEntry.kind == "signing_key"))]
    assert len(logged) == 4 and all(set(d) == {"kind", "event", "key_sha256", "owner_commitment", "at"} for d in logged)
    assert not any(bidders[0].credit_code in json.dumps(d) for d in logged)

    await _open(app, client, clock, world, section)
    listed = (await client.get("/api/key-directory/bidders")).json()
    assert sorted(e["credit_code"] for e in listed) == sorted(b.credit_code for b in bidders[:3])
    entry = (await client.get("/api/key-directory/bidders", params={"public_key": key})).json()[0]
    assert entry["organisation"] == bidders[0].name and entry["opened_sections"] == [section.id]
    commitment = owner_commitment(entry["owner"], base64.b64decode(entry["owner_salt"]))
    assert any(d["owner_commitment"] == commitment and d["event"] == "registered" for d in logged)
    # the bidder who never bid stays out of the directory
    assert (
        await client.get("/api/key-directory/bidders", params={"public_key": _b64(_public(bidders[3]))})
    ).json() == []
    bad = await client.get("/api/key-directory/bidders", params={"public_key": "not-base64"})
    assert bad.status_code == 400


async def test_revoking_a_key_is_logged_and_refused_twice(app, client, clock, tmp_path):
    world = await build_world(app, clock.at)
    bidder = await make_bidder(app, client, clock.at, 1)
    other = await make_bidder(app, client, clock.at, 2)
    keys = (await client.get("/api/bidding/keys", headers=bidder.headers)).json()
    key_id = keys[0]["id"]
    assert (await client.post(f"/api/bidding/keys/{key_id}/revoke", headers=other.headers)).status_code == 404
    r = await client.post(f"/api/bidding/keys/{key_id}/revoke", headers=bidder.headers)
    assert r.status_code == 200 and r.json()["revoked_at"]
    again = await client.post(f"/api/bidding/keys/{key_id}/revoke", headers=bidder.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "key_revoked"
    async with app.state.sessionmaker() as s:
        events = [
            json.loads(d)["event"] for d in await s.scalars(select(LogEntry.data).where(LogEntry.kind == "signing_key"))
        ]
    assert events.count("revoked") == 1
    assert world  # staff exist; revocation needs none of them


async def test_a_key_swapped_to_another_owner_in_the_database_is_caught(app, client, clock, tmp_path):
    world, section, bidders = await _opened(app, client, clock, tmp_path)
    await _open(app, client, clock, world, section)
    async with app.state.sessionmaker() as s:  # with database rights: the key "belongs" to someone else now
        stranger = await s.scalar(select(Organisation.id).where(Organisation.credit_code == bidders[3].credit_code))
        await s.execute(
            update(BidderKey).where(BidderKey.public_key == _public(bidders[0])).values(organisation_id=stranger)
        )
        await s.commit()
    report, _ = await verify_site(client, url="http://site", state_path=tmp_path / "v.json", now=clock.at)
    assert [p["code"] for p in report.problems] == ["key_owner_mismatch"], report.summary()


async def test_an_untouched_opening_checks_every_signer_against_the_directory_and_the_log(app, client, clock, tmp_path):
    world, section, _ = await _opened(app, client, clock, tmp_path)
    await _open(app, client, clock, world, section)
    report, _ = await verify_site(client, url="http://site", state_path=tmp_path / "v.json", now=clock.at)
    assert report.ok and report.bids == 3, report.summary()
    async with app.state.sessionmaker() as s:  # a key registered before keys were logged: no salt, no entry
        await s.execute(update(BidderKey).values(owner_salt=None))
        await s.commit()
    report, _ = await verify_site(client, url="http://site", state_path=tmp_path / "v2.json", now=clock.at)
    assert {p["code"] for p in report.problems} == {"key_not_logged"}, report.summary()


async def test_a_trade_that_fails_for_want_of_bidders_never_names_them(app, client, clock, tmp_path):
    """Fewer than three bids: the opening fails (流标) and the bids go back unopened. The section's state is past
    the opening, but nobody — the public's key directory, the supervisors' audit trail — learns who bid."""
    world, section, bidders = await _opened(app, client, clock, tmp_path, count=2)
    clock.set(section.deadline + timedelta(minutes=1))
    r = await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    assert (await client.get(f"/api/sections/{section.id}/opening")).json()["state"] == "failed"
    assert (await client.get("/api/key-directory/bidders")).json() == []
    key = _b64(_public(bidders[0]))
    assert (await client.get("/api/key-directory/bidders", params={"public_key": key})).json() == []
    trail = await client.get("/api/audit", params={"limit": 500}, headers=world.headers("supervisor"))
    assert trail.status_code == 200, trail.text
    actions = [e["action"] for e in trail.json()["items"]]
    assert "opening.start" in actions or any(a.startswith("opening") for a in actions), actions
    assert not {"bid.upload_begin", "bid.submit", "bid.withdraw"} & set(actions), actions
