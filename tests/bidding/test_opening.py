"""The opening ceremony: k of n openers within the share window, the opening record with prices, the public
re-check, 流标, and a colluding opener who cannot steer the outcome."""

from __future__ import annotations

import base64
from datetime import timedelta

import msgspec
import pytest

from bidding import scheduler
from bidding.envelope import parse_manifest, recheck_price
from bidding.opening import SHARE_WINDOW
from tests.bidding.harness import (
    make_bidder,
    open_all,
    open_as,
    open_section,
    opening_settled,
    seal,
    submit,
    submit_file,
)
from tests.factories import build_world, create_project, draft_tender

pytestmark = pytest.mark.asyncio

PRICES = [4_512_345_600, 4_498_000_000, 4_630_120_000]


async def opening_state(client, section):
    return (await client.get(f"/api/sections/{section.id}/opening")).json()["state"]


async def _three_bids(app, client, clock, tmp_path, prices=PRICES):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = []
    for i, price in enumerate(prices):
        bidder = await make_bidder(app, client, clock.at, i + 1)
        # In pieces, and whole: on PostgreSQL a later bid sent whole keeps its ciphertexts in the database
        # (trading.blobs.inline), where the opening and the public re-check read them.
        sent = submit_file if i % 2 else submit
        r = await sent(client, bidder, section, seal(section, bidder, tmp_path, price=price))
        assert r.status_code == 201, r.text
        bidders.append(bidder)
    return world, section, bidders


async def test_the_share_window_is_the_centres_setting_fixed_when_the_opening_starts(app, client, clock, tmp_path):
    world, section, _bidders = await _three_bids(app, client, clock, tmp_path)
    app.state.settings = msgspec.structs.replace(app.state.settings, share_window=600.0)
    clock.set(section.deadline + timedelta(minutes=1))
    r = await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    assert r.json()["shares_close_at"] == (clock.at + timedelta(minutes=10)).isoformat()
    app.state.settings = msgspec.structs.replace(app.state.settings, share_window=3600.0)  # changed meanwhile
    r = await client.get(f"/api/sections/{section.id}/opening")
    assert r.json()["shares_close_at"] == (clock.at + timedelta(minutes=10)).isoformat()


async def test_a_share_window_out_of_range_is_refused() -> None:
    from trading.settings import Settings

    for seconds in (0, 59, 86401):
        with pytest.raises(ValueError, match="share_window"):
            Settings(share_window=seconds)


async def test_two_of_three_openers_open_the_section_and_anyone_can_recheck(app, client, clock, tmp_path):
    world, section, _bidders = await _three_bids(app, client, clock, tmp_path)
    # openers cannot start before the deadline
    r = await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "deadline_not_passed"
    clock.set(section.deadline + timedelta(minutes=1))
    r = await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "waiting"
    r = await open_as(client, section.openers[0], section)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "waiting"
    again = await open_as(client, section.openers[0], section)  # sent again as it was: the same answer, taken once
    assert again.status_code == 200 and again.json() == r.json(), again.text
    r = await open_as(client, section.openers[2], section)
    assert r.status_code == 200, r.text
    # k are in, but the share window runs on: every share uploaded in it counts (docs/envelope.md §10.2).
    assert r.json()["state"] == "waiting"
    assert r.json()["shares_close_at"] == (clock.at + SHARE_WINDOW).isoformat()
    clock.set(clock.at + SHARE_WINDOW - timedelta(seconds=1))
    assert await scheduler.tick(app.state) == [] and (await opening_state(client, section)) == "waiting"
    clock.set(clock.at + timedelta(seconds=1))
    await scheduler.tick(app.state)  # the window has ended with k in: the opening goes ahead without opener 2
    assert await opening_state(client, section) in ("opening", "opened")  # due: a background job opens the bids
    status = await opening_settled(client, section)
    assert status["state"] == "opened" and status["record_notice_id"]
    record = (await client.get(f"/api/notices/{status['record_notice_id']}")).json()
    assert record["kind"] == "opening_record"
    bids = record["fields"]["bids"]
    assert sorted(b["form"]["total_price_fen"] for b in bids) == sorted(PRICES)
    assert "45,123,456.00 元" in record["body"]
    # the public re-check: the published key opens the logged ciphertext to the same figures
    for b in bids:
        from sqlalchemy import select

        from bidding.models import Bid

        async with app.state.sessionmaker() as s:
            bid = await s.scalar(select(Bid).where(Bid.manifest_sha256 == b["manifest_sha256"]))
        ciphertext = await app.state.blobs.read_bytes(b["ciphertexts"]["price"]["sha256"], 1 << 20)
        form = recheck_price(parse_manifest(bid.manifest), base64.b64decode(b["price_key"]), [ciphertext])
        assert form == b["form"]
    project = (await client.get(f"/api/projects/{record['project_id']}")).json()
    assert project["sections"][0]["state"] == "evaluating"


async def test_fewer_than_three_bids_is_a_failed_tender(app, client, clock, tmp_path):
    world, section, _ = await _three_bids(app, client, clock, tmp_path, prices=PRICES[:2])
    clock.set(section.deadline + timedelta(minutes=1))
    r = await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "failed"
    failed = (await client.get("/api/notices", params={"kind": "termination"})).json()["items"]
    assert len(failed) == 1 and "流标" in failed[0]["title"]
    project = (await client.get(f"/api/projects/{section.notice['project_id']}")).json()
    assert project["sections"][0]["state"] == "failed"
    r = await client.get(f"/api/sections/{section.id}/opening/shares", headers=section.openers[0].headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "opening_not_waiting"


async def test_staff_cannot_type_in_an_opening_record_for_bids_the_platform_holds(app, client, clock, tmp_path):
    """Past the deadline, with sealed bids on the platform: an opening record typed by hand would stand in for bids
    never decrypted. It is refused and nothing is published; the platform's own opening still runs."""
    world, section, _ = await _three_bids(app, client, clock, tmp_path)
    clock.set(section.deadline + timedelta(minutes=1))
    staff = world.headers("staff")
    draft = {
        "project_id": section.notice["project_id"],
        "kind": "opening_record",
        "title": "开标记录（手工）",
        "body": "投标人及报价见下。",
        "section_ids": [section.id],
        "fields": {
            "opened_at": clock.at.isoformat(),
            "bids": [{"bidder": "湖南某建设有限公司", "price_fen": 100}],
        },
    }
    r = await client.post("/api/staff/notices", headers=staff, json=draft)
    assert r.status_code == 201, r.text
    refused = await client.post(f"/api/staff/notices/{r.json()['id']}/publish", headers=staff)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "produced_by_platform", refused.text
    assert (await client.get("/api/notices", params={"kind": "opening_record"})).json()["items"] == []
    assert (await client.post(f"/api/sections/{section.id}/opening", headers=staff)).status_code == 200
    await open_all(client, section)
    assert (await opening_settled(client, section))["state"] == "opened"
    assert len((await client.get("/api/notices", params={"kind": "opening_record"})).json()["items"]) == 1


async def test_the_opening_hall_follows_the_ceremony(app, client, clock, tmp_path):
    world, section, _ = await _three_bids(app, client, clock, tmp_path)
    page = await client.get(f"/sections/{section.id}/opening")
    assert page.status_code == 200
    assert "尚未开标" in page.text and "开标小组" in page.text
    assert "投标人数量和递交时间也不公开" in page.text
    clock.set(section.deadline + timedelta(minutes=1))
    await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))
    await open_as(client, section.openers[1], section)
    page = await client.get(f"/sections/{section.id}/opening")
    assert "等待开标人上传密钥分片" in page.text and "已上传" in page.text
    await open_as(client, section.openers[2], section)
    clock.set(clock.at + SHARE_WINDOW)
    await scheduler.tick(app.state)
    await opening_settled(client, section)
    page = await client.get(f"/sections/{section.id}/opening")
    assert "已开标" in page.text and "45,123,456.00" in page.text
    # Once the ceremony is over the event stream says so and ends (while it runs, it stays open).
    events = await client.get(f"/api/sections/{section.id}/opening/events", timeout=10)
    assert events.headers["content-type"].startswith("text/event-stream")
    assert "event: opening" in events.text and '"state": "opened"' in events.text


async def test_the_tenders_required_price_fields_are_published_and_enforced_at_the_opening(
    app, client, clock, tmp_path
):
    """The tender names its opening-form fields in the notice (machine-readable); a bid sealed without one
    opens as the bidder's fault, one with it opens."""
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at, price_fields=["project_manager"])
    committee = section.notice["fields"]["committee"]
    assert committee["price_form"] == {"required": ["duration_days", "project_manager", "quality", "total_price_fen"]}
    assert section.info["price_fields"] == ["project_manager"]
    complete = []
    for i in range(3):
        bidder = await make_bidder(app, client, clock.at, i + 1)
        extra = {"project_manager": f"张建{i}"} if i else None
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=PRICES[i], extra=extra))
        assert r.status_code == 201, r.text
        complete.append(bool(extra))
    clock.set(section.deadline + timedelta(minutes=1))
    assert (await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))).status_code == 200
    await open_all(client, section)
    status = (await client.get(f"/api/sections/{section.id}/opening")).json()
    bids = (await client.get(f"/api/notices/{status['record_notice_id']}")).json()["fields"]["bids"]
    by_price = {b["ciphertexts"]["price"]["sha256"]: b for b in bids}
    outcomes = sorted((b["outcome"], b.get("reason"), b.get("fault")) for b in by_price.values())
    assert outcomes == [
        ("failed", "envelope.price_form_invalid", "bidder"),
        ("opened", "", ""),
        ("opened", "", ""),
    ], outcomes
    assert sorted(b["form"]["project_manager"] for b in bids if b["outcome"] == "opened") == ["张建1", "张建2"]
    # trading verify repeats the failed opening, with the fields the tender notice requires, and agrees
    from trading.log.integrator import integrate_once
    from trading.verify import verify_site

    await integrate_once(app.state)
    report, _ = await verify_site(client, url="http://site", state_path=tmp_path / "v.json", now=clock.at)
    assert report.ok, report.summary()


async def test_a_committee_refuses_a_malformed_price_field_name(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    r = await client.post(
        f"/api/staff/notices/{draft['id']}/committee",
        headers=world.headers("staff"),
        json={"k": 2, "opener_ids": [1, 2], "price_fields": ["Project Manager"]},
    )
    assert r.status_code == 400, r.text
