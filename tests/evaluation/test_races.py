"""The evaluation's steps asked for twice at once — two staff pressing the same button, a client retrying — make
the step once: one request succeeds and the others are refused with a 409 that says another request made the
same change (each service checks, then inserts; the database's unique constraint decides between the two that
passed the check together). Never a 500, never two reports, publicities, awards or sheets."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from evaluation.models import EvaluationReport, ScoreSheet
from notices.models import Notice
from tests.evaluation.harness import under_evaluation
from tests.evaluation.test_award_flow import LEADERS, sheet_for

pytestmark = pytest.mark.asyncio

AT_ONCE = 3


async def _at_once(request, n: int = AT_ONCE) -> list:
    answers = await asyncio.gather(*(request() for _ in range(n)))
    statuses = sorted(a.status_code for a in answers)
    assert all(s < 300 or s == 409 for s in statuses), [a.text for a in answers]
    assert sum(s < 300 for s in statuses) == 1, [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        error = refused.json()["error"]
        assert error["message_zh"] and error["message_en"], error
    return answers


async def _count(app, model, **where) -> int:
    async with app.state.sessionmaker() as s:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return await s.scalar(query)


async def test_each_evaluation_step_asked_for_at_once_is_made_once(app, client, clock, tmp_path):
    ev = await under_evaluation(app, client, clock, tmp_path)
    sid, staff = ev.section.id, ev.world.headers("staff")
    base = f"/api/sections/{sid}"
    panel = list(ev.panel.values())

    # One evaluator's first sheet, saved twice at once (a double click): one sheet.
    first = sheet_for(ev, 0)
    answers = await asyncio.gather(
        *(client.put(base + "/evaluation/sheet", headers=panel[0], json=first) for _ in range(2))
    )
    assert sorted(a.status_code for a in answers)[0] == 200 and all(a.status_code in (200, 409) for a in answers)
    assert await _count(app, ScoreSheet, section_id=sid) == 1
    for n, headers in enumerate(panel[1:], start=1):
        assert (await client.put(base + "/evaluation/sheet", headers=headers, json=sheet_for(ev, n))).status_code == 200

    await _at_once(lambda: client.post(base + "/evaluation/report", headers=staff))
    assert await _count(app, EvaluationReport, section_id=sid) == 1

    body = {"candidates": [{"bid_id": b, **LEADERS} for b in ev.bid_ids.values()], "days": 3}
    [window] = [
        a
        for a in await _at_once(lambda: client.post(base + "/candidate-publicity", headers=staff, json=body))
        if a.status_code < 300
    ]
    assert await _count(app, Notice, kind="candidate_publicity") == 1

    clock.set(datetime.fromisoformat(window.json()["ends_at"]) + timedelta(minutes=1))
    await _at_once(lambda: client.post(base + "/award", headers=staff, json={}))
    assert await _count(app, Notice, kind="result") == 1
