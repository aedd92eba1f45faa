"""Record pages in a real browser, JavaScript off: every kind of notice the demo publishes (and each one's print
view), the log page and the funds pages fit a desktop (1366 px) and a phone (390 px) without sideways scrolling
of the page — long hashes wrap, wide tables scroll inside their own wrapper. Screenshots of the record pages are
left in /tmp for a human to look at."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.test_public_journey import CHROMIUM, CHROMIUM_ARGS

WIDTHS = (1366, 390)
KINDS = (
    "opening_record",
    "result",
    "tender",
    "procurement",
    "land_transfer",
    "property_transfer",
    "amendment",
    "termination",
    "candidate_publicity",
    "objection_reply",
    "contract",
    "tender_plan",
    "prequalification",
    "prequalification_result",
)
OTHER_PAGES = ("/", "/notices", "/log", "/funds", "/regions", "/about")


def _first(demo_url: str, kind: str) -> int:
    items = httpx.get(f"{demo_url}/api/notices", params={"kind": kind, "limit": 1}, timeout=10).json()["items"]
    assert items, f"the demo has no {kind} notice"
    return int(items[0]["id"])


@pytest.mark.browser
def test_record_pages_fit_a_desktop_and_a_phone(demo_url: str) -> None:
    from playwright.sync_api import sync_playwright

    pages = {kind: _first(demo_url, kind) for kind in KINDS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width in WIDTHS:
                context = browser.new_context(
                    viewport={"width": width, "height": 900}, locale="zh-CN", java_script_enabled=False
                )
                page = context.new_page()
                for kind, notice_id in pages.items():
                    page.goto(f"{demo_url}/notices/{notice_id}")
                    overflow = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
                    assert overflow[0] <= overflow[1], (kind, width, overflow)
                    if kind == "opening_record":
                        headings = page.locator("table.bids thead th").all_inner_texts()
                        assert "投标人" in headings and "解密结果" in headings
                        assert page.locator("#verify").get_by_role("link", name="第 1 版原文（JSON）").count() == 1
                    if kind in ("opening_record", "result", "tender"):
                        page.screenshot(path=f"/tmp/portal-{kind}-{width}.png", full_page=True)
                    page.goto(f"{demo_url}/notices/{notice_id}/print")
                    overflow = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
                    assert overflow[0] <= overflow[1], (f"{kind} print view", width, overflow)
                for path in OTHER_PAGES:
                    page.goto(demo_url + path)
                    overflow = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
                    assert overflow[0] <= overflow[1], (path, width, overflow)
                context.close()
        finally:
            browser.close()
