"""Publishing under the rules: periods, required fields, immutability, amendments, terminations."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from notices.models import Notice, NoticeVersion
from tests.factories import (
    SHANGHAI,
    build_world,
    create_project,
    draft_tender,
    local,
    published_tender,
    tender_timetable,
)
from trading.audit.models import AuditEntry
from trading.projects.models import Section

pytestmark = pytest.mark.asyncio


async def _counts(app):
    async with app.state.sessionmaker() as s:
        return (
            await s.scalar(select(func.count()).select_from(NoticeVersion)),
            await s.scalar(select(func.count()).select_from(AuditEntry)),
            [(n.status, n.current_version, n.title) for n in await s.scalars(select(Notice).order_by(Notice.id))],
            [s_.state for s_ in await s.scalars(select(Section).order_by(Section.id))],
        )


async def test_a_19_day_tender_period_is_refused_naming_the_law(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at, days=19)
    before = await _counts(app)
    r = await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "period_too_short"
    assert error["rule"] == "法 §24"
    assert "自招标文件发出之日起至投标截止不得少于20日（《招标投标法》第二十四条）" in error["message_zh"]
    assert "20 days" in error["message_en"]
    assert await _counts(app) == before, "a refused publication must leave the database as it was"


async def test_a_20_day_tender_period_is_published_as_version_1(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at, days=20)
    assert notice["status"] == "published"
    assert notice["version"] == 1
    assert len(notice["versions"]) == 1
    doc = await client.get(notice["versions"][0]["document_url"])
    import hashlib

    assert hashlib.sha256(doc.content).hexdigest() == notice["content_hash"] == doc.headers["x-content-sha256"]
    assert doc.json()["title"] == notice["title"]
    missing = await client.get(f"/api/notices/{notice['id']}/versions/2/document")  # the notice is there; not v2
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "version_not_found", missing.text
    project = (await client.get(f"/api/projects/{notice['project_id']}")).json()
    assert project["sections"][0]["state"] == "tendering"
    assert project["sections"][0]["deadline_at"] is not None


async def test_opening_must_be_at_the_deadline(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    timetable = tender_timetable(clock.at, 25)
    timetable["opening"] = local(2026, 3, 27, 15, 0).isoformat()
    draft = await draft_tender(client, world, project, clock.at, timetable=timetable)
    r = await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 422
    assert r.json()["error"]["rule"] == "法 §34"


async def test_missing_required_fields_are_named(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at, fields={"tenderer_contact": "李先生"})
    r = await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "missing_fields"
    assert "资金来源" in error["message_zh"] and "funding_source" in error["details"]["fields"]


async def test_a_published_notice_cannot_be_edited(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    before = await _counts(app)
    r = await client.patch(
        f"/api/staff/notices/{notice['id']}", json={"title": "悄悄修改后的标题"}, headers=world.headers("staff")
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "notice_published_immutable"
    assert "变更" in r.json()["error"]["message_zh"]
    r = await client.post(f"/api/staff/notices/{notice['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 409
    assert await _counts(app) == before


async def _amendment(client, world, notice, **fields):
    payload = {
        "project_id": notice["project_id"],
        "kind": "amendment",
        "title": f"关于{notice['title']}的变更公告",
        "body": "现对招标文件作如下澄清与修改。",
        "target_notice_id": notice["id"],
        "fields": {"affects_bids": True, "reason": "调整工程量清单", "changes": {}} | fields,
    }
    r = await client.post("/api/staff/notices", json=payload, headers=world.headers("staff"))
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_late_clarification_must_move_the_deadline_and_is_offered_the_earliest_lawful_one(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at, days=20)  # deadline 22 March 09:30
    clock.advance(days=10)  # 12 March: only 10 days left
    amendment = await _amendment(client, world, notice)
    before = await _counts(app)
    r = await client.post(f"/api/staff/notices/{amendment['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "deadline_must_move"
    assert "15日" in error["message_zh"] and "第二十三条" in error["message_zh"]
    earliest = error["details"]["earliest_lawful_deadline"]
    assert earliest.startswith("2026-03-27T09:30")  # 12 March + 15 days, a Friday, same time of day
    assert await _counts(app) == before

    moved = dict(tender_timetable(clock.at, 0))
    r = await client.patch(
        f"/api/staff/notices/{amendment['id']}",
        json={
            "fields": amendment["fields"] | {"changes": {"timetable": {"bid_deadline": earliest, "opening": earliest}}}
        },
        headers=world.headers("staff"),
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/staff/notices/{amendment['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    target = (await client.get(f"/api/notices/{notice['id']}")).json()
    assert target["version"] == 2
    assert [v["version"] for v in target["versions"]] == [1, 2]
    assert target["versions"][1]["amendment_notice_id"] == amendment["id"]
    assert target["versions"][1]["change_summary"] == "调整工程量清单"
    assert target["versions"][0]["content_hash"] != target["versions"][1]["content_hash"]
    assert target["deadline_at"].startswith("2026-03-27T01:30")
    # The first version's bytes are still served, unchanged.
    v1 = await client.get(target["versions"][0]["document_url"])
    assert v1.json()["timetable"]["bid_deadline"].startswith("2026-03-22")
    del moved


async def test_a_clarification_that_does_not_affect_bids_keeps_the_deadline(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at, days=20)
    clock.advance(days=10)
    amendment = await _amendment(
        client,
        world,
        notice,
        affects_bids=False,
        changes={"fields": {"tenderer_contact": "澧县交通运输局 王女士 0736-3220000"}},
    )
    r = await client.post(f"/api/staff/notices/{amendment['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    target = (await client.get(f"/api/notices/{notice['id']}")).json()
    assert target["fields"]["tenderer_contact"].endswith("3220000")
    assert target["version"] == 2


async def test_termination_ends_the_trade_and_refuses_later_amendments(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at, days=20)
    r = await client.post(
        "/api/staff/notices",
        json={
            "project_id": notice["project_id"],
            "kind": "termination",
            "title": "澧县城区道路提质改造工程终止公告",
            "body": "因规划调整，本项目终止招标。",
            "target_notice_id": notice["id"],
            "fields": {"outcome": "terminated", "reason": "规划调整"},
        },
        headers=world.headers("staff"),
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/staff/notices/{r.json()['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    project = (await client.get(f"/api/projects/{notice['project_id']}")).json()
    assert project["sections"][0]["state"] == "terminated"
    amendment = await _amendment(client, world, notice, affects_bids=False, changes={"fields": {"qualification": "x"}})
    r = await client.post(f"/api/staff/notices/{amendment['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "target_not_open"


async def test_two_concurrent_publishes_of_one_draft_give_one_version(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, clock.at)
    url = f"/api/staff/notices/{draft['id']}/publish"
    results = await asyncio.gather(*[client.post(url, headers=world.headers("staff")) for _ in range(4)])
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1, [r.text for r in results]
    assert all(c == 409 for c in codes if c != 200)
    async with app.state.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(NoticeVersion)) == 1


async def test_concurrent_publications_get_gap_free_change_numbers(app, client, clock):
    world = await build_world(app, clock.at)
    drafts = []
    for i in range(6):
        project = await create_project(client, world, name=f"澧县乡村道路建设工程（第{i + 1}批）")
        drafts.append(await draft_tender(client, world, project, clock.at))
    results = await asyncio.gather(
        *[client.post(f"/api/staff/notices/{d['id']}/publish", headers=world.headers("staff")) for d in drafts]
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    page = (await client.get("/api/changes", params={"limit": 100})).json()
    assert [i["seq"] for i in page["items"]] == list(range(1, 7))
    assert page["watermark"] == 6


async def test_publishing_is_audited_with_hashes_before_and_after(app, client, clock):
    world = await build_world(app, clock.at)
    notice = await published_tender(client, world, clock.at)
    r = await client.get(
        "/api/audit",
        params={"subject_type": "notice", "subject_id": str(notice["id"])},
        headers=world.headers("supervisor"),
    )
    assert r.status_code == 200
    entries = r.json()["items"]
    publish = next(e for e in entries if e["action"] == "notice.publish")
    assert publish["actor_name"] == "王晓明"
    assert publish["address"] == "127.0.0.1"
    assert publish["before_hash"] and publish["after_hash"] and publish["before_hash"] != publish["after_hash"]
    assert publish["details"]["content_hash"] == notice["content_hash"]
    r = await client.delete(f"/api/audit/{publish['id']}", headers=world.headers("admin"))
    assert r.status_code in (404, 405)


async def test_deadline_on_a_public_holiday_is_computed_in_working_days_for_procurement(app, client, clock):
    """A procurement notice period of 5 working days cannot be met over the National Day week."""
    world = await build_world(app, clock.at)
    clock.set(local(2026, 9, 29, 9, 0))
    project = await create_project(
        client, world, name="常德市第一中学教学设备采购项目", trade_kind="procurement", procedure="gp_open_tender"
    )
    at = clock.at
    deadline = (at + timedelta(days=22)).astimezone(SHANGHAI).replace(hour=9, minute=30)
    fields = {
        "project_overview": "采购教学一体机120台",
        "funding_source": "财政资金",
        "qualification": "符合采购法第二十二条",
        "consortium_allowed": False,
        "documents_how": "平台下载",
        "submission_how": "平台递交",
        "tenderer_contact": "常德市第一中学 0736-7200000",
        "budget_fen": 360_000_000,
        "requirements": "详见采购文件",
        "document_price_fen": 0,
        "opening_place": "常德市公共资源交易中心开标室",
    }
    timetable = {
        "documents_issued": at.isoformat(),
        "documents_sale_start": at.isoformat(),
        "documents_sale_end": local(2026, 10, 12, 17).isoformat(),
        "notice_period_end": local(2026, 10, 6, 17).isoformat(),  # 5 calendar days later, but holidays
        "bid_deadline": deadline.isoformat(),
        "opening": deadline.isoformat(),
    }
    r = await client.post(
        "/api/staff/notices",
        json={
            "project_id": project["id"],
            "kind": "procurement",
            "title": "常德市第一中学教学设备采购公告",
            "body": "采购公告正文",
            "fields": fields,
            "timetable": timetable,
        },
        headers=world.headers("staff"),
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/staff/notices/{r.json()['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 422, r.json()["timetable"]
    assert "87号令" in r.json()["error"]["rule"]
