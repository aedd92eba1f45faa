"""A section taken through bidding and the opening to a drawn panel, for the evaluation tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.bidding.harness import (
    Bidder,
    Section,
    make_bidder,
    open_all,
    open_section,
    seal,
    start_opening,
    submit,
)
from tests.factories import PASSWORD, World, build_world
from trading.accounts.credit_code import make_credit_code

TENDERER_CODE = make_credit_code("1", "1", "430723", "MB1C0011")  # the world's tenderer (tests.factories)

COMPREHENSIVE = {
    "method": "comprehensive",
    "price_formula": {"kind": "lowest", "full": "40"},
    "criteria": [
        {"key": "construction_plan", "name": "施工组织设计", "max_points": "30", "group": "technical"},
        {"key": "quality_safety", "name": "质量安全措施", "max_points": "20", "group": "technical"},
        {"key": "credit", "name": "企业信誉", "max_points": "10", "group": "commercial"},
    ],
    "tie_rules": ["lower_price", "higher_technical"],
}


async def evaluator_account(client: Any, world: World, username: str, display_name: str) -> tuple[int, dict[str, str]]:
    """An evaluator account made by the admin: its person id and the headers of a token for it."""
    r = await client.post(
        "/api/people",
        headers=world.headers("admin"),
        json={"username": username, "display_name": display_name, "password": PASSWORD, "roles": ["evaluator"]},
    )
    assert r.status_code == 201, r.text
    token = await client.post("/api/tokens", json={"username": username, "password": PASSWORD, "label": "t"})
    return r.json()["id"], {"Authorization": f"Bearer {token.json()['token']}"}


async def pool_and_bids(
    app: Any,
    client: Any,
    clock: Any,
    tmp_path: Path,
    *,
    prices: tuple[int, ...] = (4_500_000_000, 4_500_000_001, 4_500_000_002),
) -> tuple[World, Section, list[Bidder], dict[int, dict[str, str]]]:
    """Bids submitted and a pool of twelve experts: two from the tenderer, two from bidders, eight independent
    with evaluator accounts (returned by expert id), and one water-works expert outside the speciality."""
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [await make_bidder(app, client, clock.at, i + 1) for i in range(len(prices))]
    for bidder, price in zip(bidders, prices, strict=True):
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=price))
        assert r.status_code == 201, r.text
    orgs = [TENDERER_CODE] * 2 + [bidders[0].credit_code, bidders[-1].credit_code] + [""] * 8
    evaluators = {}
    for n, org in enumerate(orgs, start=1):
        person_id, headers = (
            (await evaluator_account(client, world, f"pingbiao{n}", f"专家{n}")) if not org else (None, None)
        )
        r = await client.post(
            "/api/experts",
            headers=world.headers("expert_keeper"),
            json={
                "name": f"专家{n}",
                "specialities": ["市政", "道路"] if n % 2 else ["市政"],
                "region_code": "430700",
                "organisation_name": "某单位" if org else "湖南大学",
                "organisation_credit_code": org,
                "person_id": person_id,
            },
        )
        assert r.status_code == 201, r.text
        if headers:
            evaluators[r.json()["id"]] = headers
    r = await client.post(
        "/api/experts",
        headers=world.headers("expert_keeper"),
        json={"name": "水利专家", "specialities": ["水利"], "region_code": "430700"},
    )
    assert r.status_code == 201
    return world, section, bidders, evaluators


@dataclass
class Evaluated:
    world: World
    section: Section
    bidders: list[Bidder]
    #: The drawn panel's request headers, by expert id.
    panel: dict[int, dict[str, str]]
    #: Pool members with accounts who were not drawn.
    others: dict[int, dict[str, str]]
    #: bid id by bidder credit code
    bid_ids: dict[str, int]


async def under_evaluation(
    app: Any, client: Any, clock: Any, tmp_path: Path, *, plan: dict[str, Any] | None = None, **kw: Any
) -> Evaluated:
    """Plan and draw fixed before the deadline; the opening done by two openers; the panel of five drawn."""
    world, section, bidders, evaluators = await pool_and_bids(app, client, clock, tmp_path, **kw)
    staff = world.headers("staff")
    r = await client.put(f"/api/sections/{section.id}/evaluation-plan", headers=staff, json=plan or COMPREHENSIVE)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/sections/{section.id}/expert-draw", headers=staff, json={"count": 5, "specialities": ["市政"]}
    )
    assert r.status_code == 201, r.text
    clock.set(section.deadline + timedelta(minutes=1))
    assert (await start_opening(client, world, section)).status_code == 200
    await open_all(client, section)  # all n: the opening is due at once (else when the window ends)
    r = await client.post(f"/api/sections/{section.id}/expert-draw/run", headers=staff)
    assert r.status_code == 200, r.text
    drawn = [
        p["expert_id"]
        for p in (await client.get(f"/api/sections/{section.id}/expert-draw/panel", headers=staff)).json()
    ]
    sheet = (await client.get(f"/api/sections/{section.id}/evaluation/sheet", headers=evaluators[drawn[0]])).json()
    bid_ids = {b["credit_code"]: b["bid_id"] for b in sheet["bids"]}
    return Evaluated(
        world=world,
        section=section,
        bidders=bidders,
        panel={x: evaluators[x] for x in drawn},
        others={x: h for x, h in evaluators.items() if x not in drawn},
        bid_ids=bid_ids,
    )
