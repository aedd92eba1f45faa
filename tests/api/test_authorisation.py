"""Sign-in edge cases and cross-centre refusals on real data (the route × role matrix: test_route_matrix.py)."""

from __future__ import annotations

import pytest

from tests.factories import build_world

pytestmark = pytest.mark.asyncio


async def test_an_invalid_token_is_refused_even_on_public_reads(client):
    r = await client.get("/api/notices", headers={"Authorization": "Bearer tp_not-a-real-token"})
    assert r.status_code == 401


async def test_a_revoked_token_stops_working(app, client, clock):
    world = await build_world(app, clock.at)
    headers = world.headers("staff")
    r = await client.get("/api/tokens", headers=headers)
    assert r.status_code == 200
    (token,) = r.json()
    assert "token" not in token and "token_hash" not in token
    r = await client.delete(f"/api/tokens/{token['id']}", headers=headers)
    assert r.status_code == 204
    r = await client.get("/api/me", headers=headers)
    assert r.status_code == 401


async def test_staff_of_another_centre_may_not_touch_this_centres_notices(app, client, clock):
    from tests.factories import create_project, draft_tender

    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    other = world.headers("other_staff")
    r = await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=other)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "other_centre"
    r = await client.patch(f"/api/staff/notices/{draft['id']}", json={"title": "被他人修改的标题"}, headers=other)
    assert r.status_code == 403
    r = await client.get(f"/api/staff/notices/{draft['id']}", headers=world.headers("staff"))
    assert r.json()["status"] == "draft" and r.json()["title"] == draft["title"]
