"""Every text answer names its charset once: the log's notes, the CSV files, feeds and attachments.

Litestar appends "; charset=utf-8" to each text/* media type, so a route that named the charset itself sent
it twice (issue 13); trading.web.one_charset now keeps a named charset as it is.
"""

from __future__ import annotations

import pytest

from tests.factories import attach, build_world, create_project, draft_tender, integrate_all

pytestmark = pytest.mark.asyncio


def charsets(content_type: str) -> list[str]:
    params = [p.strip().lower() for p in content_type.split(";")[1:]]
    return [p for p in params if p.startswith("charset=")]


async def test_the_openapi_document_declares_no_text_type_with_a_charset(client):
    # A declared "text/plain; charset=utf-8" is what Litestar doubled; the document stays plain.
    document = (await client.get("/schema/openapi.json")).json()
    declared = [
        (path, method, media_type)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
        for media_type in response.get("content", {})
        if media_type.startswith("text/") and "charset" in media_type
    ]
    assert declared == []


async def test_every_text_answer_names_one_charset(app, client, clock):
    world = await build_world(app, clock.at)
    await create_project(client, world)
    await integrate_all(app)
    document = (await client.get("/schema/openapi.json")).json()
    text_paths = sorted(
        path
        for path, operations in document["paths"].items()
        if "{" not in path
        and any(
            media_type.startswith("text/") or "+xml" in media_type
            for response in operations.get("get", {}).get("responses", {}).values()
            for media_type in response.get("content", {})
        )
    )
    assert {"/log/checkpoint", "/log/key", "/api/funds/summary.csv", "/feeds/notices.atom"} <= set(text_paths)
    for path in text_paths:
        r = await client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text)
        assert len(charsets(r.headers["content-type"])) == 1, (path, r.headers["content-type"])


async def test_an_attachment_keeps_the_charset_it_was_uploaded_with(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    body = "序号,材料,数量\n1,沥青混凝土,1200\n".encode("gbk")
    r = await attach(client, world, draft, "工程量清单.csv", body, "text/csv; charset=GBK")
    assert r.status_code == 201, r.text
    assert (await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=world.headers("staff"))).is_success
    got = await client.get(r.json()["url"])
    assert got.content == body
    assert charsets(got.headers["content-type"]) == ["charset=gbk"]
