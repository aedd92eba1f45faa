"""Accounts: signing in for a token, rate limits, roles and centres."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
import msgspec
import pytest
from sqlalchemy import func, select, text

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


async def test_concurrent_guesses_are_all_counted_and_no_more_are_tried_than_the_limit(app, client, clock, settings):
    """A burst of guesses at once: each attempt is counted before its password is checked, so however many come
    together, no more than the limit are tried (the rest are 429) and the limit then holds for the owner too."""
    from trading.accounts.models import LoginAttempt

    await build_world(app, clock.at)
    results = await asyncio.gather(
        *[client.post("/api/tokens", json={"username": "bidder", "password": f"guess-{i:08d}"}) for i in range(20)]
    )
    assert all(r.status_code in (401, 429) for r in results)
    # Counted one after another: exactly the limit tried, however the requests interleave.
    assert sum(r.status_code == 401 for r in results) == settings.login_max_failures, [r.status_code for r in results]
    async with app.state.sessionmaker() as s:  # the refused ones are not counted as tried
        tried = await s.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.username == "bidder"))
    assert tried == sum(r.status_code == 401 for r in results)
    r = await client.post("/api/tokens", json={"username": "bidder", "password": PASSWORD})
    assert r.status_code == 429


async def test_a_burst_from_one_address_over_many_accounts_tries_exactly_its_limit(app, client, clock, settings):
    """Guesses at many accounts from one address at once are counted one after another too: the address's limit
    is tried, no more and no fewer."""
    from trading.accounts.models import LoginAttempt

    await build_world(app, clock.at)
    limit = settings.login_max_failures_per_address
    results = await asyncio.gather(
        *[
            client.post("/api/tokens", json={"username": f"someone-{i % 8}", "password": f"guess-{i:08d}"})
            for i in range(limit + 10)
        ]
    )
    assert sorted(r.status_code for r in results) == [401] * limit + [429] * 10
    async with app.state.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(LoginAttempt)) == limit


async def test_a_sign_in_that_cannot_be_counted_in_time_is_refused_as_busy(backend, app, client, clock):
    """While another attempt on the same account holds its lock, a sign-in waits at most two seconds, then is
    refused (429 sign_in_busy, Retry-After) without being recorded — a flood at one account queues no longer
    than that for the pool's connections."""
    from trading.accounts.models import LoginAttempt
    from trading.accounts.services import ACCOUNT_LOCK

    if backend != "postgresql":
        pytest.skip("the sign-in locks are PostgreSQL's (SQLite's write lock serialises the attempts)")
    await build_world(app, clock.at)
    async with app.state.engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:kind, hashtext('bidder'))"), {"kind": ACCOUNT_LOCK})
        r = await client.post("/api/tokens", json={"username": "bidder", "password": PASSWORD})
        assert (r.status_code, r.json()["error"]["code"]) == (429, "sign_in_busy"), r.text
        assert r.headers["retry-after"] == "2" and "稍后再试" in r.json()["error"]["message_zh"]
        await holder.execute(text("SELECT pg_advisory_unlock(:kind, hashtext('bidder'))"), {"kind": ACCOUNT_LOCK})
    async with app.state.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(LoginAttempt)) == 0
    r = await client.post("/api/tokens", json={"username": "bidder", "password": PASSWORD})
    assert r.status_code == 201, r.text


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


def _from(app, address: str) -> httpx.AsyncClient:
    """A client that connects from *address*."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://t")


def _retry_after(r: httpx.Response) -> int:
    assert r.status_code == 429, r.text
    seconds = int(r.headers["retry-after"])
    assert r.json()["error"]["details"]["retry_after_seconds"] == seconds
    return seconds


async def test_a_stranger_guessing_cannot_lock_the_owner_out(app, clock):
    await build_world(app, clock.at)
    async with _from(app, "203.0.113.7") as stranger, _from(app, "198.51.100.20") as owner:
        for _ in range(5):
            r = await stranger.post("/api/tokens", json={"username": "bidder", "password": "guess-guess-guess"})
            assert r.status_code == 401
        r = await stranger.post("/api/tokens", json={"username": "bidder", "password": PASSWORD})
        assert 0 < _retry_after(r) <= 15 * 60  # the stranger's address waits out the window …
        r = await owner.post("/api/tokens", json={"username": "bidder", "password": PASSWORD})
        assert r.status_code == 201, r.text  # … the owner, elsewhere, signs in
        clock.advance(
            seconds=_retry_after(await stranger.post("/api/tokens", json={"username": "bidder", "password": "x"}))
        )
        r = await stranger.post("/api/tokens", json={"username": "bidder", "password": PASSWORD})
        assert r.status_code == 201, r.text  # and after Retry-After, so can that address


async def test_one_address_guessing_many_accounts_is_limited(app, clock):
    await build_world(app, clock.at)
    async with _from(app, "203.0.113.8") as spray, _from(app, "198.51.100.21") as other:
        for i in range(20):
            r = await spray.post("/api/tokens", json={"username": f"user{i:02d}", "password": "Password123"})
            assert r.status_code == 401
        _retry_after(await spray.post("/api/tokens", json={"username": "staff", "password": PASSWORD}))
        r = await other.post("/api/tokens", json={"username": "staff", "password": PASSWORD})
        assert r.status_code == 201


async def test_an_account_under_attack_from_everywhere_still_lets_its_owner_in(app, clock):
    await build_world(app, clock.at)
    async with _from(app, "198.51.100.30") as office:
        assert (await office.post("/api/tokens", json={"username": "staff", "password": PASSWORD})).status_code == 201
    clock.advance(days=3)
    for i in range(app.state.settings.login_max_failures_per_account):
        async with _from(app, f"203.0.113.{i + 1}") as bot:
            r = await bot.post("/api/tokens", json={"username": "staff", "password": f"guess-{i}"})
            assert r.status_code == 401
    async with _from(app, "192.0.2.99") as newcomer:
        r = await newcomer.post("/api/tokens", json={"username": "staff", "password": PASSWORD})
        _retry_after(r)
        assert "曾成功登录过的地址" in r.json()["error"]["message_zh"]
    async with _from(app, "198.51.100.30") as office:  # the address the owner signs in from
        r = await office.post("/api/tokens", json={"username": "staff", "password": PASSWORD})
        assert r.status_code == 201, r.text


async def test_tokens_expire_by_role_and_their_owner_lists_and_revokes_them(app, client, clock, settings):
    import msgspec

    from trading.app import create_app

    platform = create_app(msgspec.structs.replace(settings, token_lifetimes="admin=1,staff=30,bidder=90"), clock=clock)
    await build_world(platform, clock.at)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=platform), base_url="http://t") as c:
        tokens = {}
        for who, body in (("admin", {}), ("staff", {}), ("bidder", {}), ("short", {"expires_in_days": 2})):
            username = "staff" if who == "short" else who
            r = await c.post("/api/tokens", json={"username": username, "password": PASSWORD, "label": who} | body)
            assert r.status_code == 201, r.text
            tokens[who] = r.json()
        lives = {who: datetime.fromisoformat(t["expires_at"]) - clock.at for who, t in tokens.items()}
        assert lives == {
            "admin": timedelta(days=1),
            "staff": timedelta(days=30),
            "bidder": timedelta(days=90),
            "short": timedelta(days=2),
        }
        listed = (await c.get("/api/tokens", headers=_bearer(tokens["staff"]))).json()
        assert {t["label"]: t["expires_at"] for t in listed if t["label"] in ("staff", "short")} == {
            "staff": tokens["staff"]["expires_at"],
            "short": tokens["short"]["expires_at"],
        }
        clock.advance(days=1, seconds=1)
        r = await c.get("/api/me", headers=_bearer(tokens["admin"]))
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
        assert "过期" in r.json()["error"]["message_zh"]
        # An expired token is not the public: not on the API, the log or the feeds either.
        for path in ("/api/notices", "/log/checkpoint", "/log/entries?start=0&limit=1", "/feeds/notices.atom"):
            r = await c.get(path, headers=_bearer(tokens["admin"]))
            assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired", (path, r.text)
        assert (await c.get("/log/key")).status_code == 200  # the public, with no token, as before
        assert (await c.get("/api/me", headers=_bearer(tokens["staff"]))).status_code == 200
        short = next(t for t in listed if t["label"] == "short")
        assert (await c.delete(f"/api/tokens/{short['id']}", headers=_bearer(tokens["staff"]))).status_code == 204
        r = await c.get("/api/me", headers=_bearer(tokens["short"]))
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_not_valid", r.text
        assert "撤销" in r.json()["error"]["message_zh"] and "POST /api/tokens" in r.json()["error"]["message_en"]
    await platform.state.engine.dispose()


def _bearer(created: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {created['token']}"}


async def test_a_malformed_token_lifetime_setting_is_refused():
    from trading.settings import load_settings

    with pytest.raises(msgspec.ValidationError, match="token_lifetimes"):
        load_settings({"TRADING_TOKEN_LIFETIMES": "admin=1,wizard=7"})


async def test_a_tokens_use_is_recorded_at_most_once_a_minute_on_the_databases_clock(app, settings):
    """The server's own clock (the database's): the token's holder, the time and — when a minute has passed —
    its use recorded, on PostgreSQL in the one statement that reads the token. (*app*: the test's empty tables.)"""
    from sqlalchemy import update

    from trading.app import create_app
    from trading.clock import DatabaseClock

    clock = DatabaseClock()
    platform = create_app(settings, clock=clock)
    sessions = platform.state.sessionmaker

    async def database_now() -> datetime:
        async with sessions() as s:
            return await clock.now(s)

    await build_world(platform, await database_now())

    async def last_used() -> datetime | None:
        async with sessions() as s:
            return await s.scalar(select(ApiToken.last_used_at).where(ApiToken.label == "use"))

    async def set_token(**values: object) -> None:
        async with sessions() as s:
            await s.execute(update(ApiToken).where(ApiToken.label == "use").values(**values))
            await s.commit()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=platform), base_url="http://t") as c:
        r = await c.post("/api/tokens", json={"username": "staff", "password": PASSWORD, "label": "use"})
        assert r.status_code == 201, r.text
        headers = _bearer(r.json())
        await set_token(last_used_at=None)
        assert (await c.get("/api/me", headers=headers)).status_code == 200
        first = await last_used()
        assert first is not None and abs((await database_now() - first).total_seconds()) < 60
        if platform.state.engine.dialect.name == "postgresql":
            # That commit did not wait for the disk (synchronous_commit off in its own transaction only): every
            # connection of the pool — the one it ran on among them — commits durably again.
            engine = platform.state.engine
            held = [await engine.connect() for _ in range(settings.pool_size)]
            try:
                for conn in held:
                    assert (await conn.execute(text("SHOW synchronous_commit"))).scalar_one() == "on"
            finally:
                for conn in held:
                    await conn.close()
        assert (await c.get("/api/me", headers=headers)).status_code == 200
        assert await last_used() == first  # within the minute: not written again
        await set_token(last_used_at=first - timedelta(minutes=2))
        assert (await c.get("/api/me", headers=headers)).status_code == 200
        assert await last_used() > first - timedelta(minutes=2)
        await set_token(last_used_at=None, expires_at=await database_now() - timedelta(seconds=1))
        r = await c.get("/api/me", headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
        assert await last_used() is None  # an expired token's use is not recorded
        r = await c.get("/api/me", headers={"Authorization": "Bearer tp_no-such-token"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_not_valid"  # (the time read apart)
    await platform.state.engine.dispose()


async def test_two_authorization_headers_are_refused_not_one_of_them_chosen(app, client, clock):
    """Which one is meant — a proxy's and the client's, or a bidder's and an admin's? Neither is used."""
    world = await build_world(app, clock.at)
    two = [
        ("Authorization", world.headers("bidder")["Authorization"]),
        ("Authorization", world.headers("admin")["Authorization"]),
    ]
    r = await client.get("/api/people", headers=two)
    assert r.status_code == 400 and r.json()["error"]["code"] == "ambiguous_credentials", r.text
    assert "Authorization" in r.json()["error"]["message_zh"]
    assert (await client.get("/api/people", headers=world.headers("admin"))).status_code == 200
