"""From the opening record to the award, through the API on both databases: the panel scores, the report is
made and logged, the candidates are published, an objection pauses the trade and its reply resumes it (the
window lengthened by the pause), a complaint goes to the supervisors, and the result notice reveals the
panel while each bidder reads its own letter. Every refusal on the way changes nothing."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from evaluation import draws
from evaluation.schemas import DrawRead
from tests.bidding.harness import refused
from tests.evaluation.harness import COMPREHENSIVE, Evaluated, under_evaluation
from tests.portal.test_pages import sign_in
from trading.log.integrator import integrate_once
from trading.log.models import LogEntry

pytestmark = pytest.mark.asyncio

#: Per bidder (by index): points per criterion; the first evaluator is generous to the third bidder (an outlier).
POINTS = [
    {"construction_plan": "25", "quality_safety": "15", "credit": "8"},
    {"construction_plan": "28", "quality_safety": "18", "credit": "9"},
    {"construction_plan": "20", "quality_safety": "12", "credit": "7"},
]
LEADERS = {"project_leader": "王建华", "certificate": "湘143060800123", "qualifications": "市政公用工程施工总承包一级"}


def sheet_for(ev: Evaluated, expert_index: int, *, submit: bool = True, reject: int | None = None) -> dict:
    entries = []
    for i, bidder in enumerate(ev.bidders):
        scores = dict(POINTS[i])
        if expert_index == 0 and i == 2:
            scores["construction_plan"] = "30"
        entry = {"bid_id": ev.bid_ids[bidder.credit_code], "qualified": True, "scores": scores}
        if reject == i:
            entry = {
                "bid_id": ev.bid_ids[bidder.credit_code],
                "qualified": False,
                "rejection": "not_qualified",
                "note": "项目经理注册证书已过期",
            }
        entries.append(entry)
    return {"entries": entries, "submit": submit}


async def score_all(client, ev: Evaluated, **kw) -> None:
    for n, headers in enumerate(ev.panel.values()):
        r = await client.put(
            f"/api/sections/{ev.section.id}/evaluation/sheet", headers=headers, json=sheet_for(ev, n, **kw)
        )
        assert r.status_code == 200, r.text


async def log_keys(app, prefix: str) -> list[str]:
    await integrate_once(app.state)
    async with app.state.sessionmaker() as s:
        return list(await s.scalars(select(LogEntry.event_key).where(LogEntry.event_key.like(prefix + "%"))))


async def test_a_section_goes_from_its_opening_record_to_the_award(app, client, clock, tmp_path):
    ev = await under_evaluation(app, client, clock, tmp_path)
    sid, staff = ev.section.id, ev.world.headers("staff")
    base = f"/api/sections/{sid}"
    experts = list(ev.panel)
    b0, b1, b2 = ev.bidders

    # Nobody but the panel scores; nobody outside the centre, the supervisors and the panel reads the report.
    refused(await client.put(base + "/evaluation/sheet", headers=staff, json=sheet_for(ev, 0)), 403, "wrong_role")
    other = next(iter(ev.others.values()))
    refused(await client.put(base + "/evaluation/sheet", headers=other, json=sheet_for(ev, 0)), 403, "not_on_panel")
    refused(await client.get(base + "/evaluation/report", headers=b0.headers), 403, "wrong_role")
    refused(await client.get(base + "/evaluation/report"), 401, "not_authenticated")

    # A sheet is checked: a rejection needs its ground, points stay within the criterion, a submitted sheet
    # covers every bid.
    first = ev.panel[experts[0]]
    bad = sheet_for(ev, 0)
    bad["entries"][0] = {"bid_id": bad["entries"][0]["bid_id"], "qualified": False, "note": "不合格"}
    refused(await client.put(base + "/evaluation/sheet", headers=first, json=bad), 400, "rejection_ground_required")
    bad = sheet_for(ev, 0)
    bad["entries"][0]["scores"]["credit"] = "11"
    refused(await client.put(base + "/evaluation/sheet", headers=first, json=bad), 400, "score_out_of_range")
    bad = sheet_for(ev, 0)
    bad["entries"] = bad["entries"][:2]
    refused(await client.put(base + "/evaluation/sheet", headers=first, json=bad), 400, "sheet_incomplete")
    bad["submit"] = False  # a partial draft is fine
    assert (await client.put(base + "/evaluation/sheet", headers=first, json=bad)).status_code == 200

    # The report waits for every sheet.
    refused(await client.post(base + "/evaluation/report", headers=staff), 422, "sheets_missing")
    await score_all(client, ev)
    refused(await client.put(base + "/evaluation/sheet", headers=first, json=sheet_for(ev, 0)), 409, "sheet_submitted")
    refused(
        await client.post(base + "/evaluation/report", headers=ev.world.headers("other_staff")), 403, "other_centre"
    )
    r = await client.post(base + "/evaluation/report", headers=staff)
    assert r.status_code == 201, r.text
    report = r.json()["report"]
    ranking = [(row["bidder"], row["rank"], row["total"]) for row in report["ranking"]]
    assert [name for name, _, _ in ranking] == [b1.name, b0.name, b2.name]
    assert ranking[0][2] == "95.00" and ranking[1][2] == "88.00"  # 40 (price) + 55 and + 48
    # The first evaluator's 30 for the third bidder was the highest: dropped (five scored).
    third = next(b for b in report["bids"] if b["credit_code"] == b2.credit_code)
    assert (
        str(experts[0]) in third["dropped"]["construction_plan"] and third["criteria"]["construction_plan"] == "20.00"
    )
    assert sorted(report["sheets"]) == sorted(str(x) for x in experts)
    assert (await client.get(base + "/evaluation/report", headers=ev.world.headers("supervisor"))).status_code == 200
    assert (await client.get(base + "/evaluation/report", headers=ev.panel[experts[1]])).status_code == 200
    refused(await client.get(base + "/evaluation/report", headers=other), 403, "not_on_panel")
    assert await log_keys(app, f"evaluation_report:{sid}") == [f"evaluation_report:{sid}"]
    # the panel is fixed with the report: nobody steps aside any more
    r = await client.post(base + "/expert-draw/conflict", headers=first, json={"reason": "与投标人存在利害关系"})
    refused(r, 422, "report_made")

    # Candidates: the report's three, with the fields 10号令 §12 asks for; the section enters its publicity.
    body = {"candidates": [{"bid_id": ev.bid_ids[b.credit_code], **LEADERS} for b in (b1, b0)], "days": 3}
    refused(await client.post(base + "/candidate-publicity", headers=staff, json=body), 400, "candidates_mismatch")
    body["candidates"].append({"bid_id": ev.bid_ids[b2.credit_code], **LEADERS})
    refused(await client.post(base + "/candidate-publicity", headers=b0.headers, json=body), 403, "wrong_role")
    published_at = clock.at
    r = await client.post(base + "/candidate-publicity", headers=staff, json=body)
    assert r.status_code == 201, r.text
    window = r.json()
    assert window["section_state"] == "publicity" and not window["paused"]
    notice = (await client.get(f"/api/notices/{window['notice_id']}")).json()
    candidates = notice["fields"]["candidates"]
    assert [c["name"] for c in candidates] == [b1.name, b0.name, b2.name]
    assert candidates[0]["project_leader"] == "王建华" and candidates[0]["score"] == "95.00"
    assert candidates[0]["price_fen"] == 4_500_000_001 and candidates[0]["duration_days"] == 240
    # the panel's names (专家1 … 专家12 in this pool) stay secret until the result
    assert not re.search(r"专家\d", json.dumps(notice, ensure_ascii=False))
    refused(await client.post(base + "/candidate-publicity", headers=staff, json=body), 409, "publicity_exists")

    # A hand-typed result notice is refused: the platform writes it.
    r = await client.post(
        "/api/staff/notices",
        headers=staff,
        json={
            "project_id": ev.section.notice["project_id"],
            "kind": "result",
            "title": "手工中标结果",
            "fields": {"winner": b2.name, "price_fen": 1},
            "section_ids": [sid],
        },
    )
    assert r.status_code == 201, r.text
    refused(
        await client.post(f"/api/staff/notices/{r.json()['id']}/publish", headers=staff), 422, "produced_by_platform"
    )

    # An objection pauses the trade; the award is refused meanwhile.
    objection = {"subject": "对第一名候选人的业绩有异议", "text": "第一中标候选人投标文件所列业绩与实际不符，请核查。"}
    refused(await client.post(base + "/objections", headers=staff, json=objection), 403, "wrong_role")
    clock.advance(hours=24)
    r = await client.post(base + "/objections", headers=b2.headers, json=objection)
    assert r.status_code == 201, r.text
    objection_id = r.json()["id"]
    paused = (await client.get(base + "/candidate-publicity")).json()
    assert paused["paused"] and paused["section_state"] == "publicity_suspended"
    clock.advance(hours=72)  # the publicity's three days would be over now, but it stood still
    refused(await client.post(base + "/award", headers=staff, json={}), 422, "trade_paused")
    # the objector sees its own objection; another bidder does not
    assert [o["id"] for o in (await client.get(base + "/objections", headers=b2.headers)).json()] == [objection_id]
    assert (await client.get(base + "/objections", headers=b0.headers)).json() == []

    # The reply is published without the objector; the trade resumes and the window ends later by the pause.
    reply = {"outcome": "dismissed", "reply": "经核查，第一中标候选人所列业绩均有合同及竣工验收证明，异议不成立。"}
    refused(
        await client.post(f"/api/objections/{objection_id}/reply", headers=b0.headers, json=reply), 403, "wrong_role"
    )
    r = await client.post(f"/api/objections/{objection_id}/reply", headers=staff, json=reply)
    assert r.status_code == 200, r.text
    reply_notice = (await client.get(f"/api/notices/{r.json()['reply_notice_id']}")).json()
    assert reply_notice["kind"] == "objection_reply"
    assert b2.name not in json.dumps(reply_notice, ensure_ascii=False)
    resumed = (await client.get(base + "/candidate-publicity")).json()
    assert not resumed["paused"] and resumed["section_state"] == "publicity"
    assert resumed["paused_seconds"] == 72 * 3600
    assert datetime.fromisoformat(resumed["ends_at"]) == published_at + timedelta(days=3, hours=72)
    refused(
        await client.post(f"/api/objections/{objection_id}/reply", headers=staff, json=reply), 409, "already_answered"
    )

    # A complaint after the reply, to the supervisors: accepted, then ruled.
    complaint = {"objection_id": objection_id, "text": "招标人对异议的答复未附核查材料，请监督部门调查。"}
    refused(await client.post(base + "/complaints", headers=b0.headers, json=complaint), 422, "objection_first")
    r = await client.post(base + "/complaints", headers=b2.headers, json=complaint)
    assert r.status_code == 201, r.text
    complaint_id = r.json()["id"]
    decision = {"accept": True, "note": "符合受理条件，予以受理"}
    refused(
        await client.post(f"/api/complaints/{complaint_id}/decision", headers=staff, json=decision), 403, "wrong_role"
    )
    supervisor = ev.world.headers("supervisor")
    r = await client.post(f"/api/complaints/{complaint_id}/decision", headers=supervisor, json=decision)
    assert r.status_code == 200 and r.json()["state"] == "accepted" and r.json()["ruling_due_at"], r.text
    r = await client.post(
        f"/api/complaints/{complaint_id}/ruling",
        headers=supervisor,
        json={"ruling": "投诉事项缺乏事实根据，驳回投诉。"},
    )
    assert r.status_code == 200 and r.json()["state"] == "ruled", r.text

    # No letters and no scores for bidders before the result.
    refused(await client.get(base + "/my-letter", headers=b0.headers), 404, "no_letter")

    # The award waits for the lengthened window, then goes to the first candidate.
    refused(await client.post(base + "/award", headers=staff, json={}), 422, "publicity_running")
    clock.set(datetime.fromisoformat(resumed["ends_at"]) + timedelta(minutes=1))
    refused(
        await client.post(base + "/award", headers=staff, json={"winner_bid_id": ev.bid_ids[b0.credit_code]}),
        400,
        "reason_required",
    )
    r = await client.post(base + "/award", headers=staff, json={})
    assert r.status_code == 201, r.text
    result = (await client.get(f"/api/notices/{r.json()['notice_id']}")).json()
    assert result["kind"] == "result" and result["fields"]["winner"] == b1.name
    assert result["fields"]["price_fen"] == 4_500_000_001 and result["fields"]["project_leader"] == "王建华"
    assert len(result["fields"]["evaluation_panel"]) == 5

    # The draw is revealed with the result and anyone can recompute the panel.
    view = DrawRead(**(await client.get(base + "/expert-draw")).json())
    assert view.state == "revealed" and sorted(draws.recompute(view)) == sorted(experts)

    # Letters: the winner's award letter; the others their own rank and score, nobody else's.
    won = (await client.get(base + "/my-letter", headers=b1.headers)).json()
    assert won["kind"] == "award" and won["content"]["rank"] == 1
    lost = (await client.get(base + "/my-letter", headers=b2.headers)).json()
    assert lost["kind"] == "result" and lost["content"]["rank"] == 3 and lost["content"]["outcome"] == "not_awarded"
    assert b0.name not in json.dumps(lost, ensure_ascii=False)
    assert [x["section_id"] for x in (await client.get("/api/my/letters", headers=b0.headers)).json()] == [sid]
    refused(await client.get("/api/my/letters", headers=staff), 403, "wrong_role")
    await sign_in(client, "bidder3")  # the letters in the bidder's account, on the portal
    page = await client.get("/account")
    assert page.status_code == 200 and "中标结果通知书" in page.text and "第 3 名（共 3 名）" in page.text

    keys = await log_keys(app, "")
    for key in (f"objection:{objection_id}", f"complaint:{complaint_id}", f"result_letters:{sid}"):
        assert key in keys


async def test_the_plan_is_fixed_before_the_deadline_and_checked(app, client, clock, tmp_path):
    ev = await under_evaluation(app, client, clock, tmp_path)
    url = f"/api/sections/{ev.section.id}/evaluation-plan"
    refused(await client.put(url, headers=ev.world.headers("staff"), json=COMPREHENSIVE), 422, "plan_fixed")
    assert (await client.get(url)).json()["method"] == "comprehensive"


async def test_a_plan_must_add_up_to_100_points(app, client, clock, tmp_path):
    from tests.evaluation.harness import pool_and_bids

    world, section, _, _ = await pool_and_bids(app, client, clock, tmp_path)
    url = f"/api/sections/{section.id}/evaluation-plan"
    staff = world.headers("staff")
    wrong = {**COMPREHENSIVE, "price_formula": {"kind": "lowest", "full": "30"}}
    refused(await client.put(url, headers=staff, json=wrong), 400, "plan_not_100")
    refused(await client.put(url, headers=staff, json={"method": "comprehensive"}), 400, "plan_incomplete")
    refused(await client.put(url, headers=world.headers("bidder"), json=COMPREHENSIVE), 403, "wrong_role")
    refused(await client.put(url, headers=world.headers("other_staff"), json=COMPREHENSIVE), 403, "other_centre")
    assert (await client.put(url, headers=staff, json={"method": "lowest_price"})).status_code == 200


async def test_a_majority_rejection_leaves_fewer_than_three_and_voids_the_tender(app, client, clock, tmp_path):
    ev = await under_evaluation(app, client, clock, tmp_path)
    base = f"/api/sections/{ev.section.id}"
    # Three of the five reject the first bidder: rejected; fewer than three qualify, so the tender is void.
    for n, headers in enumerate(ev.panel.values()):
        body = sheet_for(ev, n, reject=0 if n < 3 else None)
        assert (await client.put(base + "/evaluation/sheet", headers=headers, json=body)).status_code == 200
    r = await client.post(base + "/evaluation/report", headers=ev.world.headers("staff"))
    assert r.status_code == 201, r.text
    report = r.json()["report"]
    first = next(b for b in report["bids"] if b["credit_code"] == ev.bidders[0].credit_code)
    assert (
        not first["qualified"] and first["rejection"]["ground"] == "not_qualified" and first["rejection"]["votes"] == 3
    )
    assert r.json()["void"] and report["ranking"] == []
    notices = (await client.get("/api/notices", params={"project_id": ev.section.notice["project_id"]})).json()
    assert any(n["kind"] == "termination" for n in notices["items"])
    body = {"candidates": [{"bid_id": ev.bid_ids[ev.bidders[1].credit_code], **LEADERS}]}
    refused(await client.post(base + "/candidate-publicity", headers=ev.world.headers("staff"), json=body), 422, "void")


async def test_a_minority_rejection_does_not_reject_and_its_points_are_left_out(app, client, clock, tmp_path):
    ev = await under_evaluation(app, client, clock, tmp_path)
    base = f"/api/sections/{ev.section.id}"
    for n, headers in enumerate(ev.panel.values()):
        body = sheet_for(ev, n, reject=0 if n < 2 else None)
        assert (await client.put(base + "/evaluation/sheet", headers=headers, json=body)).status_code == 200
    r = await client.post(base + "/evaluation/report", headers=ev.world.headers("staff"))
    assert r.status_code == 201, r.text
    report = r.json()["report"]
    first = next(b for b in report["bids"] if b["credit_code"] == ev.bidders[0].credit_code)
    assert first["qualified"] and len(first["rejected_by"]) == 2 and "rejection" not in first
    # averaged over the three who qualified it (fewer than five: nothing dropped)
    assert first["criteria"] == {"construction_plan": "25.00", "quality_safety": "15.00", "credit": "8.00"}
    assert not r.json()["void"] and len(report["ranking"]) == 3


async def test_a_draft_sections_plan_is_seen_only_by_who_may_see_the_draft(app, client, clock):
    """The plan is public like the tender documents — once they are: before the section's trade is published,
    the public, a bidder and another centre's staff are told there is none."""
    from tests.factories import build_world, create_project

    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    url = f"/api/sections/{project['sections'][0]['id']}/evaluation-plan"
    assert (await client.put(url, headers=world.headers("staff"), json=COMPREHENSIVE)).status_code == 200
    for who in (None, "bidder", "other_staff"):
        r = await client.get(url, headers=world.headers(who) if who else {})
        refused(r, 404, "no_plan")
    for who in ("staff", "supervisor", "admin"):
        r = await client.get(url, headers=world.headers(who))
        assert r.status_code == 200 and r.json()["method"] == "comprehensive", (who, r.text)
