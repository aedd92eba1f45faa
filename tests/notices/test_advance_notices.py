"""Notices before the tender: 招标计划 (advisory), 资格预审公告 (条例 §16–§17) and its result (条例 §19) — published
through the staff API, refused when a field or a period falls short, shown on the portal, valid OCDS."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.factories import SHANGHAI, build_world, create_project, draft_tender
from tests.notices.test_ocds import RELEASE_SCHEMA, errors

pytestmark = pytest.mark.asyncio

PLAN_FIELDS = {
    "project_overview": "新建澧县澧南大道北延线，全长约3.6公里，双向四车道，含排水、照明及交通设施。",
    "estimated_value_fen": 6_280_000_000,
    "expected_tender_time": "2026年5月",
    "tender_method": "公开招标",
    "qualification": "预计要求市政公用工程施工总承包二级及以上资质。",
    "tenderer_contact": "澧县交通运输局 李先生 0736-3221234",
}

PREQUALIFICATION_FIELDS = {
    "project_overview": "澧水大桥及接线工程，主桥长约1.2公里，计划工期900日历天。",
    "funding_source": "中央车购税补助资金及省级财政资金，资金已落实。",
    "qualification": "具备公路工程施工总承包一级及以上资质，近五年完成过1座以上特大桥施工。",
    "consortium_allowed": False,
    "review_method": "qualified",
    "documents_how": "于获取期间内登录湖南省公共资源交易平台下载电子资格预审文件。",
    "submission_how": "通过平台递交电子资格预审申请文件。",
    "tenderer_contact": "澧县交通运输局 李先生 0736-3221234",
}

PASSED = [
    {"name": "湖南湘北路桥建设有限公司", "credit_code": "91430700MA4P00419X"},
    {"name": "湖南路桥建设集团有限责任公司", "credit_code": "914300001837600371"},
    {"name": "中交第二公路工程局有限公司", "credit_code": "91610000220526549F"},
]


def _at(now: datetime, days: int, hour: int = 17) -> str:
    return (now.astimezone(SHANGHAI) + timedelta(days=days)).replace(hour=hour, minute=0).isoformat()


def prequalification_timetable(now: datetime, sale_days: int = 5, after_sale: int = 5) -> dict[str, str]:
    """Documents on sale for *sale_days* days (both ends counted), applications due *after_sale* days later."""
    return {
        "documents_sale_start": now.isoformat(),
        "documents_sale_end": _at(now, sale_days - 1),
        "prequalification_deadline": _at(now, sale_days - 1 + after_sale, 9),
    }


async def _draft(client, world, project, kind: str, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    payload = {
        "project_id": project["id"],
        "kind": kind,
        "title": f"{project['name']}{extra.pop('suffix', '')}",
        "body": "一、项目概况\n见公告要素。",
        "fields": fields,
        **extra,
    }
    r = await client.post("/api/staff/notices", json=payload, headers=world.headers("staff"))
    assert r.status_code == 201, r.text
    return r.json()


async def _publish(client, world, notice: dict[str, Any]):
    return await client.post(f"/api/staff/notices/{notice['id']}/publish", headers=world.headers("staff"))


async def _section_states(client, project) -> list[str]:
    return [s["state"] for s in (await client.get(f"/api/projects/{project['id']}")).json()["sections"]]


async def test_a_tender_plan_is_published_without_opening_the_trade_and_reads_as_advance_notice(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    plan = await _draft(client, world, project, "tender_plan", PLAN_FIELDS, suffix="招标计划")
    r = await _publish(client, world, plan)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published" and r.json()["deadline_at"] is None
    assert await _section_states(client, project) == ["draft"]

    page = (await client.get(f"/notices/{plan['id']}")).text
    assert "招标计划" in page and "估算合同金额" in page and "62,800,000.00" in page and "6,280.00 万元" in page
    assert "不作强制" in page, "the page says the plan's period is advisory"
    listing = (await client.get("/notices", params={"kind": "tender_plan"})).text
    assert '<option value="tender_plan" selected>招标计划</option>' in listing
    assert plan["title"] in listing


async def test_a_tender_plan_without_its_estimated_value_is_refused_by_name(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    fields = {k: v for k, v in PLAN_FIELDS.items() if k != "estimated_value_fen"}
    plan = await _draft(client, world, project, "tender_plan", fields)
    r = await _publish(client, world, plan)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "missing_fields" and error["details"]["fields"] == ["estimated_value_fen"]
    assert "估算合同金额" in error["message_zh"]


async def test_a_tender_plan_after_the_tender_opened_is_refused(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    tender = await draft_tender(client, world, project, clock.at)
    assert (await _publish(client, world, tender)).status_code == 200
    plan = await _draft(client, world, project, "tender_plan", PLAN_FIELDS)
    r = await _publish(client, world, plan)
    assert r.status_code == 422 and r.json()["error"]["code"] == "trade_already_open"


@pytest.mark.parametrize(
    ("sale_days", "after_sale", "rule"),
    [(4, 5, "条例 §16"), (5, 4, "条例 §17")],
    ids=["documents-on-sale-4-days", "applications-4-days-after-sale"],
)
async def test_a_short_prequalification_period_is_refused_naming_the_regulation(
    app, client, clock, sale_days, after_sale, rule
):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    notice = await _draft(
        client,
        world,
        project,
        "prequalification",
        PREQUALIFICATION_FIELDS,
        timetable=prequalification_timetable(clock.at, sale_days, after_sale),
    )
    r = await _publish(client, world, notice)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "period_too_short" and error["rule"] == rule
    assert "资格预审" in error["message_zh"] and "5日" in error["message_zh"]
    assert (await client.get(f"/api/notices/{notice['id']}")).status_code == 404, "the refused notice stays a draft"


async def test_a_prequalification_needs_its_deadline_and_a_known_review_method(app, client, clock):
    world = await build_world(app, clock.at)
    project = await create_project(client, world)
    timetable = prequalification_timetable(clock.at)
    del timetable["prequalification_deadline"]
    notice = await _draft(client, world, project, "prequalification", PREQUALIFICATION_FIELDS, timetable=timetable)
    r = await _publish(client, world, notice)
    assert r.status_code == 422 and r.json()["error"]["code"] == "timetable_incomplete"
    assert "资格预审申请截止" in r.json()["error"]["message_zh"]

    limited = await _draft(
        client,
        world,
        project,
        "prequalification",
        PREQUALIFICATION_FIELDS | {"review_method": "limited"},
        timetable=prequalification_timetable(clock.at),
    )
    r = await _publish(client, world, limited)
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_shortlist_size"
    odd = await _draft(
        client,
        world,
        project,
        "prequalification",
        PREQUALIFICATION_FIELDS | {"review_method": "抽签"},
        timetable=prequalification_timetable(clock.at),
    )
    r = await _publish(client, world, odd)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_review_method"


async def _prequalify(client, world, clock) -> tuple[dict[str, Any], dict[str, Any]]:
    project = await create_project(client, world, name="澧县澧水大桥及接线工程")
    notice = await _draft(
        client,
        world,
        project,
        "prequalification",
        PREQUALIFICATION_FIELDS,
        suffix="资格预审公告",
        timetable=prequalification_timetable(clock.at),
    )
    r = await _publish(client, world, notice)
    assert r.status_code == 200, r.text
    return project, r.json()


async def _result(client, world, project, prequalification, passed=PASSED, applicants=5):
    return await _draft(
        client,
        world,
        project,
        "prequalification_result",
        {"applicants_count": applicants, "passed": passed, "review_summary": "资格审查委员会按合格制审查。"},
        suffix="资格预审结果公告",
        target_notice_id=prequalification["id"],
    )


async def test_a_prequalification_takes_applications_then_its_result_lets_the_tender_open(app, client, clock):
    world = await build_world(app, clock.at)
    project, notice = await _prequalify(client, world, clock)
    assert notice["deadline_at"] is not None, "the application deadline is the notice's own"
    assert await _section_states(client, project) == ["draft"], "prequalification does not open bidding"
    open_now = (await client.get("/api/notices", params={"status": "open", "kind": "prequalification"})).json()
    assert [n["id"] for n in open_now["items"]] == [notice["id"]]

    # The tender waits for the result.
    tender = await draft_tender(client, world, project, clock.at)
    r = await _publish(client, world, tender)
    assert r.status_code == 422 and r.json()["error"]["code"] == "prequalification_pending"
    assert r.json()["error"]["rule"] == "条例 §19"

    # The result waits for the application deadline.
    result = await _result(client, world, project, notice)
    r = await _publish(client, world, result)
    assert r.status_code == 422 and r.json()["error"]["code"] == "prequalification_not_closed"
    clock.advance(days=10)
    r = await _publish(client, world, result)
    assert r.status_code == 200, r.text
    again = await _result(client, world, project, notice)
    assert (await _publish(client, world, again)).status_code == 409

    tender = await draft_tender(client, world, project, clock.at)
    r = await _publish(client, world, tender)
    assert r.status_code == 200, r.text
    assert await _section_states(client, project) == ["tendering"]
    # Once the tender is open, no new prequalification.
    late = await _draft(
        client,
        world,
        project,
        "prequalification",
        PREQUALIFICATION_FIELDS,
        timetable=prequalification_timetable(clock.at),
    )
    assert (await _publish(client, world, late)).json()["error"]["code"] == "trade_already_open"

    page = (await client.get(f"/notices/{result['id']}")).text
    assert "资格预审结果公告" in page and "通过资格预审的申请人" in page
    assert "统一社会信用代码" in page and "中交第二公路工程局有限公司" in page
    assert f'href="/notices/{notice["id"]}"' in page, "the result links the prequalification it answers"
    page = (await client.get(f"/notices/{notice['id']}")).text
    assert "合格制" in page and "资格预审申请截止" in page and "不开启投标" in page


async def test_fewer_than_three_prequalified_means_tendering_again(app, client, clock):
    world = await build_world(app, clock.at)
    project, notice = await _prequalify(client, world, clock)
    clock.advance(days=10)
    result = await _result(client, world, project, notice, passed=PASSED[:2], applicants=4)
    assert (await _publish(client, world, result)).status_code == 200
    tender = await draft_tender(client, world, project, clock.at)
    r = await _publish(client, world, tender)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "too_few_prequalified" and "重新招标" in error["message_zh"]


async def test_a_result_must_name_who_passed_and_answer_a_prequalification(app, client, clock):
    world = await build_world(app, clock.at)
    project, notice = await _prequalify(client, world, clock)
    clock.advance(days=10)
    more_passed = await _result(client, world, project, notice, applicants=2)
    assert (await _publish(client, world, more_passed)).json()["error"]["code"] == "bad_applicants_count"
    nameless = await _result(client, world, project, notice, passed=[{"credit_code": "91430700MA4P00419X"}])
    assert (await _publish(client, world, nameless)).json()["error"]["code"] == "bad_passed_list"
    plan = await _draft(client, world, project, "tender_plan", PLAN_FIELDS)
    assert (await _publish(client, world, plan)).status_code == 200
    wrong_target = await _result(client, world, project, plan)
    assert (await _publish(client, world, wrong_target)).json()["error"]["code"] == "not_a_prequalification"


async def test_the_notices_before_a_tender_are_valid_ocds_planning_and_tender_releases(app, client, clock):
    world = await build_world(app, clock.at)
    project, notice = await _prequalify(client, world, clock)
    plan = await _draft(client, world, project, "tender_plan", PLAN_FIELDS)
    assert (await _publish(client, world, plan)).status_code == 200
    clock.advance(days=10)
    result = await _result(client, world, project, notice)
    assert (await _publish(client, world, result)).status_code == 200

    releases = (await client.get("/api/ocds/releases", params={"limit": 100})).json()["releases"]
    assert len(releases) == 3
    assert {r["id"]: errors(RELEASE_SCHEMA, r) for r in releases} == {r["id"]: [] for r in releases}
    by_tag = {r["tag"][0]: r for r in releases}
    assert set(by_tag) == {"tender", "planning", "tenderUpdate"}
    planning = by_tag["planning"]
    assert planning["tender"]["status"] == "planned" and planning["tender"]["value"]["amount"] == 62_800_000.0
    assert planning["planning"]["documents"][0]["documentType"] == "procurementPlan"
    tender = by_tag["tender"]["tender"]
    assert tender["procurementMethod"] == "selective" and "合格制" in tender["procurementMethodDetails"]
    assert tender["eligibilityCriteria"].startswith("具备公路工程施工总承包一级")
    assert tender["milestones"][0]["dueDate"] == notice["timetable"]["prequalification_deadline"]
    shortlist = by_tag["tenderUpdate"]["tender"]["documents"][0]
    assert shortlist["documentType"] == "shortlistedFirms" and "中交第二公路工程局有限公司" in shortlist["description"]
