"""The opening hall in a real browser, live: while the page stays open, each opener's upload is marked, and when
the bids open the state and the results appear in place — without the page reloading (a thousand viewers reloading
at that moment would each cost the server a page).

The section, its three bids and the started opening are made in this process on a SQLite file; the app then
serves it under uvicorn (as in production) on a fixed clock, and the openers upload over HTTP.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests.bidding.harness import Section, make_bidder, open_as, open_section, seal, start_opening, submit
from tests.browser.test_public_journey import CHROMIUM, CHROMIUM_ARGS, require_chromium, serving
from tests.conftest import DEFAULT_NOW
from tests.factories import PASSWORD, build_world
from tests.inprocess import in_process, sqlite_settings
from tests.processes import free_port
from trading.clock import FixedClock
from trading.settings import Settings

pytestmark = pytest.mark.browser

PRICES = (4_512_345_600, 4_498_000_000, 4_630_120_000)


def _served_settings(tmp_path: Path) -> Settings:
    """The settings of an app made on a SQLite file under *tmp_path*, to be served on a free port."""
    return sqlite_settings(
        tmp_path,
        base_url=f"http://127.0.0.1:{free_port()}",
        token_lifetimes="admin=3650,opener=3650,evaluator=3650,supervisor=3650,staff=3650,bidder=3650",
    )


async def _waiting_opening(settings: Settings, tmp: Path) -> tuple[Section, Any]:
    clock = FixedClock(DEFAULT_NOW)
    async with in_process(settings, clock) as (app, client):
        world = await build_world(app, clock.at)
        section = await open_section(app, client, world, clock.at)
        for i, price in enumerate(PRICES):
            bidder = await make_bidder(app, client, clock.at, i + 1)
            r = await submit(client, bidder, section, seal(section, bidder, tmp, price=price))
            assert r.status_code == 201, r.text
        clock.set(section.deadline + timedelta(minutes=1))
        assert (await start_opening(client, world, section)).json()["state"] == "waiting"
    return section, clock.at


def _run(coroutine: Awaitable[Any]) -> Any:
    with ThreadPoolExecutor(max_workers=1) as pool:  # (Playwright's sync API holds this thread's event loop)
        return pool.submit(asyncio.run, coroutine).result()  # type: ignore[arg-type]


async def _upload(url: str, section: Section, position: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        r = await open_as(client, section.openers[position - 1], section)
        assert r.status_code in (200, 202), r.text  # 202: the upload that completes the committee


@contextmanager
def _hall(tmp_path: Path) -> Iterator[tuple[Any, str, Section, Settings, datetime]]:
    """A viewer on the opening hall of a section whose opening waits for the openers, served under uvicorn on a
    fixed clock: (the browser page, the served URL, the section, the served settings, the served clock's time)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    settings = _served_settings(tmp_path)
    section, now = _run(_waiting_opening(settings, tmp_path))
    served_now = now + timedelta(minutes=1)
    settings = msgspec.structs.replace(settings, clock=served_now.isoformat())
    with serving(settings, tmp_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="zh-CN")
            page.goto(f"{url}/sections/{section.id}/opening")
            yield page, url, section, settings, served_now
        finally:
            browser.close()


def test_the_hall_follows_the_ceremony_in_place(tmp_path: Path) -> None:
    with _hall(tmp_path) as (page, url, section, _settings, _now):
        from playwright.sync_api import expect

        expect(page.locator("#opening-state")).to_have_text("等待开标人上传密钥分片")
        page.evaluate("window.stayed = true")  # gone if the page reloads
        page.wait_for_timeout(500)  # the stream is open
        _run(_upload(url, section, 2))
        expect(page.locator('#committee tr[data-position="2"] .share-state')).to_have_text("已上传")
        expect(page.locator('#committee tr[data-position="1"] .share-state')).to_have_text("未上传")
        _run(_upload(url, section, 1))
        _run(_upload(url, section, 3))  # all three in: the bids open
        expect(page.locator("#opening-state")).to_have_text("已开标")
        results = page.locator("#results table tbody tr")
        expect(results).to_have_count(3)
        expect(page.locator("#results")).to_contain_text("¥45,123,456.00 元")
        expect(page.locator("#results")).to_contain_text("已解密")
        expect(page.locator("#results a")).to_have_attribute("href", re.compile(r"^/notices/\d+$"))
        assert page.evaluate("window.stayed === true"), "the page reloaded"
        # What was drawn in place is what the server draws on a fresh load.
        live = page.locator("#results table").inner_text()
        page.reload()
        assert page.locator("#results table").inner_text() == live


async def _hold_the_job(settings: Settings, section: Section, now: Any, *, held: bool, opened: int) -> None:
    """As another worker running the opening would: the opening due and its lease held (*held*), *opened* of the
    three bids done — or the lease lapsed, for this app's worker to take the job over."""
    from sqlalchemy import update

    from bidding.models import Opening

    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(Opening)
                .where(Opening.section_id == section.id)
                .values(
                    state="opening",
                    due_at=now,
                    bids_total=3,
                    bids_opened=opened,
                    lease_owner="another-worker",
                    lease_until=now + (timedelta(hours=1) if held else -timedelta(seconds=1)),
                )
            )
    finally:
        await engine.dispose()


def test_a_viewer_who_came_before_the_bids_opened_sees_the_progress_bar(tmp_path: Path) -> None:
    """The progress bar is drawn in place when the bids begin to open (the page was loaded while the hall waited
    for the openers), and its figures follow the job; then the results replace it."""
    with _hall(tmp_path) as (page, url, section, settings, served_now):
        from playwright.sync_api import expect

        expect(page.locator("#opening-state")).to_have_text("等待开标人上传密钥分片")
        expect(page.locator("#progress-bar")).to_have_count(0)
        page.evaluate("window.stayed = true")  # gone if the page reloads
        page.wait_for_timeout(500)  # the stream is open
        _run(_upload(url, section, 1))
        _run(_upload(url, section, 2))  # k = 2 are in
        # Another worker takes the job and has opened one bid of three.
        _run(_hold_the_job(settings, section, served_now, held=True, opened=1))
        expect(page.locator("#opening-state")).to_have_text("正在解密")
        bar = page.locator("#progress-bar")
        expect(bar).to_have_attribute("max", "3")
        expect(page.locator("#progress-opened")).to_have_text("1")
        assert bar.evaluate("b => b.value") == 1
        expect(page.locator("#results-waiting")).to_have_count(0)
        _run(_hold_the_job(settings, section, served_now, held=True, opened=2))
        expect(page.locator("#progress-opened")).to_have_text("2")
        assert page.locator("#progress-bar").evaluate("b => b.value") == 2
        # Its lease lapses: this app's worker takes the job over and publishes the record.
        _run(_hold_the_job(settings, section, served_now, held=False, opened=0))
        expect(page.locator("#opening-state")).to_have_text("已开标", timeout=15_000)
        expect(page.locator("#results table tbody tr")).to_have_count(3)
        expect(page.locator("#progress-bar")).to_have_count(0)
        assert page.evaluate("window.stayed === true"), "the page reloaded"


async def _disputed_opening(settings: Settings, tmp: Path) -> tuple[Section, int, Any]:
    """A section opened with one bid disputed by an opener, made in this process: (the section, the disputed bid's
    id, the clock's time)."""
    from tests.bidding.test_rulings import _disputed

    clock = FixedClock(DEFAULT_NOW)
    async with in_process(settings, clock) as (app, client):
        _world, section, _bidders, _record, bid_id = await _disputed(app, client, clock, tmp)
    return section, bid_id, clock.at


def test_the_hall_shows_a_ruling_on_a_disputed_bid_in_place(tmp_path: Path) -> None:
    """A viewer on the hall of an opening that left a bid disputed sees the supervisors' ruling appear in the
    results when it is given, without reloading; what is drawn is what a fresh load draws. The supervisor rules
    from the same hall, signed in: the ruling form the server drew survives the page's live redrawing."""
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    settings = _served_settings(tmp_path)
    section, bid_id, now = _run(_disputed_opening(settings, tmp_path))
    settings = msgspec.structs.replace(settings, clock=(now + timedelta(minutes=1)).isoformat())
    with serving(settings, tmp_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="zh-CN")
            page.goto(f"{url}/sections/{section.id}/opening")
            expect(page.locator("#opening-state")).to_have_text("已开标")
            expect(page.locator("#results")).to_contain_text("待监督人员裁定")
            page.evaluate("window.stayed = true")  # gone if the page reloads
            page.wait_for_timeout(500)  # the stream is open

            # The centre's supervisor, signed in, finds the ruling form in the hall — still there once the page's
            # script has drawn the results again from the stream — and rules with it.
            ruler = browser.new_page(locale="zh-CN")
            ruler.goto(f"{url}/login")
            ruler.fill('input[name="username"]', "supervisor")
            ruler.fill('input[name="password"]', PASSWORD)
            ruler.click('form[action="/login"] button[type="submit"]')
            ruler.wait_for_url(lambda address: "/login" not in address)
            ruler.goto(f"{url}/sections/{section.id}/opening")
            ruler.fill("form.ruling-form textarea[name=reason]", "非投标人原因，视为撤回。")
            ruler.wait_for_timeout(500)  # the stream's first status drawn
            form = ruler.locator(f"#bid-{bid_id} form.ruling-form")
            expect(form).to_have_count(1)
            assert form.locator("textarea").input_value() == "非投标人原因，视为撤回。"  # what was typed is kept
            form.locator('input[value="withdrawn"]').check()
            form.locator('button[type="submit"]').click()
            expect(ruler.locator(f"#bid-{bid_id}")).to_contain_text("监督人员已裁定：视为撤回投标")

            expect(page.locator("#results")).to_contain_text("监督人员已裁定：视为撤回投标")
            expect(page.locator("#results")).not_to_contain_text("待监督人员裁定")
            assert page.evaluate("window.stayed === true"), "the page reloaded"
            live = page.locator("#results table").inner_text()
            page.reload()
            assert page.locator("#results table").inner_text() == live
        finally:
            browser.close()
