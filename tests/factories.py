"""Realistic test data: Hunan organisations with valid credit codes, people in every role, and helpers that
go through the public API the way staff would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from litestar import Litestar

from trading.accounts import schemas as acc
from trading.accounts.credit_code import make_credit_code
from trading.accounts.models import Person
from trading.accounts.services import create_centre, create_organisation, create_person, issue_token
from trading.context import Act

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "correct-horse-battery"


async def integrate_all(app: Litestar, *, rounds: int = 20) -> int:
    """Integrate the log until nothing is left to do by the app's clock; fails after *rounds* busy rounds
    (a round that always finds work would otherwise loop for ever)."""
    from trading.log.integrator import integrate_once

    size = 0
    for _ in range(rounds):
        result = await integrate_once(app.state)
        if result is None:
            return size
        size = result
    raise AssertionError(f"the log integrator still had work after {rounds} rounds")


def local(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@dataclass
class World:
    """Two centres (常德, 怀化), organisations, and a person with a token for every role."""

    centre_id: int = 0
    other_centre_id: int = 0
    tenderer_id: int = 0
    agent_id: int = 0
    transferor_id: int = 0
    bidder_org_id: int = 0
    people: dict[str, Person] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


async def build_world(app: Litestar, now: datetime) -> World:
    settings = app.state.settings
    world = World()
    act = Act(actor=None, address="127.0.0.1", at=now)
    async with app.state.sessionmaker() as s:
        cd = await create_centre(
            s, act, acc.CentreCreate(code="CD", name="常德市公共资源交易中心", region_code="430700")
        )
        hh = await create_centre(
            s, act, acc.CentreCreate(code="HH", name="怀化市公共资源交易中心", region_code="431200")
        )
        world.centre_id, world.other_centre_id = cd.id, hh.id
        orgs = [
            ("tenderer", "澧县交通运输局", make_credit_code("1", "1", "430723", "MB1C0011"), ["tenderer"]),
            (
                "agent",
                "湖南澧州工程咨询有限公司",
                make_credit_code("9", "1", "430723", "MA4L0023"),
                ["agent"],
            ),
            (
                "transferor",
                "澧县自然资源局",
                make_credit_code("1", "1", "430723", "MB1C0038"),
                ["transferor"],
            ),
            (
                "bidder",
                "湖南湘北路桥建设有限公司",
                make_credit_code("9", "1", "430700", "MA4P0041"),
                ["bidder"],
            ),
        ]
        ids = {}
        for key, name, code, kinds in orgs:
            org = await create_organisation(
                s, act, acc.OrganisationCreate(name=name, credit_code=code, kinds=kinds, region_code="430723")
            )
            ids[key] = org.id
        world.tenderer_id, world.agent_id = ids["tenderer"], ids["agent"]
        world.transferor_id, world.bidder_org_id = ids["transferor"], ids["bidder"]
        people = [
            ("admin", "系统管理员", ["admin"], None, None),
            ("staff", "王晓明", ["staff"], cd.id, None),
            ("other_staff", "刘芳", ["staff"], hh.id, None),
            ("supervisor", "陈建国", ["supervisor"], cd.id, None),
            ("other_supervisor", "杨秀兰", ["supervisor"], hh.id, None),
            ("expert_keeper", "孙立新", ["expert_keeper"], None, None),
            ("opener", "李开", ["opener"], None, None),
            ("evaluator", "赵评", ["evaluator"], None, None),
            ("bidder", "张伟", ["bidder"], None, ids["bidder"]),
        ]
        for username, name, roles, centre_id, org_id in people:
            person = await create_person(
                s,
                act,
                acc.PersonCreate(
                    username=username,
                    display_name=name,
                    password=PASSWORD,
                    roles=roles,
                    centre_id=centre_id,
                    organisation_id=org_id,
                ),
                settings,
            )
            world.people[username] = person
            _, token = await issue_token(s, act, person, "tests", app.state.settings)
            world.tokens[username] = token
        await s.commit()
    return world


def project_payload(world: World, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "澧县2026年城区道路提质改造工程",
        "trade_kind": "works",
        "procedure": "works_open_tender",
        "region_code": "430723",
        "tenderer_id": world.tenderer_id,
        "agent_id": world.agent_id,
        "description": "对澧县城区澧阳路、解放路等道路进行提质改造，全长约5.3公里。",
        "budget_fen": 4_865_000_000,
        "control_price_fen": 4_700_000_000,
        "funding_sources": [
            {"kind": "fiscal", "amount_fen": 2_865_000_000, "description": "县级财政资金"},
            {"kind": "special_bond", "amount_fen": 2_000_000_000, "description": "2026年地方政府专项债券"},
        ],
        "sections": [{"code": "01", "name": "第一标段：澧阳路K0+000～K2+800", "estimated_price_fen": 2_500_000_000}],
    }
    payload.update(overrides)
    return payload


TENDER_FIELDS = {
    "project_overview": "澧阳路、解放路道路提质改造，含路面、排水、照明及交通设施，全长约5.3公里。",
    "funding_source": "县级财政资金及2026年地方政府专项债券，资金已落实。",
    "qualification": "具备市政公用工程施工总承包二级及以上资质，项目经理具备市政公用工程二级注册建造师。",
    "consortium_allowed": False,
    "documents_how": "于获取期间内登录湖南省公共资源交易平台下载电子招标文件。",
    "submission_how": "通过平台递交加密电子投标文件。",
    "tenderer_contact": "澧县交通运输局 李先生 0736-3221234",
}


def tender_timetable(published: datetime, days: int = 20) -> dict[str, str]:
    deadline = (published.astimezone(SHANGHAI) + timedelta(days=days)).replace(
        hour=9, minute=30, second=0, microsecond=0
    )
    return {
        "documents_issued": published.isoformat(),
        "documents_sale_start": published.isoformat(),
        "documents_sale_end": (published + timedelta(days=7)).isoformat(),
        "bid_deadline": deadline.isoformat(),
        "opening": deadline.isoformat(),
    }


async def create_project(
    client: httpx.AsyncClient, world: World, *, who: str = "staff", **overrides: Any
) -> dict[str, Any]:
    """A project filed by *who* with its own centre (常德's staff by default; "other_staff" for 怀化's area)."""
    r = await client.post("/api/projects", json=project_payload(world, **overrides), headers=world.headers(who))
    assert r.status_code == 201, r.text
    return r.json()


async def draft_tender(
    client: httpx.AsyncClient,
    world: World,
    project: dict[str, Any],
    now: datetime,
    days: int = 20,
    *,
    who: str = "staff",
    **overrides: Any,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "project_id": project["id"],
        "kind": "tender",
        "title": f"{project['name']}施工招标公告",
        "body": "一、招标条件\n本招标项目澧县城区道路提质改造工程已批准建设，招标人为澧县交通运输局。\n"
        "二、项目概况与招标范围\n道路全长约5.3公里，计划工期240日历天。",
        "fields": dict(TENDER_FIELDS),
        "timetable": tender_timetable(now, days),
    }
    payload.update(overrides)
    r = await client.post("/api/staff/notices", json=payload, headers=world.headers(who))
    assert r.status_code == 201, r.text
    return r.json()


async def attach(
    client: httpx.AsyncClient,
    world: World,
    draft: dict[str, Any],
    filename: str,
    body: bytes,
    media_type: str | None = None,
) -> httpx.Response:
    """Staff upload *body* as an attachment of the draft notice; the answer, whatever it is."""
    headers = world.headers("staff") | ({"content-type": media_type} if media_type else {})
    return await client.post(
        f"/api/staff/notices/{draft['id']}/attachments", params={"filename": filename}, content=body, headers=headers
    )


async def published_tender(client: httpx.AsyncClient, world: World, now: datetime, days: int = 20) -> dict[str, Any]:
    project = await create_project(client, world)
    draft = await draft_tender(client, world, project, now, days)
    r = await client.post(f"/api/staff/notices/{draft['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    return r.json()
