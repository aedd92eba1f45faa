from __future__ import annotations

from pathlib import Path

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


async def test_text_responses_name_their_charset_once(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    from trading.log.integrator import integrate_once

    await integrate_once(app.state)
    for url, media in [
        ("/api/funds/summary.csv", "text/csv"),
        (f"/api/projects/{notice['project_id']}/payments.csv", "text/csv"),
        ("/log/key", "text/plain"),
        ("/log/checkpoint", "text/plain"),
        ("/log/checkpoints/1", "text/plain"),
        ("/feeds/notices.atom", "application/atom+xml"),
        ("/", "text/html"),
    ]:
        r = await client.get(url)
        assert r.status_code == 200, (url, r.text[:200])
        assert r.headers["content-type"] == f"{media}; charset=utf-8", url


async def test_ready_means_the_schema_is_current_and_the_blob_store_writable(app, client, settings, tmp_path):
    import httpx
    import msgspec
    from sqlalchemy.ext.asyncio import create_async_engine

    from trading.app import create_app
    from trading.migrate import upgrade

    if settings.blob_store == "local":  # a blob directory not made yet
        r = await client.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"] == {"database": "ok", "blob_store": "not writable"}
        Path(settings.blob_dir).mkdir(parents=True)
    else:  # a bucket nobody answers for
        unreachable = create_app(msgspec.structs.replace(settings, s3_endpoint="http://127.0.0.1:9", s3_timeout=1.0))
        transport = httpx.ASGITransport(app=unreachable)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as other:
            r = await other.get("/readyz")
        await unreachable.state.engine.dispose()
        assert r.status_code == 503 and r.json()["checks"] == {"database": "ok", "blob_store": "not writable"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready", r.text
    # A database one migration behind the code: alive (/healthz), not ready.
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
    engine = create_async_engine(url)
    await upgrade(engine, "0013")
    await engine.dispose()
    behind = create_app(msgspec.structs.replace(settings, database_url=url))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=behind), base_url="http://t") as c:
        assert (await c.get("/healthz")).status_code == 200
        r = await c.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["database"].startswith("schema at 0013")
    await behind.state.engine.dispose()
