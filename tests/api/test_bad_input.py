"""Bad input gets a 4xx with a stable code and a message a person can act on, and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import attach, build_world, create_project, draft_tender, project_payload
from trading.accounts.models import Organisation
from trading.audit.models import AuditEntry
from trading.projects.models import Project

pytestmark = pytest.mark.asyncio


async def _rows(app):
    async with app.state.sessionmaker() as s:
        return tuple([await s.scalar(select(func.count()).select_from(t)) for t in (Project, Organisation, AuditEntry)])


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"surprise": 1}, "invalid_input"),  # unknown field
        ({"budget_fen": "四千万"}, "invalid_input"),  # wrong type
        ({"budget_fen": 12.5}, "invalid_input"),  # money is integer fen, never a float
        ({"budget_fen": "4865000000"}, "invalid_input"),  # nor a number written as a string
        ({"budget_fen": 2**63}, "number_out_of_range"),  # nor one past 64 bits
        ({"name": "澧县\u0000道路"}, "nul_in_text"),
        ({"name": "澧县\u000b道路"}, "control_character"),  # (XML cannot carry it: the feeds would break)
        ({"description": {"备注\u001b": "x"}}, "control_character"),
        ({"name": "澧县道路\ufffe"}, "control_character"),
        ({"description": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}, "json_too_deep"),
        ({"budget_fen": -1}, "invalid_input"),
        ({"region_code": "999999"}, "unknown_region"),
        ({"region_code": "430104"}, "region_outside_centre"),  # 长沙市岳麓区, filed by 常德's staff
        ({"procedure": "land_listing"}, "procedure_mismatch"),
        ({"procedure": "sealed_auction_of_dreams"}, "unknown_procedure"),
        ({"sections": []}, "invalid_input"),
        ({"sections": [{"code": "01", "name": "一标段"}, {"code": "01", "name": "二标段"}]}, "duplicate_section"),
    ],
)
async def test_bad_project_bodies_are_refused_and_change_nothing(app, client, clock, change, code):
    world = await build_world(app, clock.at)
    before = await _rows(app)
    r = await client.post("/api/projects", json=project_payload(world, **change), headers=world.headers("staff"))
    assert 400 <= r.status_code < 500, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert error["message_zh"] and error["message_en"]
    assert await _rows(app) == before


async def test_malformed_json_is_a_400(app, client, clock):
    world = await build_world(app, clock.at)
    r = await client.post(
        "/api/projects", content=b"{not json", headers=world.headers("staff") | {"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_input"


async def test_an_oversize_body_is_a_413(app, client, clock):
    world = await build_world(app, clock.at)
    huge = project_payload(world, description="路" * 400_000)  # 1.2 MB of UTF-8, over the 1 MB default
    r = await client.post("/api/projects", json=huge, headers=world.headers("staff"))
    assert r.status_code == 413
    error = r.json()["error"]
    assert error["code"] == "payload_too_large" and error["details"]["max_bytes"] == 1_000_000
    assert "1,000,000 bytes" in error["message_zh"] and "the limit here is 1,000,000 bytes" in error["message_en"]


@pytest.mark.parametrize(
    ("credit_code", "fragment"),
    [
        ("91430723MA4L00011X", "校验码"),  # wrong check character
        ("91430723MA4L0001", "18"),  # too short
        ("91430723MA4L0001IW", "I"),  # a letter the code never uses
    ],
)
async def test_broken_credit_codes_are_explained(app, client, clock, credit_code, fragment):
    world = await build_world(app, clock.at)
    before = await _rows(app)
    r = await client.post(
        "/api/organisations",
        json={"name": "湖南某某建设有限公司", "credit_code": credit_code, "kinds": ["bidder"], "region_code": "430723"},
        headers=world.headers("staff"),
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_credit_code"
    assert fragment in error["message_zh"]
    assert await _rows(app) == before


async def test_duplicate_credit_code_is_a_conflict(app, client, clock):
    world = await build_world(app, clock.at)
    existing = (await client.get(f"/api/organisations/{world.bidder_org_id}", headers=world.headers("staff"))).json()
    r = await client.post(
        "/api/organisations",
        json={
            "name": "另一家公司",
            "credit_code": existing["credit_code"],
            "kinds": ["bidder"],
            "region_code": "430723",
        },
        headers=world.headers("staff"),
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "duplicate_credit_code"


async def test_a_timetable_without_time_zone_is_refused(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    r = await client.post(
        "/api/staff/notices",
        json={
            "project_id": project["id"],
            "kind": "tender",
            "title": "无时区的招标公告",
            "timetable": {"bid_deadline": "2026-04-01T09:30:00"},
        },
        headers=world.headers("staff"),
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "naive_datetime"


async def test_a_notice_kind_that_does_not_fit_the_trade_is_refused(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    r = await client.post(
        "/api/staff/notices",
        json={"project_id": project["id"], "kind": "land_transfer", "title": "道路工程的土地出让公告"},
        headers=world.headers("staff"),
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "wrong_notice_kind"


async def test_unknown_notice_and_bad_cursor(client):
    r = await client.get("/api/notices/999999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "notice_not_found"
    r = await client.get("/api/notices", params={"cursor": "!!!"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_cursor"
    r = await client.get("/api/notices", params={"limit": 100000})
    assert r.status_code == 400
    r = await client.get("/api/notices", params={"from": "2026-01-01T00:00:00"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "naive_datetime"
    r = await client.get("/api/no-such-endpoint")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_attachment_upload_is_streamed_hashed_and_limited(app, client, clock, settings):
    import hashlib

    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    body = b"%PDF-1.7\n" + "澧县城区道路提质改造工程招标文件\n".encode() * 20000
    r = await attach(client, world, draft, "招标文件.pdf", body, "application/pdf")
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert r.json()["size"] == len(body)
    # Not downloadable until published.
    r2 = await client.get(r.json()["url"])
    assert r2.status_code == 404
    r3 = await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=world.headers("staff"))
    assert r3.status_code == 200
    assert r3.json()["attachments"][0]["published_in_version"] == 1
    doc = (await client.get(r3.json()["versions"][0]["document_url"])).json()
    assert doc["attachments"] == [
        {"filename": "招标文件.pdf", "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
    ]
    r4 = await client.get(r.json()["url"])
    assert r4.status_code == 200 and r4.content == body
    # A published notice takes no more attachments.
    r5 = await attach(client, world, draft, "补充.pdf", b"%PDF-1.7")
    assert r5.status_code == 409


async def test_an_html_attachment_is_a_download_that_runs_nothing(app, client, clock):
    """A published HTML file (or one claiming to be) must not run as a page of the platform: a script it names
    from the platform itself would otherwise be allowed by the pages' policy (script-src 'self')."""
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    page = b'<html><script src="/api/notices/1/attachments/2"></script><p>\xe6\x8b\x9b\xe6\xa0\x87</p></html>'
    refused = await attach(client, world, draft, "说明.txt", page, "text/html; charset=utf-8")
    assert refused.status_code == 415 and refused.json()["error"]["code"] == "unsupported_media_type", refused.text
    named = await attach(client, world, draft, "说明.html", page, "application/octet-stream")
    assert named.status_code == 400 and named.json()["error"]["code"] == "filename_not_allowed", named.text
    r = await attach(client, world, draft, "说明.dat", page, "application/octet-stream")
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert (await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=world.headers("staff"))).is_success
    got = await client.get(url)
    assert got.status_code == 200 and got.content == page
    assert got.headers["content-disposition"].startswith("attachment;")
    policy = got.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'") and "sandbox" in policy and "script-src" not in policy, policy
    assert got.headers["x-content-type-options"] == "nosniff"


async def test_an_oversize_attachment_is_refused_and_leaves_nothing(app, client, clock, settings, tmp_path):
    import msgspec

    from tests.conftest import DEFAULT_NOW  # noqa: F401
    from trading.app import create_app

    small = create_app(msgspec.structs.replace(settings, max_attachment_bytes=1000), clock=app.state.clock)
    import httpx

    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small), base_url="http://t") as c:
        r = await attach(c, world, draft, "大文件.zip", b"0" * 5000)
    await small.state.engine.dispose()
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    detail = (await client.get(f"/api/staff/notices/{draft['id']}", headers=world.headers("staff"))).json()
    assert detail["attachments"] == []
    from pathlib import Path

    incoming = Path(settings.blob_dir) / "incoming"
    assert not incoming.exists() or list(incoming.iterdir()) == []


@pytest.mark.parametrize(
    "url",
    [
        "/api/notices/9223372036854775808",
        "/api/notices/-9223372036854775809",
        "/api/changes?after=18446744073709551616",
        "/api/notices?limit=20&cursor=x&region=99999999999999999999999",
        "/log/checkpoints/99999999999999999999",
        "/log/proof/inclusion?tree_size=99999999999999999999&index=1",
        "/api/sections/9223372036854775808/opening",
        "/notices/9223372036854775808",
        "/projects/18446744073709551616",
    ],
)
async def test_numbers_past_64_bits_are_a_400_not_a_server_error(client, url):
    r = await client.get(url)
    assert r.status_code == 400, (url, r.status_code, r.text[:300])
    if url.startswith(("/api/", "/log/")):
        assert r.json()["error"]["code"] == "number_out_of_range"
        assert "超出范围" in r.json()["error"]["message_zh"]
    else:
        assert "超出范围" in r.text  # the portal's error page says it too


@pytest.mark.parametrize(
    ("who", "url", "body"),
    [
        (None, "/log/witness", {"size": 2**63, "cosignature": "x"}),
        (
            "admin",
            "/api/people",
            {
                "username": "p1",
                "display_name": "某人",
                "password": "long-enough-1",
                "roles": ["bidder"],
                "organisation_id": 2**64,
            },
        ),
        (
            "admin",
            "/api/people",
            {
                "username": "p1",
                "display_name": "某人",
                "password": "long-enough-1",
                "roles": ["staff"],
                "centre_id": -(2**63) - 1,
            },
        ),
        ("staff", "/api/staff/notices", {"project_id": 2**63, "kind": "tender", "title": "某工程招标公告"}),
        (
            "staff",
            "/api/staff/notices",
            {"project_id": 1, "kind": "tender", "title": "某工程招标公告", "fields": {"extra": [1, {"big": 2**70}]}},
        ),
    ],
)
async def test_an_integer_past_64_bits_anywhere_in_a_body_is_a_400_and_changes_nothing(
    app, client, clock, who, url, body
):
    """Ids in bodies are looked up in BIGINT columns (a 500 on either engine when they do not fit), and a free-form
    object's numbers are read back by browsers as doubles: refused wherever they are, before any handler runs."""
    world = await build_world(app, clock.at)
    before = await _rows(app)
    r = await client.post(url, json=body, headers=world.headers(who) if who else {})
    assert r.status_code == 400, (url, r.status_code, r.text[:300])
    error = r.json()["error"]
    assert (
        error["code"] == "number_out_of_range"
        and "超出范围" in error["message_zh"]
        and "64 bits" in error["message_en"]
    )
    assert await _rows(app) == before


@pytest.mark.parametrize(
    "url",
    [
        "/api/notices?q=%E9%81%93%00%E8%B7%AF",
        "/notices?q=%00",
        "/regions/43%0001",
        "/api/ocds/records/ocds-hnggzy-%00",
        "/feeds/kinds/tender%00.atom",
    ],
)
async def test_a_nul_character_anywhere_in_a_request_is_refused(client, url):
    r = await client.get(url)
    assert r.status_code == 400, (url, r.status_code, r.text[:300])
    if url.startswith("/api/"):
        assert r.json()["error"]["code"] == "nul_in_text"


async def test_nul_deep_json_and_wrong_content_types_on_sign_in_change_nothing(app, client, clock):
    from trading.accounts.models import ApiToken

    world = await build_world(app, clock.at)

    async def tokens():
        async with app.state.sessionmaker() as s:
            return await s.scalar(select(func.count()).select_from(ApiToken))

    before = await tokens()
    r = await client.post("/api/tokens", json={"username": "staff\u0000", "password": "x", "label": "t"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "nul_in_text"
    r = await client.post("/api/tokens", content=b"[" * 100_000, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "json_too_deep"
    r = await client.post(
        "/api/tokens", content=b'{"username": "a", "password": "b"}', headers={"content-type": "text/plain"}
    )
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert "JSON" in r.json()["error"]["message_zh"]
    r = await client.post("/api/tokens", data={"username": "a", "password": "b"})  # a form, not JSON
    assert r.status_code == 415
    r = await client.post("/login", data={"username": "staff\x00", "password": "x"})
    assert r.status_code == 400
    r = await client.post("/login", data={"username": "staff\x0c", "password": "x"})
    assert r.status_code == 400 and "u000c" in r.text
    r = await client.get("/api/notices", params={"q": "道\x1f路"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "control_character"
    assert r.json()["error"]["details"] == {"where": "q", "character": "\\u001f"}
    # However the JSON writes it: escaped short (\f, \b), or U+FFFE raw in UTF-8.
    json_body = {"content-type": "application/json"}
    for body in (b'{"username":"staff\\f","password":"x"}', b'{"username":"s\\b","password":"x"}',
                 '{"username":"staff\ufffe","password":"x"}'.encode()):  # fmt: skip
        r = await client.post("/api/tokens", content=body, headers=json_body)
        assert r.status_code == 400 and r.json()["error"]["code"] == "control_character", (body, r.text)
    r = await client.post(
        "/api/centres",
        json={"code": "X\u0000", "name": "某中心", "region_code": "430700"},
        headers=world.headers("admin"),
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "nul_in_text"
    assert await tokens() == before


@pytest.mark.parametrize(
    "when", ["0001-03-02T09:00:00+08:00", "1900-03-02T09:00:00+08:00", "9999-03-02T09:00:00+08:00"]
)
async def test_a_timetable_date_outside_any_sane_window_is_refused(app, client, clock, when):
    from tests.factories import tender_timetable

    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    timetable = tender_timetable(clock.at, 20) | {"bid_deadline": when}
    before = await _rows(app)
    r = await client.post(
        "/api/staff/notices",
        json={
            "project_id": project["id"],
            "kind": "tender",
            "title": "某工程施工招标公告",
            "body": "正文",
            "fields": {},
            "timetable": timetable,
        },
        headers=world.headers("staff"),
    )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "date_out_of_range" and "timetable.bid_deadline" in error["details"]["where"]
    assert await _rows(app) == before
    r = await client.put(
        "/api/calendar/9999-01-01", json={"kind": "holiday", "name": "元旦"}, headers=world.headers("admin")
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "date_out_of_range"
    r = await client.get("/api/ocds/releases", params={"from": "0001-01-01T00:00:00Z"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "date_out_of_range"


async def test_a_path_number_past_64_bits_is_refused_before_anyone_looks_it_up(app, client, clock):
    """The authorisation resolves a path's section, objection or project to find its centre: the number is
    checked before that lookup, or PostgreSQL fails on it with a server error."""
    world = await build_world(app, clock.at)
    for url in (
        "/api/objections/11941102642338539520/reply",
        "/api/projects/3168548362802478958247936/payments",
        "/api/sections/91107670985453533812391359518081024/expert-draw/run",
    ):
        r = await client.post(url, headers=world.headers("staff"), json={})
        assert r.status_code == 400 and r.json()["error"]["code"] == "number_out_of_range", (url, r.text)


async def test_the_opening_stream_of_a_section_that_does_not_exist_is_a_404(client):
    r = await client.get("/api/sections/999/opening/events")
    assert r.status_code == 404 and r.json()["error"]["code"] == "section_not_found"


async def test_refusals_meant_for_people_speak_chinese(app, client, clock):
    """message_zh names the field and the rule in Chinese: no msgspec or Litestar English leaks into it."""
    import re

    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    staff = world.headers("staff")
    cases = [
        ("PATCH", f"/api/staff/notices/{draft['id']}", {"title": 5}, "字段 title：应为文本或空值，实际为整数"),
        ("PATCH", f"/api/staff/notices/{draft['id']}", {"title": "ab"}, "字段 title：长度至少为 4"),
        ("PATCH", f"/api/staff/notices/{draft['id']}", {"nope": 1}, "含有未知字段 nope"),
        ("POST", "/api/tokens", {"username": "x"}, "缺少必填字段 password"),
        ("POST", "/api/projects", [], "应为对象，实际为数组"),
        ("GET", "/api/notices?limit=abc", None, "参数 limit：应为整数，实际为文本"),
        ("GET", "/api/notices?limit=1000", None, "参数 limit：数值须不大于 100"),
    ]
    for method, url, body, expected in cases:
        r = await client.request(method, url, headers=staff, json=body)
        zh = r.json()["error"]["message_zh"]
        assert r.status_code == 400 and expected in zh, (url, body, zh)
        assert not re.search(r"Expected|Validation|Object|got `|\$\.", zh), zh


@pytest.mark.parametrize("target", [0, -1, 2**63 - 1, 999_999])
@pytest.mark.parametrize("kind", ["tender", "termination"])
async def test_a_draft_naming_a_notice_that_does_not_exist_is_a_400_and_changes_nothing(
    app, client, clock, kind, target
):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    before = await _rows(app)
    body = {"project_id": project["id"], "kind": kind, "title": "某工程公告", "target_notice_id": target}
    r = await client.post("/api/staff/notices", json=body, headers=world.headers("staff"))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "unknown_target" and error["message_zh"] == "所针对的公告不存在", error
    assert await _rows(app) == before


@pytest.mark.parametrize("digit", ["１", "١", "۱"])  # full width, Arabic-Indic, Persian: int() reads each as 1
async def test_an_id_in_the_path_written_with_other_digits_than_0_to_9_is_refused_and_changes_nothing(
    app, client, clock, digit
):
    from trading.accounts.models import ApiToken

    world = await build_world(app, clock.at)
    async with app.state.sessionmaker() as s:
        revoked = select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_not(None))
        before = await s.scalar(revoked)
    r = await client.delete(f"/api/tokens/{digit}", headers=world.headers("admin"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_path_number", r.text
    assert (await client.get(f"/api/notices/{digit}")).status_code == 400
    async with app.state.sessionmaker() as s:
        assert await s.scalar(revoked) == before


@pytest.mark.parametrize(
    "url",
    ["/api/notices?from=-1", "/api/notices?to=1.5", "/api/ocds/releases?from=-62135596800", "/api/notices?from=1e19"],
)
async def test_a_date_in_the_query_written_as_seconds_since_1970_is_refused(client, url):
    """A number where a date is wanted would be read as seconds since 1970 (from=-1 is 1969, past the window)."""
    r = await client.get(url)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_date" and "ISO 8601" in error["message_zh"], error


async def test_dates_in_the_query_as_iso_8601_are_taken(client):
    for url in ("/api/notices?from=2026-11-01T09:30:00%2B08:00", "/api/ocds/releases?to=2026-12-01T00:00:00Z"):
        assert (await client.get(url)).status_code == 200, url


async def test_text_that_looks_like_an_old_date_is_only_refused_where_a_date_is_meant(client):
    """The 2000-2199 window is for dates: a search for "0001-01-01" is a search, and a number given a date is
    refused as a number."""
    assert (await client.get("/api/notices", params={"q": "0001-01-01"})).status_code == 200
    r = await client.get("/api/changes", params={"limit": "0001-01-01"})
    assert r.status_code == 400 and "日期" not in r.json()["error"]["message_zh"], r.text


async def test_a_number_that_fits_64_bits_but_not_its_column_is_no_server_error(app, client, clock):
    """A notice's version is a 32-bit column: a version past it is one the notice does not have (404, on either
    engine), not PostgreSQL's driver failing to send it (a 500, found by schemathesis). Any other such number is
    a 400 that says so: the driver's refusal is told apart from a fault, with a real database."""
    from notices.models import NoticeVersion
    from tests.factories import published_tender
    from trading.db import is_argument_out_of_range, is_unique_violation

    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    for version in (4_531_524_863_734, 2**31, 0, -1):
        r = await client.get(f"/api/notices/{notice['id']}/versions/{version}/document")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "version_not_found"), (version, r.text)
    assert (await client.get(f"/api/notices/{notice['id']}/versions/1/document")).status_code == 200

    async with app.state.sessionmaker() as s:
        try:
            await s.scalar(select(NoticeVersion).where(NoticeVersion.version == 2**40))
        except Exception as exc:  # PostgreSQL: the driver refuses the argument before sending it
            assert app.state.engine.dialect.name == "postgresql"
            assert is_argument_out_of_range(exc) and not is_unique_violation(exc)
        else:  # SQLite: its integers are 64-bit, and nothing is found
            assert app.state.engine.dialect.name == "sqlite"
