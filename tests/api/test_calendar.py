"""The working-day calendar is data staff maintain, and the rules read it."""

from __future__ import annotations

import pytest

from tests.factories import build_world

pytestmark = pytest.mark.asyncio


async def test_the_2026_calendar_is_seeded_and_public(client):
    days = (await client.get("/api/calendar", params={"year": 2026})).json()
    by_day = {d["day"]: d for d in days}
    assert by_day["2026-10-01"]["kind"] == "holiday" and by_day["2026-10-01"]["name"] == "国庆节"
    assert by_day["2026-02-28"]["kind"] == "workday"  # a make-up Saturday (调休)
    assert all(d["day"].startswith("2026") for d in days)


async def test_a_year_the_calendar_does_not_hold_is_said_so(client):
    years = (await client.get("/api/calendar/years")).json()
    assert [y["year"] for y in years] == [2026, 2027]
    assert years[0]["holidays"] > 30 and years[0]["workdays"] == 6
    r = await client.get("/api/calendar", params={"year": 2028})
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["code"] == "calendar_year_missing" and error["details"] == {"year": 2028}
    assert "没有2028年的节假日安排" in error["message_zh"]


async def test_the_admin_keeps_the_calendar_and_it_is_audited(app, client, clock):
    world = await build_world(app, clock.at)
    for who in ("staff", "other_staff", "supervisor"):  # it feeds every centre's periods: no centre changes it
        r = await client.put(
            "/api/calendar/2026-05-08", json={"kind": "holiday", "name": "地方性假日"}, headers=world.headers(who)
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_role"
    for day in ("2024-05-01", "2029-01-01"):  # only last year to the year after next
        r = await client.put(
            f"/api/calendar/{day}", json={"kind": "holiday", "name": "元旦"}, headers=world.headers("admin")
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "calendar_day_out_of_range"
    r = await client.put(
        "/api/calendar/2026-05-08", json={"kind": "holiday", "name": "地方性假日"}, headers=world.headers("admin")
    )
    assert r.status_code == 200, r.text
    days = {d["day"]: d for d in (await client.get("/api/calendar", params={"year": 2026})).json()}
    assert days["2026-05-08"]["kind"] == "holiday"
    r = await client.put("/api/calendar/2026-05-08", json={"kind": "normal"}, headers=world.headers("admin"))
    assert r.status_code == 200
    days = {d["day"]: d for d in (await client.get("/api/calendar", params={"year": 2026})).json()}
    assert "2026-05-08" not in days
    audit = (
        await client.get("/api/audit", params={"subject_type": "calendar_day"}, headers=world.headers("admin"))
    ).json()
    assert [e["action"] for e in audit["items"]] == ["calendar.set", "calendar.set"]
    # The calendar is the province's: a centre's supervisors read their centre's trail, not this.
    audit = (
        await client.get("/api/audit", params={"subject_type": "calendar_day"}, headers=world.headers("supervisor"))
    ).json()
    assert audit["items"] == []
    r = await client.put("/api/calendar/2026-05-08", json={"kind": "sometimes"}, headers=world.headers("admin"))
    assert r.status_code == 400
    before = (await client.get("/api/calendar", params={"year": 2026})).json()
    for day in (
        "2026-13-45",
        "2026-02-30",
        "2026-2-3",
        "20260508",
        "2026-W19-5",
        "tomorrow",
        "２０２６-05-08",
    ):  # a day that is no date
        r = await client.put(f"/api/calendar/{day}", json={"kind": "holiday"}, headers=world.headers("admin"))
        assert r.status_code == 400 and r.json()["error"]["code"] in ("invalid_date", "invalid_path_number"), r.text
        assert "2027-02-06" in r.json()["error"]["message_en"] or "0–9" in r.json()["error"]["message_en"], r.text
    assert (await client.get("/api/calendar", params={"year": 2026})).json() == before
    r = await client.put("/api/calendar/2026-05-08", json={"kind": "holiday"}, headers=world.headers("bidder"))
    assert r.status_code == 403


async def test_a_new_holiday_changes_what_the_rules_allow(app, client, clock):
    """Five working days from Monday 4 May 2026 end on Monday 11 May; declare 6–8 May holidays and they do not."""
    from tests.factories import create_project, local

    world = await build_world(app, clock.at)
    clock.set(local(2026, 5, 6, 9))
    project = await create_project(
        client, world, name="澧县人民医院医疗设备采购", trade_kind="procurement", procedure="gp_single_source"
    )

    async def try_publish():
        r = await client.post(
            "/api/staff/notices",
            json=_single_source(project["id"], local(2026, 5, 13, 17)),
            headers=world.headers("staff"),
        )
        assert r.status_code == 201, r.text
        return await client.post(f"/api/staff/notices/{r.json()['id']}/publish", headers=world.headers("staff"))

    # 7, 8, 11, 12, 13 May: five working days after the 6th — lawful.
    assert (await try_publish()).status_code == 200
    for day in ("2026-05-07", "2026-05-08"):
        r = await client.put(
            f"/api/calendar/{day}", json={"kind": "holiday", "name": "防汛停工"}, headers=world.headers("admin")
        )
        assert r.status_code == 200
    r = await try_publish()
    assert r.status_code == 422
    assert "《政府采购法实施条例》第三十八条" in r.json()["error"]["message_zh"]


def _single_source(project_id: int, period_end) -> dict:
    return {
        "project_id": project_id,
        "kind": "procurement",
        "title": "澧县人民医院单一来源采购公示",
        "body": "拟采用单一来源方式采购。",
        "fields": {
            "project_overview": "医疗设备",
            "funding_source": "财政资金",
            "qualification": "见公示",
            "consortium_allowed": False,
            "documents_how": "平台",
            "submission_how": "平台",
            "tenderer_contact": "0736-3200000",
            "budget_fen": 98_000_000,
            "requirements": "见公示",
            "document_price_fen": 0,
            "opening_place": "澧县",
        },
        "timetable": {"notice_period_end": period_end.isoformat()},
    }


async def test_a_working_day_period_in_a_year_without_its_arrangement_is_refused_until_it_is_entered(
    app, client, clock
):
    """In 2028 the platform holds no State Council arrangement: five working days cannot be counted, and the
    refusal says so and names the year, instead of counting 春节 as working days."""
    from sqlalchemy import func, select

    from notices.models import Notice
    from tests.factories import create_project, local
    from trading.log.models import LogEntry

    world = await build_world(app, clock.at)
    clock.set(local(2028, 3, 6, 9))
    project = await create_project(
        client, world, name="澧县人民医院医疗设备采购", trade_kind="procurement", procedure="gp_single_source"
    )
    r = await client.post(
        "/api/staff/notices", json=_single_source(project["id"], local(2028, 3, 14, 17)), headers=world.headers("staff")
    )
    assert r.status_code == 201, r.text
    notice_id = r.json()["id"]
    r = await client.post(f"/api/staff/notices/{notice_id}/publish", headers=world.headers("staff"))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "calendar_year_missing" and error["details"]["year"] == 2028
    assert "2028年" in error["message_zh"] and "2028" in error["message_en"]
    async with app.state.sessionmaker() as s:  # nothing changed
        assert await s.scalar(select(Notice.status).where(Notice.id == notice_id)) == "draft"
        assert await s.scalar(select(func.count()).select_from(LogEntry)) == 0
    # The arrangement is entered (元旦 is enough to say the year is held), and the same notice publishes.
    r = await client.put(
        "/api/calendar/2028-01-01", json={"kind": "holiday", "name": "元旦"}, headers=world.headers("admin")
    )
    assert r.status_code == 200
    r = await client.post(f"/api/staff/notices/{notice_id}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
