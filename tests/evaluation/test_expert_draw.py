"""The expert draw through the API, on both databases: committed before the deadline (its seed's hash in
the log), run after the opening with the tenderer's and bidders' people passed over, an expert's conflict
replaced by the next in order, names kept from the public until the reveal, and the reveal recomputable."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from evaluation import draws
from evaluation.schemas import DrawRead
from tests.bidding.harness import open_all, refused, start_opening
from tests.evaluation.harness import pool_and_bids
from tests.factories import build_world
from trading.context import Act
from trading.log.integrator import integrate_once
from trading.log.models import LogEntry

pytestmark = pytest.mark.asyncio


async def test_the_draw_is_committed_before_the_deadline_run_after_the_opening_and_recomputable(
    app, client, clock, tmp_path
):
    world, section, _, evaluators = await pool_and_bids(app, client, clock, tmp_path)
    url = f"/api/sections/{section.id}/expert-draw"
    staff = world.headers("staff")

    # Committing: an odd number of five or more, from a pool large enough.
    refused(await client.post(url, headers=staff, json={"count": 4, "specialities": ["市政"]}), 422, "bad_panel_size")
    refused(await client.post(url, headers=staff, json={"count": 3, "specialities": ["市政"]}), 422, "bad_panel_size")
    refused(await client.post(url, headers=staff, json={"count": 5, "specialities": ["水利"]}), 400, "pool_too_small")
    refused(
        await client.post(url, headers=world.headers("other_staff"), json={"count": 5, "specialities": ["市政"]}),
        403,
        "other_centre",
    )
    r = await client.post(url, headers=staff, json={"count": 5, "specialities": ["市政"]})
    assert r.status_code == 201, r.text
    committed = r.json()
    assert committed["state"] == "committed" and committed["pool_size"] == 12 and committed["seed"] is None
    refused(await client.post(url, headers=staff, json={"count": 5, "specialities": ["市政"]}), 409, "draw_committed")
    async with app.state.sessionmaker() as s:
        entry = await s.scalar(select(LogEntry).where(LogEntry.event_key == f"expert_draw:{section.id}"))
        logged = json.loads(entry.data)
    assert logged["seed_sha256"] == committed["commitment"] and logged["pool_sha256"] == committed["pool_hash"]

    # Not before the opening record; then drawn, with nobody's name public.
    refused(await client.post(url + "/run", headers=staff), 422, "opening_not_done")
    clock.set(section.deadline + timedelta(minutes=1))
    assert (await start_opening(client, world, section)).status_code == 200
    await open_all(client, section)  # all n: the opening is due at once (else when the window ends)
    r = await client.post(url + "/run", headers=staff)
    assert r.status_code == 200, r.text
    public = (await client.get(url)).json()
    assert public["state"] == "drawn" and public["panel"] is None and public["seed"] is None
    assert "专家" not in (await client.get(url)).text
    refused(await client.post(url + "/run", headers=staff), 409, "already_drawn")
    panel = (await client.get(url + "/panel", headers=world.headers("supervisor"))).json()
    assert len(panel) == 5 and panel == (await client.get(url + "/panel", headers=staff)).json()
    refused(await client.get(url + "/panel", headers=world.headers("other_staff")), 403, "other_centre")
    drawn = [p["expert_id"] for p in panel]
    assert set(drawn) <= set(evaluators)  # nobody from the tenderer or a bidder

    # A drawn expert steps aside: the next in the draw's order takes the place; the result is logged again.
    leaving = drawn[2]
    r = await client.post(url + "/conflict", headers=evaluators[leaving], json={"reason": "与投标人存在利害关系"})
    assert r.status_code == 200, r.text
    refused(
        await client.post(url + "/conflict", headers=evaluators[leaving], json={"reason": "再次"}),
        409,
        "already_declared",
    )
    after = [p["expert_id"] for p in (await client.get(url + "/panel", headers=staff)).json()]
    assert leaving not in after and [i for i in drawn if i != leaving] == after[:4] and len(after) == 5
    await integrate_once(app.state)
    async with app.state.sessionmaker() as s:
        versions = list(await s.scalars(select(LogEntry.event_key).where(LogEntry.kind == "expert_draw_result")))
    assert sorted(versions) == [f"expert_draw_result:{section.id}:1", f"expert_draw_result:{section.id}:2"]

    # With the result the draw is revealed: anyone recomputes the panel from the seed, beacon and pool.
    async with app.state.sessionmaker() as s:
        await draws.reveal(s, section.id, Act(actor=None, address="test", at=clock.at))
        await s.commit()
    revealed = (await client.get(url)).json()
    assert revealed["state"] == "revealed" and [p["expert_id"] for p in revealed["panel"]] == after
    view = DrawRead(**revealed)
    assert draws.recompute(view) == after
    assert revealed["result"]["passed_over"][str(leaving)] == "conflict"
    forged = DrawRead(**{**revealed, "seed": base64.b64encode(b"\0" * 32).decode()})
    with pytest.raises(ValueError, match="commitment"):
        draws.recompute(forged)
    refused(
        await client.post(url + "/conflict", headers=evaluators[after[0]], json={"reason": "太迟"}),
        422,
        "draw_revealed",
    )


async def test_a_draw_cannot_be_committed_once_the_deadline_has_passed(app, client, clock, tmp_path):
    world, section, _, _ = await pool_and_bids(app, client, clock, tmp_path)
    clock.set(section.deadline)
    r = await client.post(
        f"/api/sections/{section.id}/expert-draw",
        headers=world.headers("staff"),
        json={"count": 5, "specialities": ["市政"]},
    )
    error = refused(r, 422, "draw_after_deadline")
    assert error["rule"] == "条例 §46"
    refused(await client.get(f"/api/sections/{section.id}/expert-draw"), 404, "no_draw")


async def test_the_expert_pool_is_kept_by_its_keepers_with_checked_particulars(app, client, clock):
    world = await build_world(app, clock.at)
    keeper = world.headers("expert_keeper")
    bad = [
        ({"name": "甲", "specialities": ["市政"], "region_code": "110000"}, 400, "bad_region"),
        (
            {"name": "甲", "specialities": ["市政"], "region_code": "430700", "organisation_credit_code": "123"},
            400,
            None,
        ),
        (
            {"name": "甲", "specialities": ["市政"], "region_code": "430700", "person_id": world.people["bidder"].id},
            400,
            "not_evaluator",
        ),
        ({"name": "甲", "specialities": [], "region_code": "430700"}, 400, None),
    ]
    for body, status, code in bad:
        r = await client.post("/api/experts", headers=keeper, json=body)
        assert r.status_code == status, r.text
        if code:
            assert r.json()["error"]["code"] == code
    r = await client.post(
        "/api/experts",
        headers=keeper,
        json={
            "name": "李明",
            "specialities": ["道路", "市政", "道路"],
            "region_code": "430700",
            "person_id": world.people["evaluator"].id,
        },
    )
    assert r.status_code == 201 and r.json()["specialities"] == ["市政", "道路"]
    expert_id = r.json()["id"]
    again = await client.post(
        "/api/experts",
        headers=keeper,
        json={
            "name": "王五",
            "specialities": ["市政"],
            "region_code": "430700",
            "person_id": world.people["evaluator"].id,
        },
    )
    refused(again, 409, "person_taken")
    r = await client.put(
        f"/api/experts/{expert_id}",
        headers=keeper,
        json={"name": "李明", "specialities": ["道路"], "region_code": "430700", "active": False},
    )
    assert r.status_code == 200 and r.json()["active"] is False
    listed = (await client.get("/api/experts", headers=keeper, params={"speciality": "道路"})).json()
    assert [e["id"] for e in listed] == [expert_id]

    # The pool is the province's: no centre's staff, and no supervisor, keeps or reads it.
    for who in ("staff", "other_staff", "supervisor", "bidder", "evaluator"):
        refused(await client.get("/api/experts", headers=world.headers(who)), 403, "wrong_role")
        r = await client.put(
            f"/api/experts/{expert_id}",
            headers=world.headers(who),
            json={"name": "李明", "specialities": ["道路"], "region_code": "430700", "person_id": None},
        )
        refused(r, 403, "wrong_role")
    assert (await client.get("/api/experts", headers=world.headers("admin"))).status_code == 200


async def test_a_drawn_panel_cannot_be_reshaped_by_relinking_an_expert(app, client, clock, tmp_path):
    """Relinking a drawn expert's account to another person would seat that person on the panel: refused,
    naming the section, until the trade ends; the panel is who the draw seated, whatever the pool says."""
    from sqlalchemy import select

    from tests.evaluation.harness import evaluator_account, under_evaluation
    from trading.log.models import LogEntry

    ev = await under_evaluation(app, client, clock, tmp_path)
    keeper = ev.world.headers("expert_keeper")
    sid = ev.section.id
    drawn_id, drawn_headers = next(iter(ev.panel.items()))
    expert = next(e for e in (await client.get("/api/experts", headers=keeper)).json() if e["id"] == drawn_id)
    intruder_id, intruder = await evaluator_account(client, ev.world, "maoming", "冒名专家")
    body = {k: expert[k] for k in ("name", "specialities", "region_code", "organisation_name")}
    for change in ({"person_id": intruder_id}, {"person_id": expert["person_id"], "active": False}):
        r = await client.put(f"/api/experts/{drawn_id}", headers=keeper, json=body | change)
        error = refused(r, 409, "expert_in_draw")
        assert error["details"]["section_id"] == sid and f"第 {sid} 号标段" in error["message_zh"]
    # A change that does not touch who sits goes through, and is logged (a hash, not the name).
    r = await client.put(
        f"/api/experts/{drawn_id}",
        headers=keeper,
        json=body | {"person_id": expert["person_id"], "organisation_name": "湖南大学土木工程学院"},
    )
    assert r.status_code == 200, r.text
    async with app.state.sessionmaker() as s:
        logged = list(await s.scalars(select(LogEntry.data).where(LogEntry.kind == "expert_change")))
    assert logged and all(rb"\u4e13\u5bb6" not in d and "专家".encode() not in d for d in logged)
    # The drawn expert still reads the bids; the intruder does not; the published draw names the accounts.
    assert (await client.get(f"/api/sections/{sid}/evaluation/bids", headers=drawn_headers)).status_code == 200
    refused(await client.get(f"/api/sections/{sid}/evaluation/bids", headers=intruder), 403, "not_on_panel")
    draw_row = await _draw_result(app, sid)
    assert draw_row["persons"][str(drawn_id)] == expert["person_id"]


async def _draw_result(app, section_id):
    from evaluation.models import ExpertDraw

    async with app.state.sessionmaker() as s:
        return (await s.get(ExpertDraw, section_id)).result
