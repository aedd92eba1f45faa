"""The supervisors' alerts page (/supervision, 监督预警): a supervisor sees its own centre's alerts and marks one
as seen through a form (session and CSRF token); another centre's supervisor neither sees nor marks it; the
public is sent to sign in and a bidder is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import build_world, create_project
from tests.portal.test_pages import csrf_in, is_html, sign_in
from trading.audit.models import AuditEntry
from trading.funds.models import SupervisionAlert
from trading.funds.services import raise_alert

pytestmark = pytest.mark.asyncio


async def _alert(app, clock, project_id: int) -> int:
    async with app.state.sessionmaker() as s:
        alert_id = await raise_alert(
            s,
            kind="objection_reply_overdue",
            project_id=project_id,
            subject_type="objection",
            subject_id=7,
            message_zh="城区道路工程第一标段：异议应于3日内答复，至今未答复",
            message_en="An objection is past its reply deadline and has none",
            details={"due_at": clock.at.isoformat()},
            at=clock.at,
        )
        await s.commit()
    assert alert_id is not None
    return alert_id


async def test_a_supervisor_sees_its_centres_alerts_and_marks_one_as_seen(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    alert_id = await _alert(app, clock, project["id"])

    r = await client.get("/supervision")
    assert r.status_code == 401 and is_html(r) and "请先登录" in r.text

    csrf = await sign_in(client, "bidder")
    r = await client.get("/supervision")
    assert r.status_code == 403 and is_html(r)
    assert 'href="/supervision"' not in r.text  # no link to it for a bidder
    r = await client.post(f"/supervision/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf})
    assert r.status_code == 403 and "wrong_role" in r.text

    # Another centre's supervisor: nothing to see, and marking it is refused.
    client.cookies.clear()
    csrf = await sign_in(client, "other_supervisor")
    r = await client.get("/supervision")
    assert r.status_code == 200 and "没有待处理的预警" in r.text and "至今未答复" not in r.text
    r = await client.post(f"/supervision/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf})
    assert r.status_code == 403 and "other_centre" in r.text

    client.cookies.clear()
    csrf = await sign_in(client, "supervisor")
    r = await client.get("/")
    assert 'href="/supervision"' in r.text  # in the top bar
    r = await client.get("/supervision")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "异议逾期未答复" in r.text and "至今未答复" in r.text and "past its reply deadline" in r.text
    assert f'href="/projects/{project["id"]}"' in r.text and project["name"] in r.text
    assert f'action="/supervision/alerts/{alert_id}/acknowledge"' in r.text

    # Without the form's token nothing changes.
    r = await client.post(f"/supervision/alerts/{alert_id}/acknowledge", data={"csrf_token": "forged"})
    assert r.status_code == 403
    async with app.state.sessionmaker() as s:
        assert (await s.get(SupervisionAlert, alert_id)).acknowledged_at is None

    r = await client.post(f"/supervision/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf, "show": "all"})
    assert r.status_code == 303 and r.headers["location"] == "/supervision?show=all&done=acknowledged"
    r = await client.get("/supervision?done=acknowledged")
    assert "已标记为已阅" in r.text and "没有待处理的预警" in r.text
    r = await client.get("/supervision", params={"show": "all"})
    assert "至今未答复" in r.text and "已阅" in r.text and "· 陈建国" in r.text  # who saw it
    assert f'action="/supervision/alerts/{alert_id}/acknowledge"' not in r.text
    async with app.state.sessionmaker() as s:
        seen = await s.get(SupervisionAlert, alert_id)
        assert seen.acknowledged_at is not None
        actions = list(await s.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "alert")))
        assert actions == ["alert.acknowledge"]


async def test_the_admin_sees_every_centres_alerts_without_a_form_to_mark_them(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    alert_id = await _alert(app, clock, project["id"])
    await sign_in(client, "admin")
    r = await client.get("/supervision")
    assert r.status_code == 200 and "至今未答复" in r.text
    assert f"/supervision/alerts/{alert_id}/acknowledge" not in r.text
    assert csrf_in((await client.get("/account")).text)
