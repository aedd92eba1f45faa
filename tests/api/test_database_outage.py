"""A database outage through the real API (PostgreSQL): connections broken and refused answer 503
``database_unavailable`` with Retry-After and nothing of the driver's message, and the service recovers by
itself when the database is back. No mock: the app's connections pass through a TCP relay the test cuts
(tests/dbproxy.py), or are killed on the server with pg_terminate_backend.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.factories import build_world, published_tender

pytestmark = pytest.mark.asyncio

#: What a driver's or the OS's message would carry; none of it may reach a client.
LEAKS = ("asyncpg", "sqlalchemy", "Connect call failed", "refused", "Errno", "Traceback", "127.0.0.1:")


def assert_unavailable(r, *, html: bool = False) -> None:
    assert r.status_code == 503, r.text[:500]
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["cache-control"] == "no-store"
    for leak in LEAKS:
        assert leak not in r.text, leak
    if html:
        assert r.headers["content-type"].startswith("text/html")
        assert "数据库暂时无法访问" in r.text
        return
    error = r.json()["error"]
    assert error["code"] == "database_unavailable"
    assert "数据库暂时无法访问" in error["message_zh"] and "database" in error["message_en"]
    assert error["details"]["retry_after_seconds"] == int(r.headers["retry-after"])


async def test_an_outage_answers_503_with_retry_after_and_the_next_request_after_it_succeeds(outage, clock):
    app, client, relay = outage.app, outage.client, outage.relay
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    staff = world.headers("staff")
    assert (await client.get(f"/api/notices/{notice['id']}")).status_code == 200

    await relay.cut()  # the pooled connections break, and new ones are refused
    assert_unavailable(await client.get(f"/api/notices/{notice['id']}"))
    assert_unavailable(await client.get("/api/me", headers=staff))  # the token is looked up before the route
    assert_unavailable(await client.post(f"/api/staff/notices/{notice['id']}/publish", headers=staff))
    assert_unavailable(await client.get(f"/notices/{notice['id']}"), html=True)  # the portal: an HTML page

    await relay.start()  # the database is back: nobody restarts the app
    r = await client.get(f"/api/notices/{notice['id']}")
    assert r.status_code == 200, r.text
    r = await client.get("/api/me", headers=staff)
    assert r.status_code == 200, r.text


async def test_a_database_that_stops_answering_is_a_503_after_the_timeout_not_a_request_held_forever(outage, clock):
    """A frozen database host, or a network that drops packets without a reset: the connections stay open and
    nothing comes back. Each request gives up after settings.database_timeout (2 s here) with the same 503 as an
    outage, and once the database answers again the service goes on by itself."""
    app, client, relay = outage.app, outage.client, outage.relay
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    staff = world.headers("staff")
    relay.freeze()
    try:
        for request in (
            client.get(f"/api/notices/{notice['id']}"),
            client.post(f"/api/staff/notices/{notice['id']}/publish", headers=staff),
        ):
            # A bound on the test, not a measurement: without a timeout the request never answers.
            assert_unavailable(await asyncio.wait_for(request, 60))
    finally:
        relay.thaw()
    r = await client.get(f"/api/notices/{notice['id']}")
    assert r.status_code == 200, r.text
    r = await client.get("/api/me", headers=staff)
    assert r.status_code == 200, r.text


async def test_connections_killed_on_the_server_while_pooled_are_replaced_without_an_error(app, client, clock, backend):
    if backend != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    for _ in range(3):  # the pool holds connections now
        assert (await client.get(f"/api/notices/{notice['id']}")).status_code == 200
    url = make_url(app.state.settings.database_url).set(drivername="postgresql")
    admin = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        for _ in range(200):  # terminating is a signal: wait until the backends are gone
            if not await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ):
                break
            await asyncio.sleep(0.025)
        # A backend leaves pg_stat_activity before it exits and its socket closes: give the closes time to reach
        # the pooled connections (one still open then would be used, fail, and be a 503 — the outage case).
        await asyncio.sleep(0.5)
    finally:
        await admin.close()
    assert killed >= 1
    for _ in range(3):
        r = await client.get(f"/api/notices/{notice['id']}")
        assert r.status_code == 200, r.text
    r = await client.get("/api/me", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
