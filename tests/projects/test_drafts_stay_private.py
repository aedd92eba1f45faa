"""Nothing unpublished reaches a public page or aggregate: drafting a project (with its budget and funding)
changes no answer the public gets, on any route — not the fund totals, not a region's page, not a count."""

from __future__ import annotations

import pytest

from tests.bidding.test_bidding_secrecy import _get_routes, _read_everything
from tests.factories import build_world, create_project, integrate_all, published_tender

pytestmark = pytest.mark.asyncio


async def test_a_draft_project_changes_nothing_the_public_sees(app, client, clock):
    world = await build_world(app, clock.at)
    published = await published_tender(client, world, clock.at)
    await integrate_all(app)
    paths = _get_routes(app)
    ids = {"project_id": published["project_id"], "notice_id": published["id"], "section_id": 1}
    who = {"public": {}, "bidder": world.headers("bidder"), "other_staff": world.headers("other_staff")}
    before = await _read_everything(client, paths, ids, who)
    draft = await create_project(client, world, name="澧县2027年城区排水管网改造工程（草稿）", budget_fen=9_990_000_000)
    after = await _read_everything(client, paths, ids, who)
    changed = sorted(f"{url} as {name}" for (url, name) in before if before[(url, name)] != after[(url, name)])
    assert changed == [], f"a draft project showed in: {changed}"
    for url in (f"/api/projects/{draft['id']}", f"/api/projects/{draft['id']}/funds", f"/projects/{draft['id']}"):
        assert (await client.get(url)).status_code == 404, url
        assert (await client.get(url, headers=world.headers("other_supervisor"))).status_code == 404, url
    assert (await client.get(f"/api/projects/{draft['id']}", headers=world.headers("supervisor"))).status_code == 200
