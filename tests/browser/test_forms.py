"""The portal's filter forms in a real browser, JavaScript off: every select, date and text box and every button on
the home page, the notice list and /funds has the portal's field style — the keyword box's height, border and
font — at a desktop (1366 px) and a phone (390 px) width, and stays inside the viewport. Screenshots of the forms
are left in /tmp for a human to look at."""

from __future__ import annotations

import pytest

from tests.browser.test_public_journey import CHROMIUM, CHROMIUM_ARGS

FORMS = {
    "home": ("/", "main form.search-form"),
    "notices": ("/notices?from=2026-10-01&to=2026-11-21", "main form.filter-form"),
    "funds": ("/funds?year=2026", "main form.funds-filters"),
}
#: What makes a control look like the portal's: read from the computed style of each control.
STYLE = """el => {
  const s = getComputedStyle(el), r = el.getBoundingClientRect();
  return {height: Math.round(r.height), right: r.right, border: `${s.borderTopWidth} ${s.borderTopStyle} ${s.borderTopColor}`,
          font: `${s.fontSize} ${s.fontFamily}`, radius: s.borderTopLeftRadius};
}"""
CONTROLS = "input:not([type=hidden]), select, button, .btn"


@pytest.mark.browser
def test_filter_controls_share_the_portal_field_style(demo_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width in (1366, 390):
                context = browser.new_context(
                    viewport={"width": width, "height": 900}, locale="zh-CN", java_script_enabled=False
                )
                page = context.new_page()
                page.goto(demo_url + "/notices")
                keyword = page.locator("main form.filter-form input[name=q]").evaluate(STYLE)
                for name, (path, form) in FORMS.items():
                    page.goto(demo_url + path)
                    controls = page.locator(form).locator(CONTROLS)
                    assert controls.count() >= 3, (name, width)
                    for i in range(controls.count()):
                        control = controls.nth(i)
                        label = control.get_attribute("name") or control.inner_text()
                        got = control.evaluate(STYLE)
                        assert got["height"] == keyword["height"], (name, width, label, got, keyword)
                        assert got["right"] <= width, (name, width, label, got)  # nothing sticks out on a phone
                        if control.evaluate("el => el.matches('input, select')"):
                            for key in ("border", "font", "radius"):
                                assert got[key] == keyword[key], (name, width, label, key, got, keyword)
                    overflow = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
                    assert overflow[0] <= overflow[1], (name, width, overflow)
                    page.locator(form).screenshot(path=f"/tmp/portal-form-{name}-{width}.png")
                context.close()
        finally:
            browser.close()
