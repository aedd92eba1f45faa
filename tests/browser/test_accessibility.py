"""The portal's pages checked with axe-core in a real browser: no serious or critical violation of WCAG 2 A/AA or
axe's best practices on every kind of page the portal serves — the home page, the notice lists, a tender and its
printable form, an opening record, a candidate publicity, a result, a contract, the opening hall, the project,
the fund pages, the regions, the transparency log, the about and sign-in pages — and, signed in, a supervisor's
alerts, audit trail and account and a bidder's account.

axe-core comes from npm, pinned in tests/browser/package.json and package-lock.json (`npm ci --prefix
tests/browser`, which .ci/run does) and added to each page as a script tag once it has loaded, so JavaScript
is on here. Only the opening hall has a script of its own (its live updates); the others are what a reader
without JavaScript gets. Each page is checked at a desktop (1366 px) and a phone (390 px) width.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.test_public_journey import CHROMIUM, CHROMIUM_ARGS
from trading.demo.data import PASSWORDS

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
#: What axe checks: WCAG 2.0 A and AA, and the rules axe counts as best practice.
TAGS = ["wcag2a", "wcag2aa", "best-practice"]
#: What fails the test. Moderate and minor findings are reported by axe too but left to judgement.
BLOCKING = {"serious", "critical"}
#: The demo's road project, taken through tender, opening, evaluation, award, contract and payments.
ROAD = "德山大道东延线"


def require_axe() -> Path:
    """axe-core's script; skip on a developer's machine without `npm ci --prefix tests/browser`, fail in CI."""
    if not AXE.exists():
        reason = f"no axe-core at {AXE}: run `npm ci --prefix tests/browser` (needs node and npm)"
        in_ci = os.environ.get("TRADING_TEST_REQUIRE_POSTGRES") == "1" or os.environ.get("CI", "") not in ("", "false")
        if in_ci:
            pytest.fail(reason + " (CI must run the accessibility check)")
        pytest.skip(reason)
    return AXE


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """Named before demo_url in the test, so a missing axe-core skips before the demo is seeded."""
    return require_axe()


def pages_to_check(demo_url: str) -> dict[str, str]:
    """The pages a citizen reads most, by name: paths on the demo portal."""
    items = httpx.get(f"{demo_url}/api/notices", params={"q": ROAD, "limit": 50}, timeout=10).json()["items"]
    by_kind = {item["kind"]: item for item in items}
    for kind in ("tender", "opening_record", "candidate_publicity", "result", "contract"):
        assert kind in by_kind, f"the demo has no {kind} notice for {ROAD}"
    project_id = by_kind["result"]["project_id"]
    record = httpx.get(f"{demo_url}/api/notices/{by_kind['opening_record']['id']}", timeout=10).json()
    section_id = record["fields"]["section_id"]
    return {
        "home": "/",
        "notice list": "/notices",
        "filtered list": "/notices?kind=tender&trade_kind=works&region=430700&from=2026-10-01&to=2026-11-21",
        "tender notice": by_kind["tender"]["url"],
        "printable tender notice": f"/notices/{by_kind['tender']['id']}/print",
        "opening record": by_kind["opening_record"]["url"],
        "candidate publicity": by_kind["candidate_publicity"]["url"],
        "result notice": by_kind["result"]["url"],
        "contract notice": by_kind["contract"]["url"],
        "opening hall": f"/sections/{section_id}/opening",
        "project": f"/projects/{project_id}",
        "funds": "/funds",
        "project funds": f"/projects/{project_id}/funds",
        "regions": "/regions",
        "a region": "/regions/430700",
        "transparency log": "/log",
        "about": "/about",
        "sign-in": "/login",
    }


#: Pages behind the sign-in, by the demo account that reads them.
SIGNED_IN = {
    ("cd_supervisor", "supervisor"): {"alerts": "/supervision", "audit trail": "/audit", "account": "/account"},
    ("bidder_xiangzhong_luqiao", "bidder"): {"bidder's account": "/account"},
}


def axe_violations(page: Any, script: Path) -> list[dict[str, Any]]:
    """Run axe on the page as it stands; its violations, each with id, impact, help and nodes."""
    page.add_script_tag(path=str(script))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", TAGS
    )
    return list(result["violations"])


def describe(name: str, path: str, violations: list[dict[str, Any]]) -> str:
    """One paragraph per violation: the rule, what it asks, and the selectors of the elements breaking it."""
    lines = []
    for v in violations:
        lines.append(f"{name} ({path}): [{v['impact']}] {v['id']}: {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:10]:
            why = (node.get("failureSummary") or "").strip().splitlines()
            lines.append(f"    {' '.join(map(str, node['target']))}: {why[-1].strip() if why else ''}")
        if len(v["nodes"]) > 10:
            lines.append(f"    … and {len(v['nodes']) - 10} more")
    return "\n".join(lines)


def check_pages(
    browser: Any, demo_url: str, script: Path, width: int, pages: dict[str, str], account: tuple[str, str] | None
) -> list[str]:
    """axe's blocking findings on *pages*, read at *width* in a browser context of their own, signed in as
    *account* (username, role) if given."""
    # The portal's Content-Security-Policy (script-src 'self') refuses the inline axe script; the browser is
    # told to let it through, the server's policy is unchanged.
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    if account is not None:
        username, role = account
        page.goto(f"{demo_url}/login")
        page.fill('input[name="username"]', username)
        page.fill('input[name="password"]', PASSWORDS[role])
        page.click('form[action="/login"] button[type="submit"]')
        page.wait_for_url(lambda address: "/login" not in address)
    report = []
    for name, path in pages.items():
        response = page.goto(demo_url + path)
        assert response is not None and response.status == 200, (account, name, path)
        blocking = [v for v in axe_violations(page, script) if v["impact"] in BLOCKING]
        if blocking:
            who = f" ({account[0]})" if account else ""
            report.append(describe(f"{name}{who} at {width} px", path, blocking))
    context.close()
    return report


@pytest.mark.browser
def test_the_main_pages_have_no_serious_accessibility_violations(axe_script: Path, demo_url: str) -> None:
    from playwright.sync_api import sync_playwright

    pages = pages_to_check(demo_url)
    report = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width in (1366, 390):
                report += check_pages(browser, demo_url, axe_script, width, pages, None)
                for account, signed_in in SIGNED_IN.items():
                    report += check_pages(browser, demo_url, axe_script, width, signed_in, account)
        finally:
            browser.close()
    assert not report, "axe-core found serious or critical violations:\n" + "\n".join(report)
