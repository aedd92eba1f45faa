"""The public reads: filters, Chinese search, keyset pagination, the changes feed, Atom, caching, OpenAPI."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import pytest_asyncio

from tests.factories import build_world, create_project, draft_tender

pytestmark = pytest.mark.asyncio

ATOM = "{http://www.w3.org/2005/Atom}"


async def _publish(client, world, clock, name, region="430723", body_extra=""):
    who = "other_staff" if region.startswith("4312") else "staff"  # 怀化's projects are its centre's to file
    project = await create_project(client, world, who=who, name=name, region_code=region)
    draft = await draft_tender(
        client,
        world,
        project,
        clock.at,
        title=f"{name}招标公告",
        body=f"一、招标条件\n{name}已批准建设。{body_extra}",
        who=who,
    )
    r = await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=world.headers(who))
    assert r.status_code == 200, r.text
    clock.advance(minutes=5)
    return r.json()


@pytest_asyncio.fixture
async def corpus(app, client, clock):
    world = await build_world(app, clock.at)
    road = await _publish(client, world, clock, "澧县城区道路提质改造工程")
    school = await _publish(client, world, clock, "鹤城区第五中学新建工程", region="431202")
    bridge = await _publish(
        client, world, clock, "津市市澧水大桥维修工程", region="430781", body_extra="含引桥路面与道路标线。"
    )
    hospital = await _publish(client, world, clock, "常德市第一人民医院门诊楼改造", region="430702")
    return {"world": world, "road": road, "school": school, "bridge": bridge, "hospital": hospital}


async def test_two_character_chinese_search_finds_title_and_body(client, corpus):
    r = await client.get("/api/notices", params={"q": "道路"})
    ids = {i["id"] for i in r.json()["items"]}
    assert ids == {corpus["road"]["id"], corpus["bridge"]["id"]}  # title and body
    r = await client.get("/api/notices", params={"q": "学校"})
    assert r.json()["items"] == []
    r = await client.get("/api/notices", params={"q": "中学"})
    assert [i["id"] for i in r.json()["items"]] == [corpus["school"]["id"]]
    # a phrase must be contiguous: 道路 and 改造 both occur, 道路改造 does not
    r = await client.get("/api/notices", params={"q": "提质改造"})
    assert [i["id"] for i in r.json()["items"]] == [corpus["road"]["id"]]
    r = await client.get("/api/notices", params={"q": "道路 津市"})
    assert [i["id"] for i in r.json()["items"]] == [corpus["bridge"]["id"]]
    r = await client.get("/api/notices", params={"q": "医"})  # one character still works
    assert [i["id"] for i in r.json()["items"]] == [corpus["hospital"]["id"]]


async def test_filters_by_region_include_sub_divisions(client, corpus):
    r = await client.get("/api/notices", params={"region": "430700"})  # 常德市 and its counties
    ids = {i["id"] for i in r.json()["items"]}
    assert ids == {corpus["road"]["id"], corpus["bridge"]["id"], corpus["hospital"]["id"]}
    r = await client.get("/api/notices", params={"region": "431200"})
    assert [i["id"] for i in r.json()["items"]] == [corpus["school"]["id"]]
    r = await client.get("/api/notices", params={"kind": "tender", "trade_kind": "works", "status": "open"})
    assert len(r.json()["items"]) == 4
    r = await client.get("/api/notices", params={"trade_kind": "land"})
    assert r.json()["items"] == []


async def test_keyset_pagination_visits_every_notice_once(client, corpus):
    seen, cursor = [], None
    for _ in range(10):  # four notices: a cursor that never ends fails instead of looping
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/notices", params=params)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    else:
        pytest.fail("the notice list's cursor never ended")
    assert seen == sorted(seen, reverse=True) and len(seen) == 4 == len(set(seen))


async def test_changes_feed_with_watermark(client, corpus):
    page = (await client.get("/api/changes", params={"limit": 2})).json()
    assert [i["seq"] for i in page["items"]] == [1, 2]
    assert page["watermark"] == 4
    nxt = (await client.get("/api/changes", params={"cursor": page["next"]})).json()
    assert [i["seq"] for i in nxt["items"]] == [3, 4]
    assert (await client.get("/api/changes", params={"after": 4})).json()["items"] == []


async def test_atom_feeds(client, corpus):
    for path in ("/feeds/notices.atom", "/feeds/kinds/tender.atom", "/feeds/regions/430700.atom"):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("application/atom+xml")
        feed = ET.fromstring(r.content)
        titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
        assert titles, path
    r = await client.get("/feeds/regions/430700.atom")
    titles = [e.findtext(f"{ATOM}title") for e in ET.fromstring(r.content).findall(f"{ATOM}entry")]
    assert "鹤城区第五中学新建工程招标公告" not in titles
    r = await client.get("/feeds/kinds/nonsense.atom")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_notice_kind"
    assert "tender.atom" in r.json()["error"]["message_en"]  # the feeds there are, named
    assert (await client.get("/feeds/regions/999999.atom")).status_code == 404


async def test_conditional_get_and_cache_headers(client, corpus):
    url = f"/api/notices/{corpus['road']['id']}"
    r = await client.get(url)
    etag = r.headers["etag"]
    assert "max-age" in r.headers["cache-control"] and r.headers["last-modified"]
    r2 = await client.get(url, headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    doc = await client.get(corpus["road"]["versions"][0]["document_url"])
    assert "immutable" in doc.headers["cache-control"]
    lst = await client.get("/api/notices")
    r3 = await client.get("/api/notices", headers={"If-None-Match": lst.headers["etag"]})
    assert r3.status_code == 304


async def test_list_etag_changes_when_something_is_published(app, client, clock, corpus):
    first = (await client.get("/api/notices")).headers["etag"]
    await _publish(client, corpus["world"], clock, "桃源县乡镇道路改造工程", region="430725")
    assert (await client.get("/api/notices")).headers["etag"] != first


async def test_drafts_are_not_public(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    assert (await client.get(f"/api/notices/{draft['id']}")).status_code == 404
    assert (await client.get(f"/api/projects/{project['id']}")).status_code == 404
    assert (await client.get("/api/notices")).json()["items"] == []
    assert (await client.get("/api/changes")).json()["items"] == []


async def test_openapi_describes_the_api(client):
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values() if isinstance(op, dict)}
    assert {"listNotices", "getNotice", "listChanges", "publishNotice", "createProject", "createToken"} <= ops
    assert "/api/notices/{notice_id}" in spec["paths"]
    for path in spec["paths"].values():
        for op in path.values():
            if isinstance(op, dict) and "operationId" in op:
                assert op.get("summary") or op.get("description"), op["operationId"]


async def test_latin_search_is_a_substring_match_on_both_engines(app, client, clock):
    world = await build_world(app, clock.at)
    n = await _publish(client, world, clock, "澧县EPC总承包道路工程")
    assert [i["id"] for i in (await client.get("/api/notices", params={"q": "epc"})).json()["items"]] == [n["id"]]
    assert [i["id"] for i in (await client.get("/api/notices", params={"q": "EP"})).json()["items"]] == [n["id"]]


async def test_openapi_response_schemas_are_described(client):
    spec = (await client.get("/schema/openapi.json")).json()
    listing = spec["paths"]["/api/notices"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    detail = spec["paths"]["/api/notices/{notice_id}"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert listing["$ref"].endswith("NoticePage")
    assert detail["$ref"].endswith("NoticeDetail")
    page = spec["components"]["schemas"]["NoticePage"]
    assert set(page["properties"]) == {"items", "next"}


async def test_a_feed_stays_well_formed_whatever_characters_a_title_holds():
    """One title holding a character XML cannot carry (stored before the input checks refused them) must not make
    the province's whole feed unreadable: it is shown as U+FFFD."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from notices.feeds import render_feed

    at = datetime(2026, 3, 2, tzinfo=UTC)
    item = SimpleNamespace(
        title="控制字符\x0b\x1b标题施工招标公告", url="/notices/1", version=1, last_published_at=at,
        first_published_at=at, kind="tender", kind_name="招标公告", region_name="澧县\x01", deadline_at=None,
    )  # fmt: skip
    feed = ET.fromstring(render_feed("http://t", "/feeds/notices.atom", "最新\x0c公告", [item], at))
    entry = feed.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "控制字符\ufffd\ufffd标题施工招标公告"
    assert feed.findtext(f"{ATOM}title") == "最新\ufffd公告" and "\ufffd" in entry.findtext(f"{ATOM}summary")
