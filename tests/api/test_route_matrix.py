"""Every route × every role, against a section that has been through bidding, the opening, the draw, the
evaluation and its candidate publicity (with an objection, a complaint and an alert), on both databases.

The expected answer of each call comes from the route's rule in trading.policy, so the table and the
platform's behaviour are checked against each other: a role the rule does not name is refused (401 for the
public, 403 ``wrong_role``); staff and supervisors of another centre are refused (403 ``other_centre``)
where the rule limits them to their centre; an evaluator off the panel, an opener off the committee, the
same; whoever the rule lets through is never refused by the authorisation (the handler may still say 400,
404, 409 or 422 about the request itself). No call anywhere answers 5xx. A route without a rule, or a rule
for no route, fails the first test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.handlers import HTTPRouteHandler

from tests.bidding.harness import b64, raw_public
from tests.evaluation.harness import under_evaluation
from tests.evaluation.test_award_flow import LEADERS, score_all
from tests.routes import http_routes
from trading.policy import ANY, CENTRE, COMMITTEE, FILTERED, OWN, PANEL, ROUTES, rule_for, untyped

pytestmark = pytest.mark.asyncio

#: Refusals that are the authorisation's (others — CSRF, state, validation — are about the request).
AUTHZ_CODES = {
    "not_authenticated",
    "token_expired",
    "token_not_valid",
    "wrong_role",
    "other_centre",
    "not_on_panel",
    "not_on_committee",
    "metrics_forbidden",
}


def _routes(app) -> list[tuple[str, str, HTTPRouteHandler]]:
    return [
        (m, path, handler)
        for path, handler in http_routes(app)
        for m in sorted(handler.http_methods)
        if m not in ("HEAD", "OPTIONS")
    ]


def _rule(path: str, handler: HTTPRouteHandler):
    operation_id = handler.operation_id if isinstance(handler.operation_id, str) else None
    return rule_for(operation_id, frozenset({path}))


async def test_every_route_has_a_rule_and_every_rule_a_route(app):
    missing = [f"{m} {p}" for m, p, h in _routes(app) if _rule(p, h) is None]
    assert missing == [], f"routes without an authorisation rule in trading/policy.py: {missing}"
    used = set()
    for _m, path, handler in _routes(app):
        operation_id = handler.operation_id if isinstance(handler.operation_id, str) else None
        used.add(operation_id if operation_id in ROUTES else untyped(path))
    assert set(ROUTES) - used == set(), "rules in trading/policy.py for routes that no longer exist"


@dataclass
class Persona:
    name: str
    roles: tuple[str, ...]
    headers: dict[str, str]
    #: Of the section's own centre (staff, supervisor), on its panel, on its committee, its bidder.
    inside: bool = True


async def _world(app, client, clock, tmp_path) -> tuple[dict[str, Any], list[Persona]]:
    ev = await under_evaluation(app, client, clock, tmp_path)
    world, section, sid = ev.world, ev.section, ev.section.id
    staff = world.headers("staff")
    await score_all(client, ev)
    assert (await client.post(f"/api/sections/{sid}/evaluation/report", headers=staff)).status_code == 201
    body = {"candidates": [{"bid_id": b, **LEADERS} for b in ev.bid_ids.values()], "days": 3}
    assert (await client.post(f"/api/sections/{sid}/candidate-publicity", headers=staff, json=body)).status_code == 201
    bidder = ev.bidders[0]
    r = await client.post(
        f"/api/sections/{sid}/objections",
        headers=bidder.headers,
        json={"subject": "对评标结果有异议", "text": "第一中标候选人的业绩与实际不符，请核查。"},
    )
    assert r.status_code == 201, r.text
    objection_id = r.json()["id"]
    r = await client.post(
        f"/api/objections/{objection_id}/reply",
        headers=staff,
        json={"outcome": "dismissed", "reply": "经核查，第一中标候选人业绩属实，异议不成立。"},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/sections/{sid}/complaints",
        headers=bidder.headers,
        json={"objection_id": objection_id, "text": "对异议答复不服，请监督部门依法处理。"},
    )
    assert r.status_code == 201, r.text
    complaint_id = r.json()["id"]
    # A reserve-price key of the centre's, for the routes that revoke one (each id in the table is a real thing).
    r = await client.post(
        "/api/centre-keys", headers=staff, json={"public_key": b64(raw_public(Ed25519PrivateKey.generate()))}
    )
    assert r.status_code == 201, r.text
    centre_key_id = r.json()["id"]
    project_id = section.notice["project_id"]
    async with app.state.sessionmaker() as s:
        from trading.funds.models import SupervisionAlert
        from trading.funds.services import raise_alert

        await raise_alert(
            s,
            kind="late_contract",
            project_id=project_id,
            subject_type="section",
            subject_id=sid,
            message_zh="合同逾期未签订",
            message_en="No contract yet",
            details={"section_id": sid},
            at=clock.at,
        )
        await s.commit()
        from sqlalchemy import select

        alert_id = await s.scalar(select(SupervisionAlert.id))
        from bidding.models import Bid, Upload

        bid = await s.scalar(select(Bid).where(Bid.section_id == sid).limit(1))
        upload_id = await s.scalar(select(Upload.id).limit(1))
    expert_id = next(iter(ev.panel))
    throwaway = await client.post("/api/tokens", json={"username": "admin", "password": "correct-horse-battery"})
    ids = {
        "section_id": sid,
        "project_id": project_id,
        "notice_id": section.notice["id"],
        "objection_id": objection_id,
        "complaint_id": complaint_id,
        "alert_id": alert_id,
        "expert_id": expert_id,
        "bid_id": bid.id,
        "manifest_sha256": bid.manifest_sha256,
        "upload_id": upload_id,
        "token_id": throwaway.json()["id"],
        "key_id": centre_key_id,
        # What only the section's bidder (and its centre) may see of it: its name, its credit code, its objection.
        "owner_markers": [bidder.name, bidder.credit_code, "第一中标候选人的业绩与实际不符"],
    }
    personas = [
        Persona("public", (), {}),
        Persona("bidder", ("bidder",), bidder.headers),
        Persona("other bidder", ("bidder",), world.headers("bidder"), inside=False),
        Persona("staff", ("staff",), staff),
        Persona("other staff", ("staff",), world.headers("other_staff"), inside=False),
        Persona("opener", ("opener",), section.openers[0].headers),
        Persona("opener off the committee", ("opener",), world.headers("opener"), inside=False),
        Persona("evaluator", ("evaluator",), ev.panel[expert_id]),
        Persona("evaluator off the panel", ("evaluator",), next(iter(ev.others.values())), inside=False),
        Persona("supervisor", ("supervisor",), world.headers("supervisor")),
        Persona("other supervisor", ("supervisor",), world.headers("other_supervisor"), inside=False),
        Persona("admin", ("admin",), world.headers("admin")),
        Persona("expert keeper", ("expert_keeper",), world.headers("expert_keeper")),
    ]
    clock.advance(minutes=5)
    return ids, personas


def _concrete(path: str, ids: dict[str, Any]) -> str:
    fixed = {"envelope": "price", "file_path": "site.css", "path": "openapi.yaml", "feed_name": "tender.atom",
             "key": "works_open_tender", "code": "430700", "chart": "kinds.svg", "ocid": "ocds-hnggzy-x",
             "day": "2026-05-01", "size": "1", "version": "1", "attachment_id": "1"}  # fmt: skip

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(ids.get(name, fixed.get(name, "1")))

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def _authz_refusal(r) -> str | None:
    """The authorisation's refusal code, if the answer is one."""
    if r.status_code not in (401, 403):
        return None
    if "application/json" in r.headers.get("content-type", ""):
        return r.json()["error"]["code"]
    return next((c for c in AUTHZ_CODES if c in r.text), "not_authenticated" if r.status_code == 401 else "forbidden")


def own_only(rule, persona: Persona) -> bool:
    """Whether the persona reaches the route only for its own things, and is not the owner here."""
    return not rule.public and not persona.inside and OWN in {rule.roles.get(r) for r in persona.roles}


def _expected(rule, persona: Persona) -> set[str] | None:
    """The authorisation refusals the persona may meet (None: it must get through)."""
    if rule.public:
        return None
    if rule.scrapers:  # by address, whatever the role: the test client is 127.0.0.1, which the default allows
        return None
    if not persona.roles:
        return {"not_authenticated"}
    if rule.signed_in:
        return None
    reaches = {rule.roles[r] for r in persona.roles if r in rule.roles}
    if not reaches:
        return {"wrong_role"}
    if reaches & {ANY, FILTERED, OWN} or persona.inside:
        return None  # (OWN: an outsider gets its own things — none of the owner's; checked by the caller)
    return {{CENTRE: "other_centre", PANEL: "not_on_panel", COMMITTEE: "not_on_committee"}[next(iter(reaches))]}


async def test_every_route_answers_every_role_as_its_rule_says(app, client, clock, tmp_path):
    ids, personas = await _world(app, client, clock, tmp_path)
    failures = []
    calls = 0
    for method, path, handler in _routes(app):
        rule = _rule(path, handler)
        url = _concrete(path, ids)
        portal = not url.startswith(("/api/", "/log/", "/schema", "/feeds/", "/static/", "/api-explorer/", "/metrics"))
        if portal and method != "GET" and rule is not None and not rule.public:
            continue  # portal forms carry a session and a CSRF token: tests/portal covers them
        for persona in personas:
            if portal and persona.roles:
                continue  # the portal signs in with a session cookie, not a token (tests/portal)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            r = await client.request(method, url, headers=persona.headers, json=body)
            calls += 1
            if r.status_code >= 500:
                failures.append(f"{method} {url} as {persona.name}: {r.status_code}")
                continue
            expected = _expected(rule, persona)
            got = _authz_refusal(r)
            if expected is None and got in AUTHZ_CODES:
                failures.append(f"{method} {url} as {persona.name}: refused ({got}), the rule lets it through")
            elif expected is not None and got not in expected:
                if portal and r.status_code == 303:  # the portal sends the public to the sign-in page
                    continue
                failures.append(f"{method} {url} as {persona.name}: {r.status_code} {got}, expected {sorted(expected)}")
            elif own_only(rule, persona) and r.status_code == 200:
                leaked = [m for m in ids["owner_markers"] if m in r.text]
                if leaked:
                    failures.append(f"{method} {url} as {persona.name}: shows the owner's {leaked}")
    assert failures == [], "\n".join(failures)
    assert calls > 1000


async def test_listings_are_narrowed_to_the_callers_centre(app, client, clock, tmp_path):
    """FILTERED: the supervisors of another centre read none of this centre's alerts or audit trail; its own
    supervisors and the admin read them."""
    ids, personas = await _world(app, client, clock, tmp_path)
    by = {p.name: p.headers for p in personas}
    for who, sees in (("supervisor", True), ("admin", True), ("other supervisor", False)):
        alerts = (await client.get("/api/supervision/alerts", headers=by[who])).json()
        assert (ids["alert_id"] in [a["id"] for a in alerts]) is sees, who
        trail = (
            await client.get(
                "/api/audit", params={"subject_type": "section", "subject_id": str(ids["section_id"])}, headers=by[who]
            )
        ).json()["items"]
        assert bool(trail) is sees, who
    drafts = (await client.get("/api/staff/notices", headers=by["other staff"])).json()
    assert all(d["project_id"] != ids["project_id"] for d in drafts)


async def test_the_metrics_answer_only_the_scrapers_the_settings_allow(app, settings, clock):
    """SCRAPERS: an address outside ``metrics_allow`` is refused whatever role it signs in with — an admin's
    token included — and let in with the metrics token; an allowed network lets every address in it in."""
    import httpx
    import msgspec

    from tests.factories import build_world
    from trading.app import create_app

    world = await build_world(app, clock.at)
    admin = world.headers("admin")["Authorization"]

    async def scrape(application, address: str, authorization: str | None = None) -> httpx.Response:
        transport = httpx.ASGITransport(app=application, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            return await c.get("/metrics", headers={"Authorization": authorization} if authorization else {})

    assert (await scrape(app, "127.0.0.1")).status_code == 200
    for authorization in (None, admin, "Bearer not-the-metrics-token"):
        r = await scrape(app, "192.0.2.7", authorization)
        assert r.status_code == 403 and "metrics_forbidden" in r.text, (authorization, r.status_code)
        # a scraper is told in JSON, not with the portal's HTML error page
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["error"]["code"] == "metrics_forbidden"
    token_file = Path(settings.blob_dir).parent / "metrics-token"
    token_file.write_text("scrape-me-7f3a\n")
    guarded = create_app(
        msgspec.structs.replace(settings, metrics_allow="10.1.0.0/16", metrics_token_file=str(token_file))
    )
    try:
        assert (await scrape(guarded, "10.1.200.3")).status_code == 200
        assert (await scrape(guarded, "127.0.0.1")).status_code == 403  # loopback is no longer listed
        assert (await scrape(guarded, "192.0.2.7", "Bearer scrape-me-7f3a")).status_code == 200
        assert (await scrape(guarded, "192.0.2.7", "Bearer scrape-me-7f3")).status_code == 403
    finally:
        await guarded.state.engine.dispose()
