"""Every endpoint has an authorisation rule, and every guarded endpoint refuses the public and the wrong role.

The routes are read from the application itself, so a new endpoint without a rule fails here.
"""

from __future__ import annotations

import re

import pytest
from litestar.handlers import HTTPRouteHandler

from tests.factories import build_world
from trading.accounts.auth import public, require_signed_in
from trading.context import ROLES

pytestmark = pytest.mark.asyncio


def _handlers(app):
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler):
                for method in handler.http_methods:
                    if method in ("HEAD", "OPTIONS"):
                        continue
                    yield method, route.path, handler


def _concrete(path: str) -> str:
    path = re.sub(r"\{[^}]*:date\}", "2026-05-01", path)
    path = re.sub(r"\{feed_name:str\}", "tender.atom", path)
    path = re.sub(r"\{[^}]*:str\}", "x", path)
    path = re.sub(r"\{[^}]*:path\}", "x", path)
    return re.sub(r"\{[^}]*\}", "1", path)


def _rules(handler):
    return [getattr(g, "func", g) for g in handler.resolve_guards()]


async def test_every_endpoint_has_an_authorisation_rule(app):
    missing = []
    for method, path, handler in _handlers(app):
        guards = _rules(handler)
        if not guards:
            missing.append(f"{method} {path}")
    assert missing == [], f"endpoints without an authorisation rule: {missing}"


async def test_guarded_endpoints_refuse_the_public_and_the_wrong_role(app, client, clock):
    world = await build_world(app, clock.at)
    checked = 0
    for method, path, handler in _handlers(app):
        guards = _rules(handler)
        role_guards = [g for g in guards if hasattr(g, "roles")]
        if public in guards and not role_guards:
            continue
        url = _concrete(path)
        # The public: 401 on the API; on portal pages a 401 page or a redirect to the sign-in page.
        r = await client.request(method, url, json={} if method in ("POST", "PUT", "PATCH") else None)
        assert r.status_code in (401, 303), f"{method} {url} let the public in: {r.status_code} {r.text[:200]}"
        if r.status_code == 401 and url.startswith("/api/"):
            assert r.json()["error"]["code"] == "not_authenticated"
        if require_signed_in in guards or not role_guards:
            checked += 1
            continue
        allowed = set().union(*(g.roles for g in role_guards))
        wrong = next(role for role in ROLES if role not in allowed and role in world.tokens)
        headers = world.headers(wrong) if url.startswith("/api/") else {}
        if url.startswith("/api/"):
            r = await client.request(
                method, url, headers=headers, json={} if method in ("POST", "PUT", "PATCH") else None
            )
            assert r.status_code == 403, f"{method} {url} let {wrong} in: {r.status_code} {r.text[:200]}"
            assert r.json()["error"]["code"] == "wrong_role"
            assert "角色" in r.json()["error"]["message_zh"]
        checked += 1
    assert checked >= 10


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
