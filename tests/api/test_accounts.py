"""Accounts: signing in for a token, rate limits, roles and centres."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, build_world
from trading.accounts.models import ApiToken, Person

pytestmark = pytest.mark.asyncio


async def test_sign_in_gives_a_token_shown_once_and_stored_hashed(app, client, clock):
    await build_world(app, clock.at)
    r = await client.post("/api/tokens", json={"username": "staff", "password": PASSWORD, "label": "脚本"})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert token.startswith("tp_") and len(token) > 40
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "staff" and me.json()["roles"] == ["staff"]
    async with app.state.sessionmaker() as s:
        hashes = list(await s.scalars(select(ApiToken.token_hash)))
        assert token not in hashes and all(len(h) == 64 for h in hashes)
        person = await s.scalar(select(Person).where(Person.username == "staff"))
        assert person.password_hash.startswith("argon2id$") and PASSWORD not in person.password_hash


async def test_wrong_password_and_unknown_user_look_the_same(app, client, clock):
    await build_world(app, clock.at)
    a = await client.post("/api/tokens", json={"username": "staff", "password": "wrong-password-1"})
    b = await client.post("/api/tokens", json={"username": "nobody", "password": "wrong-password-1"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()
    assert a.json()["error"]["message_zh"] == "用户名或密码错误"


async def test_sign_in_is_rate_limited_per_account(app, client, clock):
    await build_world(app, clock.at)
    for _ in range(5):
        r = await client.post("/api/tokens", json={"username": "staff", "password": "guess-guess-guess"})
        assert r.status_code == 401
    r = await client.post("/api/tokens", json={"username": "staff", "password": PASSWORD})
    assert r.status_code == 429
    assert "分钟" in r.json()["error"]["message_zh"]
    clock.advance(minutes=16)
    r = await client.post("/api/tokens", json={"username": "staff", "password": PASSWORD})
    assert r.status_code == 201


async def test_concurrent_guesses_are_all_counted(app, client, clock):
    await build_world(app, clock.at)
    results = await asyncio.gather(
        *[client.post("/api/tokens", json={"username": "bidder", "password": f"guess-{i:08d}"}) for i in range(8)]
    )
    assert all(r.status_code in (401, 429) for r in results)
    r = await client.post("/api/tokens", json={"username": "bidder", "password": PASSWORD})
    assert r.status_code == 429


async def test_admin_creates_people_with_roles_and_rules(app, client, clock):
    world = await build_world(app, clock.at)
    admin = world.headers("admin")
    r = await client.post(
        "/api/people",
        json={"username": "cd_staff9", "display_name": "周敏", "password": "long-enough-pw", "roles": ["staff"]},
        headers=admin,
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "staff_needs_centre"
    r = await client.post(
        "/api/people",
        json={
            "username": "cd_staff9",
            "display_name": "周敏",
            "password": "long-enough-pw",
            "roles": ["staff"],
            "centre_id": world.centre_id,
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert "password" not in r.text and "argon2" not in r.text
    r = await client.post(
        "/api/people",
        json={"username": "cd_staff9", "display_name": "周敏", "password": "long-enough-pw", "roles": ["supervisor"]},
        headers=admin,
    )
    assert r.status_code == 409
    r = await client.post(
        "/api/people",
        json={"username": "x", "display_name": "短", "password": "short", "roles": ["root"]},
        headers=admin,
    )
    assert r.status_code == 400


async def test_centres_are_public_and_created_by_admins(app, client, clock):
    world = await build_world(app, clock.at)
    r = await client.get("/api/centres")
    assert [c["code"] for c in r.json()] == ["CD", "HH"]
    r = await client.post(
        "/api/centres",
        json={"code": "YY", "name": "岳阳市公共资源交易中心", "region_code": "430600"},
        headers=world.headers("admin"),
    )
    assert r.status_code == 201
    r = await client.post(
        "/api/centres", json={"code": "YY", "name": "重复", "region_code": "430600"}, headers=world.headers("admin")
    )
    assert r.status_code == 409
