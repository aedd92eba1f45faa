"""Answers overdue are flagged to the supervisors while they are overdue, not only once they finally come
(evaluation.overdue, run by the scheduler's tick): an unanswered objection after its 3 days, a complaint neither
accepted nor rejected after 3 working days, an accepted complaint not ruled on after 30 working days. Each is
flagged once, however many ticks and workers look, to the supervisors of the trade's centre only."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bidding import scheduler
from evaluation.overdue import flag_overdue_answers
from tests.evaluation.harness import under_evaluation
from tests.evaluation.test_award_flow import LEADERS, score_all
from trading.audit.models import AuditEntry

pytestmark = pytest.mark.asyncio


async def _alerts(client, world, kind: str, who: str = "supervisor") -> list[dict]:
    r = await client.get("/api/supervision/alerts", headers=world.headers(who))
    assert r.status_code == 200, r.text
    return [a for a in r.json() if a["kind"] == kind]


async def test_an_objection_and_a_complaint_left_unanswered_are_flagged_once_while_overdue(
    app, client, clock, tmp_path
):
    ev = await under_evaluation(app, client, clock, tmp_path)
    sid, staff, supervisor = ev.section.id, ev.world.headers("staff"), ev.world.headers("supervisor")
    base = f"/api/sections/{sid}"
    await score_all(client, ev)
    assert (await client.post(base + "/evaluation/report", headers=staff)).status_code == 201
    candidates = [{"bid_id": ev.bid_ids[b.credit_code], **LEADERS} for b in ev.bidders]
    r = await client.post(base + "/candidate-publicity", headers=staff, json={"candidates": candidates, "days": 3})
    assert r.status_code == 201, r.text

    objection = {"subject": "对第一名候选人的业绩有异议", "text": "第一中标候选人投标文件所列业绩与实际不符，请核查。"}
    r = await client.post(base + "/objections", headers=ev.bidders[2].headers, json=objection)
    assert r.status_code == 201, r.text
    objection_id, reply_due = r.json()["id"], datetime.fromisoformat(r.json()["reply_due_at"])

    # In time: nothing. A minute past the reply's due time: flagged by the next tick, once.
    clock.set(reply_due - timedelta(minutes=1))
    await scheduler.tick(app.state)
    assert await _alerts(client, ev.world, "objection_reply_overdue") == []
    clock.set(reply_due + timedelta(minutes=1))
    await scheduler.tick(app.state)
    await scheduler.tick(app.state)
    [alert] = await _alerts(client, ev.world, "objection_reply_overdue")
    assert alert["subject_type"] == "objection" and alert["subject_id"] == objection_id
    assert "至今未答复" in alert["message_zh"] and "条例 §54" in alert["message_zh"]
    assert "has none" in alert["message_en"] and alert["details"]["due_at"] == reply_due.isoformat()
    # Another centre's supervisors do not see it.
    assert await _alerts(client, ev.world, "objection_reply_overdue", "other_supervisor") == []

    # The reply due time has passed: the objector may complain. Nobody decides on the complaint for 3 working
    # days; two workers look at once and one alert is raised.
    complaint = {"objection_id": objection_id, "text": "招标人逾期未答复异议，请监督部门处理。"}
    r = await client.post(base + "/complaints", headers=ev.bidders[2].headers, json=complaint)
    assert r.status_code == 201, r.text
    complaint_id, accept_due = r.json()["id"], datetime.fromisoformat(r.json()["accept_due_at"])
    clock.set(accept_due + timedelta(seconds=1))

    async def flag() -> list[tuple[str, int]]:
        async with app.state.sessionmaker() as session:
            flagged = await flag_overdue_answers(session, clock.at)
            await session.commit()
            return flagged

    both = await asyncio.gather(flag(), flag())
    assert sorted(both, key=len) == [[], [("complaint_acceptance_overdue", complaint_id)]]
    [alert] = await _alerts(client, ev.world, "complaint_acceptance_overdue")
    assert alert["subject_id"] == complaint_id and "至今未决定" in alert["message_zh"]

    # Accepted late; its ruling falls due 30 working days later and is not given.
    r = await client.post(
        f"/api/complaints/{complaint_id}/decision", headers=supervisor, json={"accept": True, "note": "予以受理"}
    )
    assert r.status_code == 200, r.text
    ruling_due = datetime.fromisoformat(r.json()["ruling_due_at"])
    clock.set(ruling_due - timedelta(minutes=1))
    await scheduler.tick(app.state)
    assert await _alerts(client, ev.world, "complaint_ruling_overdue") == []
    clock.set(ruling_due + timedelta(minutes=1))
    await scheduler.tick(app.state)
    [alert] = await _alerts(client, ev.world, "complaint_ruling_overdue")
    assert alert["subject_id"] == complaint_id and "30个工作日" in alert["message_zh"]

    # Answered at last: nothing more is flagged, and the late reply raises its own alert as before.
    r = await client.post(
        f"/api/objections/{objection_id}/reply",
        headers=staff,
        json={"outcome": "dismissed", "reply": "经核查，异议不成立。"},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/complaints/{complaint_id}/ruling",
        headers=supervisor,
        json={"ruling": "投诉事项缺乏事实根据，驳回投诉。"},
    )
    assert r.status_code == 200, r.text
    clock.advance(days=60)
    await scheduler.tick(app.state)
    assert [len(await _alerts(client, ev.world, kind)) for kind in _KINDS] == [1, 1, 1]
    assert len(await _alerts(client, ev.world, "objection_reply_late")) == 1
    async with app.state.sessionmaker() as s:
        actions = await s.scalars(
            select(AuditEntry.action).where(AuditEntry.address == "scheduler", AuditEntry.action.like("%overdue"))
        )
        assert sorted(actions) == ["complaint.acceptance_overdue", "complaint.ruling_overdue", "objection.overdue"]
        assert await s.scalar(select(func.count()).where(AuditEntry.action == "objection.overdue")) == 1


_KINDS = ("objection_reply_overdue", "complaint_acceptance_overdue", "complaint_ruling_overdue")
