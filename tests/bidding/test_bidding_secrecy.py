"""Nobody learns who bid where, or how many, before the opening (20号令 §27; the README's promise).

Every GET route is read, as every role but the bidders themselves, while a section takes bids: once before
any bid, and again after two bidders have each submitted one (and one has begun another). The answers must
be the same — a difference would tell someone that bids came in, how many, or from whom. Only the
transparency log grows (its entries are salted commitments naming neither the section nor the bidder, so
that growth says only that something was logged somewhere). After the opening, the supervisors of the
section's centre read the bidding stage in the audit trail in full.
"""

from __future__ import annotations

import re

import pytest

from tests.bidding.harness import begun, make_bidder, open_all, open_section, seal, submit
from tests.factories import build_world, integrate_all
from tests.routes import http_routes

pytestmark = pytest.mark.asyncio

#: Routes left out, and why.
SKIPPED = (
    "/log",  # the log and its page: it grows with every act; its entries name no section or bidder
    "/api/sections/{section_id:int}/opening/events",  # a stream; its events are what /opening says
    "/login",  # a fresh sign-in form token each time
    # the operators' scrape (metrics_allow / metrics_token, loopback by default, never the public): it counts
    # every request, so it changes with any traffic; its labels name routes and codes, never a section or bidder
    "/metrics",
    "/readyz",  # about the process, not the trades (and 503 here: the tests' blob directory is made lazily)
    "/schema",  # the API's description
    "/static/",
    "/api-explorer/",
)


def _get_routes(app) -> list[str]:
    return sorted(
        {
            path
            for path, handler in http_routes(app)
            if "GET" in handler.http_methods and not path.startswith(SKIPPED) and "{upload_id" not in path
        }
    )


def _concrete(path: str, ids: dict[str, object]) -> str:
    fixed = {"feed_name": "tender.atom", "key": "works_open_tender", "code": "430700", "chart": "kinds.svg",
             "ocid": "ocds-hnggzy-x", "size": "1", "version": "1", "attachment_id": "1", "day": "2026-05-01"}  # fmt: skip
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(ids.get(m.group(1), fixed.get(m.group(1), "1"))), path)


async def _read_everything(client, paths: list[str], ids: dict[str, object], who: dict[str, dict[str, str]]):
    seen = {}
    for path in paths:
        url = _concrete(path, ids)
        for name, headers in who.items():
            r = await client.get(url, headers=headers)
            assert r.status_code < 500, (url, name, r.status_code)
            # A page linking to an inclusion proof names the log's current size: the log's growth, as above.
            seen[(url, name)] = (r.status_code, re.sub(r"tree_size=\d+", "tree_size=N", r.text))
    return seen


async def test_before_the_deadline_no_answer_to_anyone_but_the_bidder_changes_when_bids_come_in(
    app, client, clock, tmp_path
):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [
        await make_bidder(app, client, clock.at, n, name)
        for n, name in ((1, "湖南甲路桥有限公司"), (2, "湖南乙建设有限公司"))
    ]
    ids = {
        "section_id": section.id,
        "project_id": section.notice["project_id"],
        "notice_id": section.notice["id"],
        "org_id": bidders[0].organisation_id,
    }
    who = {name: world.headers(name) for name in
           ("staff", "other_staff", "supervisor", "other_supervisor", "admin", "expert_keeper", "evaluator", "bidder")}  # fmt: skip
    who |= {"public": {}, "opener": section.openers[0].headers}
    paths = _get_routes(app)
    await integrate_all(app)  # the notices' own log entries first: a receipt's log round would fold them in
    before = await _read_everything(client, paths, ids, who)

    for bidder, price in zip(bidders, (4_500_000_000, 4_480_000_000), strict=True):
        assert (await submit(client, bidder, section, seal(section, bidder, tmp_path, price=price))).status_code == 201
    await begun(client, bidders[0], section, seal(section, bidders[0], tmp_path, price=4_470_000_000))
    after = await _read_everything(client, paths, ids, who)

    changed = sorted(f"{url} as {name}" for (url, name) in before if before[(url, name)] != after[(url, name)])
    assert changed == [], f"these answers changed when bids came in: {changed}"
    assert len(before) > 300


async def test_the_bidding_stage_is_out_of_the_audit_trail_until_the_opening_record(app, client, clock, tmp_path):
    from datetime import timedelta

    from tests.bidding.harness import start_opening

    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [await make_bidder(app, client, clock.at, n) for n in (1, 2, 3)]
    for n, bidder in enumerate(bidders):
        assert (
            await submit(client, bidder, section, seal(section, bidder, tmp_path, price=4_500_000_000 + n))
        ).status_code == 201

    async def stage_acts(who: str) -> list[str]:
        r = await client.get(
            "/api/audit",
            params={"subject_type": "section", "subject_id": str(section.id), "limit": 500},
            headers=world.headers(who),
        )
        assert r.status_code == 200, r.text
        return [e["action"] for e in r.json()["items"] if e["action"].startswith("bid.")]

    assert await stage_acts("supervisor") == [] and await stage_acts("admin") == []
    clock.set(section.deadline + timedelta(minutes=1))
    assert (await start_opening(client, world, section)).status_code == 200
    assert await stage_acts("supervisor") == []  # the opening is under way: still sealed
    await open_all(client, section)  # all n: the opening is due at once (else when the window ends)
    acts = await stage_acts("supervisor")
    assert acts.count("bid.submit") == 3 and acts.count("bid.upload_begin") == 3
    assert await stage_acts("other_supervisor") == []  # another centre's supervisors: never
