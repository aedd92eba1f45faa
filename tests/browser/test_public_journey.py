"""A member of the public in a real browser: home → search → a notice and its history → the Atom feed.

The app runs as it does in production — ``uvicorn --factory trading.asgi:app_factory`` in its own process —
on a temporary SQLite database migrated and filled beforehand through the staff API. Headless Chromium is
driven with Playwright. Screenshots of the home and notice pages are left in /tmp for a human to look at.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests.factories import (
    TENDER_FIELDS,
    World,
    build_world,
    create_project,
    draft_tender,
    local,
)
from tests.processes import free_port
from trading.app import create_app
from trading.clock import FixedClock
from trading.migrate import upgrade
from trading.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: The server's fixed clock: Monday 2 March 2026, 10:00 in Changsha.
SERVER_NOW = local(2026, 3, 2, 10, 0)
ROAD_TITLE = "澧县2026年城区道路提质改造工程施工招标公告"
ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass
class Seeded:
    road_id: int
    amendment_id: int
    titles: dict[str, str]


def _settings(tmp: Path, port: int) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'trading.db'}",
        blob_dir=str(tmp / "blobs"),
        signing_key_path=str(tmp / "platform-signing-key.pem"),
        cookie_secure=False,
        password_memory_cost=1024,
        password_iterations=1,
        base_url=f"http://127.0.0.1:{port}",
        clock=SERVER_NOW.isoformat(),
    )


async def _publish(client: httpx.AsyncClient, world: World, notice_id: int) -> dict[str, Any]:
    r = await client.post(f"/api/staff/notices/{notice_id}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    return r.json()


async def _draft(client: httpx.AsyncClient, world: World, payload: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/api/staff/notices", json=payload, headers=world.headers("staff"))
    assert r.status_code == 201, r.text
    return r.json()


async def _seed(settings: Settings) -> Seeded:
    """Migrate the database and publish a small, realistic set of notices through the staff API."""
    engine = create_async_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    clock = FixedClock(local(2026, 2, 20, 9, 0))
    app = create_app(settings, clock=clock)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    titles: dict[str, str] = {}
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
        world = await build_world(app, clock.at)

        # 1. the road tender, amended a few days later
        clock.set(local(2026, 2, 24, 9, 0))
        road_project = await create_project(client, world)
        road = await _publish(client, world, (await draft_tender(client, world, road_project, clock.at))["id"])
        titles["road"] = road["title"]

        # 2. a bridge in another district
        clock.set(local(2026, 2, 25, 10, 30))
        bridge_project = await create_project(
            client,
            world,
            name="常德市武陵区2026年穿紫河桥梁维修加固工程",
            region_code="430702",
            description="对穿紫河上3座桥梁进行维修加固，含桥面铺装、伸缩缝及护栏更换。",
            budget_fen=1_268_000_000,
            control_price_fen=1_200_000_000,
            funding_sources=[{"kind": "fiscal", "amount_fen": 1_268_000_000, "description": "区级财政资金"}],
        )
        bridge = await draft_tender(
            client,
            world,
            bridge_project,
            clock.at,
            days=21,
            body="一、招标条件\n本项目已批准建设，资金来自区级财政，已落实。\n二、招标范围\n3座桥梁的维修加固，计划工期150日历天。",
        )
        titles["bridge"] = (await _publish(client, world, bridge["id"]))["title"]

        # 3. a land-use rights listing
        clock.set(local(2026, 2, 26, 15, 0))
        land_project = await create_project(
            client,
            world,
            name="澧县澧阳街道2026-04号地块国有建设用地使用权挂牌出让",
            trade_kind="land",
            procedure="land_listing",
            tenderer_id=world.transferor_id,
            agent_id=None,
            description="澧阳街道城东片区住宅用地一宗。",
            budget_fen=None,
            control_price_fen=None,
            funding_sources=[],
            sections=[{"code": "2026-04", "name": "澧阳街道2026-04号地块"}],
        )
        land = await _draft(
            client,
            world,
            {
                "project_id": land_project["id"],
                "kind": "land_transfer",
                "title": "澧县国有建设用地使用权挂牌出让公告（澧自然资告字〔2026〕4号）",
                "body": "经澧县人民政府批准，澧县自然资源局决定以挂牌方式出让一宗国有建设用地使用权。\n"
                "竞买人应在挂牌期内通过本平台报价，报价以增价方式进行。",
                "fields": {
                    "parcel_no": "澧县2026-04",
                    "location": "澧阳街道城东片区，东临澧州大道",
                    "area_m2": 28456.7,
                    "land_use": "城镇住宅用地",
                    "plot_ratio_min": 1.0,
                    "plot_ratio_max": 2.5,
                    "tenure_years": 70,
                    "starting_price_fen": 6_830_000_000,
                    "increment_fen": 10_000_000,
                    "deposit_fen": 1_366_000_000,
                    "reserve_price_set": True,
                    "bidder_requirements": "中华人民共和国境内外的法人和其他组织均可申请参加竞买，不接受联合竞买。",
                    "transferor_contact": "澧县自然资源局 周女士 0736-3226688",
                },
                "timetable": {
                    "listing_start": local(2026, 3, 20, 9, 0).isoformat(),
                    "listing_end": local(2026, 4, 10, 15, 0).isoformat(),
                },
            },
        )
        titles["land"] = (await _publish(client, world, land["id"]))["title"]

        # 4. a government procurement open tender
        clock.set(local(2026, 2, 26, 9, 30))
        goods_project = await create_project(
            client,
            world,
            name="常德市鼎城区2026年中小学教学设备采购项目",
            trade_kind="procurement",
            procedure="gp_open_tender",
            region_code="430703",
            description="为全区32所中小学采购交互式智能黑板、学生课桌椅等教学设备。",
            budget_fen=386_500_000,
            control_price_fen=380_000_000,
            funding_sources=[
                {"kind": "fiscal", "amount_fen": 286_500_000, "description": "区级教育专项资金"},
                {"kind": "other", "amount_fen": 100_000_000, "description": "省级转移支付"},
            ],
            sections=[{"code": "01", "name": "交互式智能黑板", "estimated_price_fen": 386_500_000}],
        )
        opened = clock.at
        deadline = local(2026, 3, 19, 9, 30)
        goods = await _draft(
            client,
            world,
            {
                "project_id": goods_project["id"],
                "kind": "procurement",
                "title": "常德市鼎城区2026年中小学教学设备采购项目公开招标公告",
                "body": "项目概况\n常德市鼎城区2026年中小学教学设备采购项目的潜在供应商应在本平台获取招标文件，"
                "并于截止时间前递交投标文件。\n一、项目基本情况\n采购需求：交互式智能黑板420套及配套安装。",
                "fields": {
                    **TENDER_FIELDS,
                    "project_overview": "交互式智能黑板420套，含运输、安装、调试及培训。",
                    "funding_source": "区级教育专项资金及省级转移支付。",
                    "tenderer_contact": "常德市鼎城区教育局 王先生 0736-7388123",
                    "budget_fen": 386_500_000,
                    "ceiling_price_fen": 380_000_000,
                    "requirements": "详见招标文件第三章《采购需求》。",
                    "document_price_fen": 0,
                    "opening_place": "常德市公共资源交易中心（线上开标）",
                },
                "timetable": {
                    "documents_issued": opened.isoformat(),
                    "documents_sale_start": opened.isoformat(),
                    "documents_sale_end": local(2026, 3, 9, 17, 0).isoformat(),
                    "notice_period_end": local(2026, 3, 9, 17, 0).isoformat(),
                    "bid_deadline": deadline.isoformat(),
                    "opening": deadline.isoformat(),
                },
            },
        )
        titles["goods"] = (await _publish(client, world, goods["id"]))["title"]

        # the amendment to the road tender (does not affect how bids are prepared)
        clock.set(local(2026, 2, 27, 16, 0))
        amendment = await _draft(
            client,
            world,
            {
                "project_id": road["project_id"],
                "kind": "amendment",
                "title": f"{road['title']}变更公告（第1号）",
                "body": "现对本项目招标公告中的投标人资格要求作如下变更，其他内容不变。",
                "target_notice_id": road["id"],
                "fields": {
                    "affects_bids": False,
                    "reason": "放宽投标人资质等级要求",
                    "changes": {
                        "fields": {
                            "qualification": "具备市政公用工程施工总承包三级及以上资质，项目经理具备市政公用工程二级注册建造师。"
                        }
                    },
                },
            },
        )
        amendment = await _publish(client, world, amendment["id"])
        titles["amendment"] = amendment["title"]
    await app.state.engine.dispose()
    return Seeded(road_id=road["id"], amendment_id=amendment["id"], titles=titles)


def _environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_")}
    env.update(
        {
            "TRADING_DATABASE_URL": settings.database_url,
            "TRADING_BLOB_DIR": settings.blob_dir,
            "TRADING_SIGNING_KEY_PATH": settings.signing_key_path,
            "TRADING_COOKIE_SECURE": "false",
            "TRADING_PASSWORD_MEMORY_COST": str(settings.password_memory_cost),
            "TRADING_PASSWORD_ITERATIONS": str(settings.password_iterations),
            "TRADING_BASE_URL": settings.base_url,
            "TRADING_CLOCK": settings.clock,
        }
    )
    return env


@dataclass
class Server:
    base_url: str
    seeded: Seeded


def require_chromium() -> None:
    """Skip without Chromium on a developer's machine; fail in CI, where the browser journeys must run."""
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM}: the browser journey needs it"
        if os.environ.get("TRADING_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (CI: TRADING_TEST_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)


@contextmanager
def serving(settings: Settings, tmp: Path) -> Iterator[str]:
    """The app under uvicorn in a subprocess (as in production) on *settings*; yields its base URL."""
    port = settings.base_url.rsplit(":", 1)[1]
    log = (tmp / "uvicorn.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "trading.asgi:app_factory",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--no-access-log",
        ],
        env=_environment(settings),
        cwd=Path(__file__).resolve().parents[2],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"uvicorn exited with {process.returncode}: {(tmp / 'uvicorn.log').read_text()}")
            try:
                if httpx.get(f"{settings.base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("uvicorn did not answer within 30 seconds")
            time.sleep(0.1)
        yield settings.base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app under uvicorn in a subprocess, on a free port, over a seeded SQLite database."""
    require_chromium()
    tmp = tmp_path_factory.mktemp("browser")
    settings = _settings(tmp, free_port())
    # Seed in a thread of its own, so its event loop never meets the test session's.
    with ThreadPoolExecutor(max_workers=1) as pool:
        seeded = pool.submit(asyncio.run, _seed(settings)).result()
    with serving(settings, tmp) as base_url:
        yield Server(base_url=base_url, seeded=seeded)


@pytest.mark.browser
def test_public_journey(server: Server) -> None:
    from playwright.sync_api import sync_playwright

    base = server.base_url
    seeded = server.seeded
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # JavaScript off: the portal must work without it.
            context = browser.new_context(
                viewport={"width": 1366, "height": 900}, locale="zh-CN", java_script_enabled=False
            )
            page = context.new_page()

            page.goto(base + "/")
            assert "湖南省公共资源交易平台" in page.title()
            assert page.locator(".mainnav").get_by_role("link", name="交易公告").is_visible()
            assert page.get_by_text(seeded.titles["land"]).first.is_visible()
            page.screenshot(path="/tmp/portal-home.png", full_page=True)

            # search from the box on the home page
            page.locator(".search-form input[name=q]").fill("道路")
            page.locator(".search-form button[type=submit]").click()
            page.wait_for_url("**/notices?*")
            assert "q=%E9%81%93%E8%B7%AF" in page.url
            results = page.locator("table.notice-list a.notice-link")
            titles = results.all_inner_texts()
            assert ROAD_TITLE in titles
            assert seeded.titles["bridge"] not in titles
            assert seeded.titles["land"] not in titles

            # open the notice from the results
            page.get_by_role("link", name=ROAD_TITLE, exact=True).click()
            page.wait_for_url(f"**/notices/{seeded.road_id}")
            assert page.locator("h1").inner_text() == ROAD_TITLE
            history = page.locator("#history")
            assert history.is_visible()
            assert history.locator(".version").count() == 2
            assert "放宽投标人资质等级要求" in history.inner_text()
            assert history.get_by_role("link", name=seeded.titles["amendment"]).count() == 1
            assert "三级及以上资质" in page.locator("table.fields").inner_text()
            assert "2026年3月16日 09:30" in page.locator("table.timetable").inner_text()
            page.screenshot(path="/tmp/portal-notice.png", full_page=True)

            # the version document the history links to is the exact published bytes
            doc_href = (
                history.locator(".version")
                .last.get_by_role("link", name="下载第 1 版原文（JSON）")
                .get_attribute("href")
            )
            document = page.request.get(base + doc_href)
            assert document.ok
            assert document.headers["x-content-sha256"] in history.inner_text()

            # follow the Atom link named in the page's head
            feed_href = page.locator('head link[rel=alternate][type="application/atom+xml"]').first.get_attribute(
                "href"
            )
            assert feed_href == "/feeds/notices.atom"
            feed = page.request.get(base + feed_href)
            assert feed.ok
            assert feed.headers["content-type"].startswith("application/atom+xml")
            root = ET.fromstring(feed.body())
            assert root.tag == f"{ATOM}feed"
            entries = {
                e.findtext(f"{ATOM}title"): e.find(f"{ATOM}link[@rel='alternate']").get("href")
                for e in root.findall(f"{ATOM}entry")
            }
            assert entries[ROAD_TITLE] == f"{base}/notices/{seeded.road_id}"

            # and the print view is reachable from the notice
            page.get_by_role("link", name="打印").click()
            page.wait_for_url(f"**/notices/{seeded.road_id}/print")
            assert page.locator(".version").count() == 2
            page.screenshot(path="/tmp/portal-print.png", full_page=True)
        finally:
            browser.close()


@pytest.mark.browser
def test_pages_and_the_api_explorer_run_under_the_content_security_policy(server: Server) -> None:
    """With JavaScript on, nothing the pages load or run is refused by their Content-Security-Policy, and the
    API explorer (Swagger UI, served by the platform itself) renders the API."""
    from playwright.sync_api import sync_playwright

    base = server.base_url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN").new_page()
            refused: list[str] = []
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            page.on("requestfailed", lambda r: refused.append(f"failed: {r.url}"))
            offsite: list[str] = []
            page.on("request", lambda r: offsite.append(r.url) if not r.url.startswith(base) else None)
            for path in ("/", f"/notices/{server.seeded.road_id}", "/funds", "/log", "/login"):
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
            page.goto(base + "/schema/swagger")
            page.locator(".swagger-ui .info .title").wait_for(timeout=15_000)
            assert "湖南省公共资源交易平台 API" in page.locator(".swagger-ui .info .title").inner_text()
            assert page.locator(".swagger-ui .opblock").count() > 50
            page.screenshot(path="/tmp/api-explorer.png")
            assert refused == [] and offsite == [], (refused, offsite)
        finally:
            browser.close()
