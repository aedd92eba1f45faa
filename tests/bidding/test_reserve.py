"""Reserve and control prices (标底 / 最高投标限价): sealed by staff before the deadline, opened with the bids,
published with their key in the opening record, and checked by `trading verify` like any bid."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bidding.envelope import parse_manifest, recheck_price
from tests.bidding.harness import (
    b64,
    centre_key,
    make_bidder,
    open_all,
    open_section,
    opening_record,
    refused,
    reserve_body,
    seal,
    seal_reserve,
    snapshot,
    start_opening,
    submit,
)
from tests.factories import build_world

pytestmark = pytest.mark.asyncio

CEILING = 4_800_000_000  # 4,800 万元
NAMES = ["湖南建工集团有限公司", "中建五局第三建设有限公司", "湖南省第六工程有限公司"]


async def _market(app, client, clock, tmp_path):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [await make_bidder(app, client, clock.at, i + 1, NAMES[i]) for i in range(3)]
    for i, bidder in enumerate(bidders):
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=4_500_000_000 + i))
        assert r.status_code == 201, r.text
    return world, section, bidders


async def test_a_ceiling_price_sealed_by_staff_opens_with_the_bids_and_anyone_can_recheck_it(
    app, client, clock, tmp_path
):
    world, section, _ = await _market(app, client, clock, tmp_path)
    assert section.info["tenderer_credit_code"]  # the price is sealed in the tenderer's name
    key = await centre_key(client, world)
    first = await client.post(
        f"/api/sections/{section.id}/reserve-price",
        headers=world.headers("staff"),
        json=reserve_body(seal_reserve(section, key, tmp_path, fen=CEILING + 1)),
    )
    assert first.status_code == 201, first.text
    # Sealed again (a correction before the deadline): the new one replaces the first; a replay changes nothing.
    body = reserve_body(seal_reserve(section, key, tmp_path))
    second = await client.post(f"/api/sections/{section.id}/reserve-price", headers=world.headers("staff"), json=body)
    again = await client.post(f"/api/sections/{section.id}/reserve-price", headers=world.headers("staff"), json=body)
    assert second.status_code == again.status_code == 201 and second.json()["id"] == again.json()["id"]
    listed = await client.get(f"/api/sections/{section.id}/reserve-price", headers=world.headers("supervisor"))
    assert [(r["state"], r["kind_zh"]) for r in listed.json()] == [
        ("replaced", "最高投标限价"),
        ("active", "最高投标限价"),
    ]
    assert "form" not in listed.text and str(CEILING) not in listed.text  # never the figure before the opening

    clock.set(section.deadline + timedelta(minutes=1))
    assert (await start_opening(client, world, section)).json()["state"] == "waiting"
    await open_all(client, section)  # all n: the opening is due at once (else when the window ends)
    record = await opening_record(client, section)
    fields = record["fields"]
    active = [r for r in fields["reserve_prices"] if r["state"] == "active"]
    assert len(fields["reserve_prices"]) == 2 and len(active) == 1
    ceiling = active[0]
    assert ceiling["outcome"] == "opened" and ceiling["form"]["total_price_fen"] == CEILING
    assert "最高投标限价：48,000,000.00 元" in record["body"]
    assert len(fields["bids"]) == 3  # the reserve price is not a bid
    # Anyone can re-decrypt it from the served ciphertext with the published key, as for a bid.
    base = f"/api/sections/{section.id}/opening/bids/{ceiling['manifest_sha256']}"
    manifest = (await client.get(base + "/manifest")).content
    ciphertext = (await client.get(base + "/price")).content
    form = recheck_price(parse_manifest(manifest), base64.b64decode(ceiling["price_key"]), [ciphertext])
    assert form["total_price_fen"] == CEILING
    status = (await client.get(f"/api/sections/{section.id}/opening")).json()
    assert status["reserve"]["outcome"] == "opened" and status["reserve"]["kind_zh"] == "最高投标限价"


async def test_who_may_seal_or_see_a_reserve_price(app, client, clock, tmp_path):
    world, section, (bidder, *_) = await _market(app, client, clock, tmp_path)
    key = await centre_key(client, world)
    body = reserve_body(seal_reserve(section, key, tmp_path))
    url = f"/api/sections/{section.id}/reserve-price"
    before = await snapshot(app)
    refused(await client.post(url, json=body), 401, "not_authenticated")
    refused(await client.post(url, headers=bidder.headers, json=body), 403, "wrong_role")
    refused(await client.post(url, headers=world.headers("supervisor"), json=body), 403, "wrong_role")
    refused(await client.post(url, headers=world.headers("other_staff"), json=body), 403, "other_centre")
    refused(await client.get(url, headers=bidder.headers), 403, "wrong_role")
    refused(await client.get(url), 401, "not_authenticated")
    refused(await client.get(url, headers=world.headers("other_staff")), 403, "other_centre")
    refused(
        await client.post("/api/centre-keys", headers=bidder.headers, json={"public_key": b64(bytes(32))}),
        403,
        "wrong_role",
    )
    assert await snapshot(app) == before


async def test_a_reserve_price_that_is_late_forged_or_sealed_as_a_bid_is_refused_and_nothing_is_stored(
    app, client, clock, tmp_path
):
    world, section, _ = await _market(app, client, clock, tmp_path)
    key = await centre_key(client, world)
    stranger = Ed25519PrivateKey.generate()  # not registered to the centre
    other_centre_key = await centre_key(client, world, "other_staff")
    url = f"/api/sections/{section.id}/reserve-price"
    headers = world.headers("staff")
    before = await snapshot(app)
    refused(
        await client.post(url, headers=headers, json=reserve_body(seal_reserve(section, stranger, tmp_path))),
        403,
        "unregistered_key",
    )
    other = reserve_body(seal_reserve(section, other_centre_key, tmp_path, fen=CEILING - 1))
    refused(await client.post(url, headers=headers, json=other), 403, "unregistered_key")
    as_bid = reserve_body(seal_reserve(section, key, tmp_path, role="bidder"))
    refused(await client.post(url, headers=headers, json=as_bid), 422, "envelope.wrong_bidder")
    altered = reserve_body(seal_reserve(section, key, tmp_path, fen=CEILING - 2))
    price = bytearray(base64.b64decode(altered["ciphertexts"]["price"]))
    price[-1] ^= 1
    altered["ciphertexts"]["price"] = b64(bytes(price))
    refused(await client.post(url, headers=headers, json=altered), 422, "ciphertext_mismatch")
    refused(
        await client.post(
            url, headers=headers, json={**reserve_body(seal_reserve(section, key, tmp_path, fen=7)), "kind": "guess"}
        ),
        400,
        "bad_kind",
    )
    assert await snapshot(app) == before
    clock.set(section.deadline)
    late = reserve_body(seal_reserve(section, key, tmp_path, fen=CEILING - 3))
    error = refused(await client.post(url, headers=headers, json=late), 422, "deadline_passed")
    assert error["rule"] == "20号令 §27"
    assert await snapshot(app) == before


async def test_a_centre_revokes_its_key_once_and_a_price_sealed_with_it_is_then_refused(app, client, clock, tmp_path):
    world, section, _ = await _market(app, client, clock, tmp_path)
    key = await centre_key(client, world)
    [row] = (await client.get("/api/centre-keys", headers=world.headers("staff"))).json()
    url = f"/api/centre-keys/{row['id']}/revoke"
    refused(await client.post(url, headers=world.headers("other_staff")), 404, "key_not_found")  # not its centre's
    r = await client.post(url, headers=world.headers("staff"))
    assert r.status_code == 200 and r.json()["revoked_at"], r.text
    refused(await client.post(url, headers=world.headers("admin")), 409, "key_revoked")
    body = reserve_body(seal_reserve(section, key, tmp_path))
    refused(
        await client.post(f"/api/sections/{section.id}/reserve-price", headers=world.headers("staff"), json=body),
        403,
        "unregistered_key",
    )
