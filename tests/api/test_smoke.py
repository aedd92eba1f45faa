from __future__ import annotations

import pytest

from tests.factories import build_world, published_tender

pytestmark = pytest.mark.asyncio


async def test_health(client):
    r = await client.get("/healthz")
    assert r.status_code == 200


async def test_publish_and_read(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    assert notice["version"] == 1
    r = await client.get(f"/api/notices/{notice['id']}")
    assert r.status_code == 200, r.text
    r = await client.get("/api/notices", params={"q": "道路"})
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["items"]] == [notice["id"]]
