"""The public in a real browser, JavaScript off: from the home page to a road project's award notice, on to
the project and its fund usage page with the payments chart, and to the province's fund totals.

The app runs under uvicorn in its own process over the demo's SQLite database (seeded beforehand for a
fixed day); headless Chromium is driven with Playwright. Screenshots are left in /tmp for a human to look at.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.browser.test_public_journey import CHROMIUM, CHROMIUM_ARGS


@pytest.mark.browser
def test_from_the_home_page_to_an_award_and_the_projects_fund_usage(demo_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1366, "height": 900}, locale="zh-CN", java_script_enabled=False
            )
            page = context.new_page()
            page.goto(demo_url + "/")
            page.locator(".mainnav").get_by_role("link", name="结果公示").click()
            page.wait_for_url("**/notices?kind=result*")
            # Search the results for the road project the demo takes through the platform's own evaluation
            # (德山大道东延线, under contract with payments), and open its award notice.
            page.goto(demo_url + "/notices?kind=result&q=" + quote("德山大道东延线"))
            links = page.locator("table.notice-list a.notice-link")
            assert links.count() > 0
            title = links.first.inner_text()
            links.first.click()
            page.wait_for_url("**/notices/*")
            assert page.locator("h1").inner_text() == title
            page.screenshot(path="/tmp/portal-award.png", full_page=True)

            page.get_by_role("link", name="项目主页").first.click()
            page.wait_for_url("**/projects/*")
            page.get_by_role("link", name="资金使用情况：支付进度、明细与图表 »").click()
            page.wait_for_url("**/projects/*/funds")
            assert "资金概况" in page.content() and "支付明细" in page.content()
            chart = page.locator("figure.chart-figure img")
            assert chart.get_attribute("alt").startswith("累计")
            assert chart.evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG was drawn
            assert page.locator("table.payments tbody tr").count() > 0
            page.screenshot(path="/tmp/portal-project-funds.png", full_page=True)

            page.locator(".mainnav").get_by_role("link", name="资金使用").click()
            page.wait_for_url("**/funds")
            images = page.locator("figure.chart-figure img")
            # by trade kind (project funds), what land and property brought in, by source of funds
            assert images.count() == 3
            assert images.nth(1).get_attribute("alt").startswith("按交易类型的已收缴金额")
            for i in range(3):
                assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
            page.screenshot(path="/tmp/portal-funds.png", full_page=True)
        finally:
            browser.close()
