"""The public portal through HTTP: every page, the filters, sign-in with CSRF, tokens and the audit page."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import msgspec
import pytest

from notices import portal
from tests.factories import PASSWORD, build_world, create_project, draft_tender, published_tender

pytestmark = pytest.mark.asyncio

HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION_ITEM = re.compile(r'class="version(?: is-current)?"')


def csrf_in(page: str) -> str:
    match = HIDDEN_CSRF.search(page)
    assert match, "no CSRF field on the page"
    return html.unescape(match.group(1))


def is_html(r: httpx.Response) -> bool:
    return r.headers["content-type"].startswith("text/html")


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token (from the account page)."""
    form = await client.get("/login")
    r = await client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_in(form.text)})
    assert r.status_code == 303, r.text
    account = await client.get("/account")
    assert account.status_code == 200
    return csrf_in(account.text)


async def amend(client: httpx.AsyncClient, world: Any, tender: dict[str, Any], reason: str) -> dict[str, Any]:
    """Publish an amendment (变更公告) to *tender* through the staff API."""
    r = await client.post(
        "/api/staff/notices",
        json={
            "project_id": tender["project_id"],
            "kind": "amendment",
            "title": f"{tender['title']}变更公告",
            "body": "现对招标公告中的投标人资格要求作如下变更。",
            "target_notice_id": tender["id"],
            "fields": {
                "affects_bids": False,
                "reason": reason,
                "changes": {"fields": {"qualification": "具备市政公用工程施工总承包三级及以上资质。"}},
            },
        },
        headers=world.headers("staff"),
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/staff/notices/{r.json()['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    return r.json()


# --- public pages ------------------------------------------------------------------------------------------


async def test_home_empty(client):
    r = await client.get("/")
    assert r.status_code == 200
    assert is_html(r)
    assert "湖南省公共资源交易平台" in r.text
    assert '<link rel="alternate" type="application/atom+xml"' in r.text
    assert 'href="/feeds/notices.atom"' in r.text
    assert "目前没有进行中的交易" in r.text


async def test_home_lists_latest_and_deadlines(app, client, clock):
    world = await build_world(app, clock.at)
    tender = await published_tender(client, world, clock.at)
    r = await client.get("/")
    assert r.status_code == 200
    assert tender["title"] in r.text
    assert f'href="/notices/{tender["id"]}"' in r.text
    assert "剩 20 天" in r.text  # bid deadline 2026-03-22 09:30, now 2026-03-02 09:00
    assert 'href="/feeds/kinds/tender.atom"' in r.text
    assert 'href="/regions/430700"' in r.text
    assert "2026年3月2日 星期一" in r.text


async def test_list_and_search(app, client, clock):
    world = await build_world(app, clock.at)
    road = await published_tender(client, world, clock.at)
    bridge_project = await create_project(client, world, name="澧县2026年澹水河大桥维修加固工程")
    bridge = await draft_tender(
        client, world, bridge_project, clock.at, body="一、招标条件\n澹水河大桥维修加固，含桥面铺装及护栏更换。"
    )
    r = await client.post(f"/api/staff/notices/{bridge['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text

    r = await client.get("/notices")
    assert r.status_code == 200
    assert road["title"] in r.text and bridge["title"] in r.text

    r = await client.get("/notices", params={"q": "道路"})
    assert r.status_code == 200
    assert road["title"] in r.text
    assert bridge["title"] not in r.text
    assert 'value="道路"' in r.text  # the form keeps the query

    r = await client.get("/notices", params={"q": "不存在的词语组合"})
    assert "没有找到符合条件的公告" in r.text


async def test_filters(app, client, clock):
    world = await build_world(app, clock.at)
    tender = await published_tender(client, world, clock.at)
    title = tender["title"]
    empty_form = {"kind": "", "trade_kind": "", "region": "", "status": "", "from": "", "to": "", "q": ""}
    matching = [
        empty_form,
        {"kind": "tender"},
        {"trade_kind": "works"},
        {"region": "430700"},  # the city includes 澧县
        {"region": "430723"},
        {"status": "open"},
        {"from": "2026-03-02", "to": "2026-03-02"},  # local days: the notice was published at 09:00 that day
    ]
    for params in matching:
        r = await client.get("/notices", params=params)
        assert r.status_code == 200, (params, r.text)
        assert title in r.text, params
    missing = [
        {"kind": "procurement"},
        {"trade_kind": "land"},
        {"region": "431200"},
        {"status": "closed"},
        {"from": "2026-03-03"},
        {"to": "2026-03-01"},
    ]
    for params in missing:
        r = await client.get("/notices", params=params)
        assert r.status_code == 200, (params, r.text)
        assert title not in r.text, params


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kind": "bogus"}, "公告类型“bogus”不存在"),
        ({"trade_kind": "mining"}, "交易类型"),
        ({"region": "999999"}, "行政区划代码"),
        ({"region": "<b>x</b>"}, "行政区划代码"),
        ({"status": "maybe"}, "状态只能是"),
        ({"from": "2026-13-01"}, "起始日期格式"),
        ({"from": "2026-W10-1"}, "起始日期格式"),  # an ISO week date: no form writes one
        ({"to": "20260301"}, "截止日期格式"),
        ({"to": "yesterday"}, "截止日期格式"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "起始日期不能晚于截止日期"),
        ({"cursor": "not-a-cursor"}, "分页游标无效"),
    ],
)
async def test_bad_filters_are_a_friendly_400(client, params, message):
    r = await client.get("/notices", params=params)
    assert r.status_code == 400, r.text
    assert is_html(r)
    assert message in r.text
    assert "<b>x</b>" not in r.text
    assert 'action="/notices"' in r.text  # the form is there to correct the query


async def test_over_long_query_is_a_400_page(client):
    r = await client.get("/notices", params={"q": "长" * 300})
    assert r.status_code == 400
    assert is_html(r)
    assert "请求" in r.text


async def test_pagination_with_cursor(app, client, clock, monkeypatch):
    monkeypatch.setattr(portal, "PAGE_SIZE", 1)
    world = await build_world(app, clock.at)
    first = await published_tender(client, world, clock.at)
    clock.advance(minutes=5)
    second = await published_tender(client, world, clock.at)

    r = await client.get("/notices", params={"kind": "tender"})
    assert second["title"] in r.text and f'href="/notices/{first["id"]}"' not in r.text
    match = re.search(r'class="pager-next" rel="next" href="([^"]+)"', r.text)
    assert match, "no next-page link"
    next_url = html.unescape(match.group(1))
    assert "cursor=" in next_url and "kind=tender" in next_url and "page=" not in next_url

    r = await client.get(next_url)
    assert r.status_code == 200
    assert f'href="/notices/{first["id"]}"' in r.text
    assert "已是最后一页" in r.text
    assert "返回第一页" in r.text


async def test_notice_detail(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(
        client,
        world,
        project,
        clock.at,
        body="一、招标条件\n<script>alert('x')</script>招标人为澧县交通运输局。\n二、项目概况\n全长约5.3公里。",
    )
    r = await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    notice = r.json()

    r = await client.get(f"/notices/{notice['id']}")
    assert r.status_code == 200
    page = r.text
    assert notice["title"] in page
    # body: one paragraph per line, escaped
    assert '<h3 class="body-heading">一、招标条件</h3>' in page
    assert "<p>全长约5.3公里。</p>" in page
    assert "&lt;script&gt;" in page and "<script>alert" not in page
    # structured fields with their labels
    assert "资金来源" in page and "县级财政资金及2026年地方政府专项债券" in page
    assert "是否接受联合体投标" in page
    # timetable in Shanghai time
    assert "2026年3月22日 09:30" in page
    assert "投标截止" in page
    # version history, project, print, trade code, feeds
    assert 'id="history"' in page
    assert len(VERSION_ITEM.findall(page)) == 1
    assert f"/api/notices/{notice['id']}/versions/1/document" in page
    assert notice["versions"][0]["content_hash"] in page
    assert f'href="/projects/{project["id"]}"' in page
    assert f'href="/notices/{notice["id"]}/print"' in page
    assert project["trade_code"] in page
    assert 'href="/feeds/regions/430723.atom"' in page
    assert 'href="/feeds/kinds/tender.atom"' in page


async def test_notice_detail_caching(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    r = await client.get(f"/notices/{notice['id']}")
    etag = r.headers["etag"]
    assert "max-age" in r.headers["cache-control"]
    assert "Cookie" in r.headers["vary"]
    r = await client.get(f"/notices/{notice['id']}", headers={"If-None-Match": etag})
    assert r.status_code == 304
    # an amendment is a new version: the page changes
    await amend(client, world, notice, "资格条件调整")
    r = await client.get(f"/notices/{notice['id']}", headers={"If-None-Match": etag})
    assert r.status_code == 200
    assert r.headers["etag"] != etag


async def test_amended_notice_shows_its_history(app, client, clock):
    world = await build_world(app, clock.at)
    tender = await published_tender(client, world, clock.at)
    clock.advance(days=2)
    amendment = await amend(client, world, tender, "调整投标人资格要求")

    r = await client.get(f"/notices/{tender['id']}")
    assert r.status_code == 200
    page = r.text
    history = page[page.index('id="history"') :]
    assert len(VERSION_ITEM.findall(history)) == 2
    assert "第 2 版" in history and "第 1 版" in history
    assert "调整投标人资格要求" in history
    assert f'href="/notices/{amendment["id"]}"' in history
    for v in (1, 2):
        assert f"/api/notices/{tender['id']}/versions/{v}/document" in history
    assert "具备市政公用工程施工总承包三级及以上资质。" in page  # the changed field, as now in force
    assert "本公告已变更" in page
    assert "2026年3月4日 09:00" in page  # the amendment's time

    # the amendment's own page names its target and shows what changes
    r = await client.get(f"/notices/{amendment['id']}")
    assert r.status_code == 200
    assert "本公告针对" in r.text and f'href="/notices/{tender["id"]}"' in r.text
    assert "变更内容" in r.text and "投标人资格要求" in r.text
    assert "是否影响投标文件编制" in r.text

    # the project's timeline on both pages
    assert amendment["title"] in page


async def test_print_view(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    r = await client.get(f"/notices/{notice['id']}/print")
    assert r.status_code == 200
    assert notice["title"] in r.text
    assert "/static/print.css" in r.text
    assert 'class="mainnav"' not in r.text
    assert notice["versions"][0]["content_hash"] in r.text
    assert "http://testserver.local/notices/" in r.text


async def test_unknown_and_draft_notices_are_404_pages(app, client, clock):
    r = await client.get("/notices/987654")
    assert r.status_code == 404
    assert is_html(r)
    assert "公告不存在" in r.text
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    r = await client.get(f"/notices/{draft['id']}")
    assert r.status_code == 404
    r = await client.get(f"/notices/{draft['id']}/print")
    assert r.status_code == 404


async def test_project_page(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    project_id = notice["project_id"]
    r = await client.get(f"/projects/{project_id}")
    assert r.status_code == 200
    page = r.text
    assert "澧县2026年城区道路提质改造工程" in page
    assert notice["trade_code"] in page
    assert "澧县交通运输局" in page and "湖南澧州工程咨询有限公司" in page
    assert "¥48,650,000.00 元" in page and "4,865.00 万元" in page
    assert "财政资金" in page and "¥28,650,000.00 元" in page and "58.9%" in page
    assert "专项债券" in page and "41.1%" in page
    assert "第一标段" in page and "招标中" in page
    assert f'href="/notices/{notice["id"]}"' in page
    assert "工程建设项目公开招标" in page


async def test_draft_project_is_not_public(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    r = await client.get(f"/projects/{project['id']}")
    assert r.status_code == 404
    assert "项目不存在" in r.text


async def test_regions(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    r = await client.get("/regions")
    assert r.status_code == 200
    for name, code in (("长沙市", "430100"), ("常德市", "430700"), ("澧县", "430723"), ("吉首市", "433101")):
        assert name in r.text and f'href="/regions/{code}"' in r.text

    r = await client.get("/regions/430700")
    assert r.status_code == 200
    assert notice["title"] in r.text
    assert 'href="/feeds/regions/430700.atom"' in r.text
    assert 'type="application/atom+xml" title="常德市公告订阅" href="/feeds/regions/430700.atom"' in r.text
    assert 'href="/regions/430723"' in r.text  # its counties

    r = await client.get("/regions/431200")
    assert r.status_code == 200
    assert notice["title"] not in r.text

    r = await client.get("/regions/999999")
    assert r.status_code == 404
    assert is_html(r)


async def test_about(client):
    r = await client.get("/about")
    assert r.status_code == 200
    assert "工程建设项目公开招标" in r.text
    assert "自招标文件发出之日起至投标截止不得少于20日" in r.text
    assert "《招标投标法》第二十四条" in r.text
    assert 'href="/api/procedures"' in r.text
    assert "个工作日" in r.text


async def test_static_stylesheet(client):
    r = await client.get("/static/site.css")
    assert r.status_code == 200
    assert "text/css" in r.headers["content-type"]
    assert "http://" not in r.text and "https://" not in r.text  # nothing from the network


async def test_every_page_names_the_feed(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    for path in (
        "/",
        "/notices",
        f"/notices/{notice['id']}",
        f"/projects/{notice['project_id']}",
        "/regions",
        "/regions/430723",
        "/about",
        "/login",
        "/no-such-page",
    ):
        r = await client.get(path)
        assert r.status_code in (200, 404), path
        assert 'type="application/atom+xml"' in r.text and "/feeds/notices.atom" in r.text, path


# --- signing in ------------------------------------------------------------------------------------------


async def test_login_flow(app, client, clock):
    await build_world(app, clock.at)
    form = await client.get("/login")
    assert form.status_code == 200
    assert form.headers["cache-control"] == "no-store"
    set_cookie = form.headers["set-cookie"]
    assert (
        "trading_csrf=" in set_cookie
        and "HttpOnly" in set_cookie
        and "SameSite=lax" in set_cookie.replace("Lax", "lax")
    )
    token = csrf_in(form.text)
    assert client.cookies.get("trading_csrf") == token

    r = await client.post(
        "/login", data={"username": "bidder", "password": PASSWORD, "csrf_token": token, "next": "/about"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/about"
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("trading_session="))
    assert "HttpOnly" in session and "Path=/" in session and "samesite=lax" in session.lower()
    assert "Secure" not in session  # the tests' settings turn it off for plain HTTP

    r = await client.get("/account")
    assert r.status_code == 200
    assert "张伟" in r.text and "投标人" in r.text and "湖南湘北路桥建设有限公司" in r.text
    # the header shows who is signed in on every page, and the logout form
    r = await client.get("/")
    assert "张伟" in r.text and 'action="/logout"' in r.text
    assert "private" in r.headers["cache-control"]


async def test_login_with_secure_cookie(app, clock, monkeypatch):
    await build_world(app, clock.at)
    monkeypatch.setattr(app.state, "settings", msgspec.structs.replace(app.state.settings, cookie_secure=True))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver.local") as client:
        form = await client.get("/login")
        assert "Secure" in form.headers["set-cookie"]
        r = await client.post(
            "/login", data={"username": "bidder", "password": PASSWORD, "csrf_token": csrf_in(form.text)}
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/account"
        session = next(c for c in r.headers.get_list("set-cookie") if c.startswith("trading_session="))
        assert "Secure" in session
        assert (await client.get("/account")).status_code == 200


async def test_wrong_password(app, client, clock):
    await build_world(app, clock.at)
    form = await client.get("/login")
    r = await client.post(
        "/login", data={"username": "bidder", "password": "wrong-password", "csrf_token": csrf_in(form.text)}
    )
    assert r.status_code == 401
    assert is_html(r)
    assert "用户名或密码错误" in r.text and "Wrong username or password" in r.text
    assert 'value="bidder"' in r.text  # the form again, the username kept
    assert "trading_session" not in client.cookies
    assert (await client.get("/account")).status_code == 401


async def test_login_rate_limited(app, client, clock):
    await build_world(app, clock.at)
    form = await client.get("/login")
    token = csrf_in(form.text)
    statuses = []
    for _ in range(app.state.settings.login_max_failures + 1):
        r = await client.post("/login", data={"username": "bidder", "password": "nope", "csrf_token": token})
        statuses.append(r.status_code)
    assert statuses[-1] == 429
    assert "登录失败次数过多" in r.text
    # even the right password is refused now
    r = await client.post("/login", data={"username": "bidder", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429


@pytest.mark.parametrize("variant", ["missing", "wrong", "no_cookie"])
async def test_login_without_csrf_is_refused(app, client, clock, variant):
    await build_world(app, clock.at)
    form = await client.get("/login")
    data = {"username": "bidder", "password": PASSWORD}
    if variant == "wrong":
        data["csrf_token"] = "x" * 43
    else:
        data["csrf_token"] = csrf_in(form.text)
    if variant == "missing":
        del data["csrf_token"]
    if variant == "no_cookie":
        client.cookies.clear()
    r = await client.post("/login", data=data)
    assert r.status_code == 403
    assert is_html(r)
    assert "表单校验失败" in r.text
    assert "trading_session" not in client.cookies


async def test_login_next_stays_on_this_site(app, client, clock):
    await build_world(app, clock.at)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client.cookies.clear()
        form = await client.get("/login")
        r = await client.post(
            "/login",
            data={"username": "bidder", "password": PASSWORD, "csrf_token": csrf_in(form.text), "next": target},
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/account", target


async def test_logout(app, client, clock):
    await build_world(app, clock.at)
    csrf = await sign_in(client, "bidder")
    r = await client.post("/logout", data={})
    assert r.status_code == 403
    assert (await client.get("/account")).status_code == 200  # still signed in
    r = await client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    assert (await client.get("/account")).status_code == 401


async def test_account_requires_sign_in(client):
    r = await client.get("/account")
    assert r.status_code == 401
    assert is_html(r)
    assert 'href="/login?next=' in r.text


async def test_account_tokens(app, client, clock):
    await build_world(app, clock.at)
    csrf = await sign_in(client, "bidder")

    r = await client.post("/account/tokens", data={"label": "投标客户端"})
    assert r.status_code == 403
    r = await client.post("/account/tokens", data={"label": "投标客户端", "csrf_token": "wrong"})
    assert r.status_code == 403

    r = await client.post("/account/tokens", data={"label": "投标客户端", "csrf_token": csrf})
    assert r.status_code == 201
    assert r.headers["cache-control"] == "no-store"
    match = re.search(r'<code class="token" id="new-token">([^<]+)</code>', r.text)
    assert match
    token = match.group(1)
    assert token.startswith("tp_")
    assert "只显示这一次" in r.text

    me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "bidder"

    account = await client.get("/account")
    assert token not in account.text  # shown once only
    assert "投标客户端" in account.text and token[:10] in account.text
    # the factory's token and the new one; only the new one was refused a duplicate above
    assert account.text.count('action="/account/tokens/') == 2

    token_id = next(
        t["id"]
        for t in (await client.get("/api/tokens", headers={"Authorization": f"Bearer {token}"})).json()
        if t["label"] == "投标客户端"
    )
    r = await client.post(f"/account/tokens/{token_id}/revoke", data={})
    assert r.status_code == 403
    r = await client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert r.status_code == 303
    r = await client.get(r.headers["location"])
    assert "令牌已吊销" in r.text
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401

    r = await client.post("/account/tokens", data={"label": "  ", "csrf_token": csrf})
    assert r.status_code == 400
    assert "请为令牌填写用途说明" in r.text


async def test_cannot_revoke_someone_elses_token(app, client, clock):
    world = await build_world(app, clock.at)
    csrf = await sign_in(client, "bidder")
    others = await client.get("/api/tokens", headers=world.headers("staff"))
    staff_token_id = others.json()[0]["id"]
    r = await client.post(f"/account/tokens/{staff_token_id}/revoke", data={"csrf_token": csrf})
    assert r.status_code == 404
    assert (await client.get("/api/me", headers=world.headers("staff"))).status_code == 200


# --- the audit page ---------------------------------------------------------------------------------------


async def test_audit_page_public_gets_401(client):
    r = await client.get("/audit")
    assert r.status_code == 401
    assert is_html(r)
    assert "请先登录" in r.text
    assert 'href="/login?next=' in r.text


async def test_audit_page_refused_for_bidder(app, client, clock):
    await build_world(app, clock.at)
    await sign_in(client, "bidder")
    r = await client.get("/audit")
    assert r.status_code == 403
    assert is_html(r)
    assert "监督人员" in r.text


async def test_audit_page_for_supervisor(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    await sign_in(client, "supervisor")
    r = await client.get("/audit")
    assert r.status_code == 200
    assert "审计日志" in r.text
    assert "发布公告" in r.text and "notice.publish" in r.text
    assert f'href="/notices/{notice["id"]}"' in r.text
    assert "王晓明" in r.text
    r = await client.get("/audit", params={"subject_type": "notice", "subject_id": str(notice["id"])})
    assert r.status_code == 200
    assert "notice.publish" in r.text and "project.create" not in r.text
    r = await client.get("/audit", params={"cursor": "garbage"})
    assert r.status_code == 400


async def test_pages_stay_out_of_the_api_schema(client):
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/notices" in paths
    portal_paths = {"/", "/notices", "/notices/{notice_id}", "/projects/{project_id}", "/regions", "/about"}
    assert not portal_paths & set(paths)
    assert not [p for p in paths if p.startswith(("/login", "/logout", "/account", "/audit"))]


async def test_every_response_carries_the_security_headers_and_pages_run_no_inline_script(app, client, clock):
    import re

    await build_world(app, clock.at)
    for url in ("/", "/notices", "/funds", "/login", "/log", "/regions", "/no-such-page", "/schema/swagger"):
        r = await client.get(url)
        assert r.headers["content-type"].startswith("text/html"), url
        policy = r.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy, url
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"], url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), f"inline script on {url}"
        assert not re.search(r"\sstyle=\"", r.text), f"inline style on {url}"
        assert not re.search(r"https?://(?!127\.0\.0\.1|testserver)[^\"']*\.(js|css)", r.text), (
            f"off-site asset on {url}"
        )
    for url in ("/api/notices", "/log/key", "/api/funds/summary.csv", "/static/site.css"):
        r = await client.get(url)
        assert r.headers["content-security-policy"].startswith("default-src 'none'"), url
        assert r.headers["x-content-type-options"] == "nosniff", url


async def test_the_api_explorer_is_served_by_the_platform_itself(client):
    import re

    page = await client.get("/schema/swagger")
    assert page.status_code == 200 and re.search(r'data-spec="[^"]*/schema/openapi.json"', page.text), page.text
    for asset in (
        "/api-explorer/assets/swagger-ui-bundle.js",
        "/api-explorer/assets/swagger-ui.css",
        "/static/js/api-explorer.js",
    ):
        assert asset in page.text
        r = await client.get(asset)
        assert r.status_code == 200 and len(r.content) > 100, asset


async def test_no_english_link_to_a_chinese_page_and_the_funds_filters_use_the_portal_styles(client):
    home = (await client.get("/")).text
    assert 'lang="en">English</a>' not in home  # there is no English rendering to link to
    funds = (await client.get("/funds")).text
    assert '<label class="field"><span>年份</span><select name="year">' in funds
    assert '<label class="field"><span>地区</span><select name="region">' in funds
    assert '<button type="submit" class="btn btn-primary">' in funds
