"""Contracts: staff record the signed contract of an awarded section, the platform checks it against the award,
publishes its notice and moves the section on; payments follow it; supervisors hear of contracts signed late,
amounts changed and awards left without a contract for more than 30 days."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bidding import scheduler
from notices.models import Notice, NoticeVersion
from tests.factories import build_world, create_project, draft_tender, local
from trading.accounts.models import Organisation
from trading.audit.models import AuditEntry
from trading.funds.contracts import flag_overdue_contracts
from trading.funds.models import Contract, Payment, SupervisionAlert
from trading.funds.services import contracts_of
from trading.log.models import LogEntry
from trading.projects.models import Section

pytestmark = pytest.mark.asyncio

TENDERED = local(2026, 3, 2)  # the tender notice; its bid deadline is 22 March
AWARDED = local(2026, 4, 1, 10)  # the result notice: the contract is due by 1 May (法 §46)
WINNER = "湖南湘北路桥建设有限公司"
TENDERER = "澧县交通运输局"
PRICE = 2_386_450_000
DOCUMENT = hashlib.sha256("澧阳路提质改造工程施工合同（签字盖章版）".encode()).hexdigest()


async def _codes(app) -> dict[str, str]:
    async with app.state.sessionmaker() as s:
        return {o.name: o.credit_code for o in await s.scalars(select(Organisation))}


async def _draft(client, world, project, section, kind: str, title: str, body: str, fields: dict) -> int:
    """A notice of *kind* on *section*, drafted by hand by the project's centre's staff; its id."""
    r = await client.post(
        "/api/staff/notices",
        headers=world.headers("staff"),
        json={"project_id": project["id"], "kind": kind, "title": title, "body": body, "fields": fields,
              "section_ids": [section["id"]]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _publish_result(client, world, project, section, title: str, body: str, fields: dict) -> None:
    """A result notice on *section*, typed in and published by staff (a trade run offline)."""
    notice_id = await _draft(client, world, project, section, "result", title, body, fields)
    r = await client.post(f"/api/staff/notices/{notice_id}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text


async def _awarded(app, client, world, clock, *, name: str = "澧县2026年城区道路提质改造工程", at=AWARDED):
    """A works project whose one section was tendered, then awarded by a published result notice at *at*."""
    clock.set(TENDERED)
    project = await create_project(client, world, name=name)
    tender = await draft_tender(client, world, project, clock.at)
    r = await client.post(f"/api/staff/notices/{tender['id']}/publish", headers=world.headers("staff"))
    assert r.status_code == 200, r.text
    clock.set(at)
    section = project["sections"][0]
    await _publish_result(
        client,
        world,
        project,
        section,
        f"{name}{section['name']}中标结果公告",
        f"中标人：{WINNER}\n中标价：{PRICE / 100:,.2f}元\n工期：240日历天",
        {"winner": WINNER, "price_fen": PRICE, "duration_days": 240, "project_leader": "周建华"},
    )
    return project, section


def _contract(codes: dict[str, str], **overrides):
    body = {
        "tenderer": {"name": TENDERER, "credit_code": codes[TENDERER]},
        "contractor": {"name": WINNER, "credit_code": codes[WINNER]},
        "amount_fen": PRICE,
        "currency": "CNY",
        "signed_on": "2026-04-20",
        "term": {"starts_on": "2026-05-01", "ends_on": "2026-12-26", "description": "240日历天（自开工令载明之日起）"},
        "document_sha256": DOCUMENT,
        "performance_place": "湖南省常德市澧县澧阳路",
    }
    return body | overrides


async def _state(app, section_id: int) -> tuple[int, ...]:
    """Everything a refused request must leave as it was."""
    async with app.state.sessionmaker() as s:
        section = await s.get(Section, section_id)
        return (
            section.state,
            *[
                await s.scalar(select(func.count()).select_from(t))
                for t in (Contract, Notice, NoticeVersion, SupervisionAlert, LogEntry, AuditEntry)
            ],
        )


async def test_a_recorded_contract_is_published_and_payments_follow_it(app, client, clock):
    world = await build_world(app, TENDERED)
    project, section = await _awarded(app, client, world, clock)
    url = f"/api/sections/{section['id']}/contract"
    assert (await client.get(url)).status_code == 404
    clock.set(local(2026, 4, 21))
    codes = await _codes(app)

    r = await client.post(url, headers=world.headers("staff"), json=_contract(codes, notes="含缺陷责任期24个月"))
    assert r.status_code == 201, r.text
    contract = r.json()
    assert contract["amount_fen"] == contract["award_amount_fen"] == PRICE and contract["difference_fen"] == 0
    assert contract["days_after_award"] == 19 and contract["late"] is False
    assert [p["role"] for p in contract["parties"]] == ["甲方", "乙方"]
    assert (await client.get(url)).json() == contract  # public, no sign-in

    notice = (await client.get(f"/api/notices/{contract['notice_id']}")).json()
    assert notice["kind"] == "contract" and notice["section_ids"] == [section["id"]]
    fields = notice["fields"]
    assert fields["parties"][1] == {"role": "乙方", "name": WINNER, "credit_code": codes[WINNER]}
    assert fields["amount_fen"] == PRICE and fields["signed_on"] == "2026-04-20"
    assert fields["document_sha256"] == DOCUMENT and "2026-05-01" in fields["term"]
    sections = (await client.get(f"/api/projects/{project['id']}")).json()["sections"]
    assert sections[0]["state"] == "contracted"

    async with app.state.sessionmaker() as s:
        (facts,) = await contracts_of(s, project["id"])
        assert (facts.notice_id, facts.contractor, facts.amount_fen) == (contract["notice_id"], WINNER, PRICE)
        entry = await s.scalar(select(LogEntry).where(LogEntry.event_key == f"notice:{contract['notice_id']}:v1"))
        assert json.loads(entry.data)["notice_kind"] == "contract"
        audit = await s.scalar(select(AuditEntry).where(AuditEntry.action == "contract.record"))
        assert audit.subject_id == str(section["id"]) and audit.actor_name == "王晓明"
        assert await s.scalar(select(func.count()).select_from(SupervisionAlert)) == 0

    r = await client.post(
        f"/api/projects/{project['id']}/payments",
        headers=world.headers("staff"),
        json={
            "kind": "payment",
            "paid_on": "2026-04-21",
            "amount_fen": PRICE // 10,
            "currency": "CNY",
            "payer": TENDERER,
            "payee": WINNER,
            "payee_credit_code": codes[WINNER],
            "purpose": "工程预付款",
            "evidence_sha256": hashlib.sha256(b"voucher-1").hexdigest(),
        },
    )
    assert r.status_code == 201 and r.json()["contract_notice_id"] == contract["notice_id"], r.text
    assert r.json()["flags"] == []


async def test_refusals_leave_the_database_as_it_was(app, client, clock):
    world = await build_world(app, TENDERED)
    _, section = await _awarded(app, client, world, clock)
    tendering = (await create_project(client, world, name="澧县2026年农村公路安防工程"))["sections"][0]
    clock.set(local(2026, 4, 21))
    codes = await _codes(app)
    url = f"/api/sections/{section['id']}/contract"
    ok = _contract(codes)
    before = await _state(app, section["id"])
    for who, body, status, code in [
        ("bidder", ok, 403, "wrong_role"),
        ("supervisor", ok, 403, "wrong_role"),
        (None, ok, 401, "not_authenticated"),
        ("other_staff", ok, 403, "other_centre"),
        ("staff", ok | {"contractor": {"name": "湖南某某建设有限公司", "credit_code": codes[WINNER]}}, 422,
         "contractor_not_winner"),
        ("staff", ok | {"contractor": {"name": WINNER, "credit_code": codes[TENDERER]}}, 422, "contractor_not_winner"),
        ("staff", ok | {"tenderer": {"name": WINNER, "credit_code": codes[WINNER]}}, 422, "party_not_tenderer"),
        ("staff", ok | {"amount_fen": PRICE + 100_000}, 422, "amount_differs_from_award"),
        ("staff", ok | {"amount_fen": 0}, 400, "invalid_input"),
        ("staff", ok | {"signed_on": "2026-04-22"}, 400, "future_signing"),
        ("staff", ok | {"signed_on": "2026-03-31"}, 422, "signed_before_award"),
        ("staff", ok | {"term": ok["term"] | {"ends_on": "2026-04-30"}}, 400, "term_ends_before_start"),
        ("staff", ok | {"document_sha256": "not-a-hash"}, 400, "invalid_input"),
        ("staff", ok | {"document_sha256": DOCUMENT[:63]}, 400, "invalid_input"),
        ("staff", ok | {"currency": "USD"}, 400, "bad_currency"),
        ("staff", ok | {"contractor": {"name": WINNER, "credit_code": "914307000000000000"}}, 400,
         "invalid_credit_code"),
    ]:  # fmt: skip
        headers = world.headers(who) if who else {}
        r = await client.post(url, headers=headers, json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (who, body, r.text)
    r = await client.post(f"/api/sections/{tendering['id']}/contract", headers=world.headers("staff"), json=ok)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "section_not_awarded"), r.text
    assert r.json()["error"]["details"] == {"state": "draft"}
    r = await client.post("/api/sections/999999/contract", headers=world.headers("staff"), json=ok)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "section_not_found")
    assert await _state(app, section["id"]) == before
    assert (await client.get(url)).status_code == 404

    assert (await client.post(url, headers=world.headers("staff"), json=ok)).status_code == 201
    after = await _state(app, section["id"])
    r = await client.post(url, headers=world.headers("staff"), json=ok)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "contract_exists")
    assert await _state(app, section["id"]) == after


async def test_a_contract_notice_cannot_be_typed_in_by_hand(app, client, clock):
    """A contract notice is published only by recording the contract, for a trade run offline too: typed in by
    hand it would skip the checks against the award and the supervisors' alerts (a changed amount, a late
    signing). The draft may be written; publishing it is refused and changes nothing."""
    world = await build_world(app, TENDERED)
    project, section = await _awarded(app, client, world, clock)  # no bid on the platform: an offline trade
    clock.set(local(2026, 4, 21))
    codes = await _codes(app)
    notice_id = await _draft(
        client,
        world,
        project,
        section,
        "contract",
        "澧县2026年城区道路提质改造工程合同公示",
        "合同金额：30,000,000.00元",
        {
            "parties": [{"role": "甲方", "name": TENDERER}, {"role": "乙方", "name": WINNER}],
            "amount_fen": PRICE * 2,
            "signed_on": "2026-04-20T10:00:00+08:00",
            "term": "240日历天",
            "document_sha256": DOCUMENT,
        },
    )
    before = await _state(app, section["id"])
    refused = await client.post(f"/api/staff/notices/{notice_id}/publish", headers=world.headers("staff"))
    error = refused.json()["error"]
    assert (refused.status_code, error["code"]) == (422, "produced_by_platform"), refused.text
    assert f"POST /api/sections/{section['id']}/contract" in error["message_en"]
    assert "登记合同" in error["message_zh"]
    assert await _state(app, section["id"]) == before

    recorded = await client.post(
        f"/api/sections/{section['id']}/contract", headers=world.headers("staff"), json=_contract(codes)
    )
    assert recorded.status_code == 201, recorded.text
    notice = (await client.get(f"/api/notices/{recorded.json()['notice_id']}")).json()
    assert notice["status"] == "published" and notice["fields"]["amount_fen"] == PRICE


async def test_a_contract_notice_published_before_contracts_were_recorded_stands_for_one(app, client, clock):
    """A database from before contracts were recorded may hold a hand-typed contract notice: the section has its
    contract, and recording another is refused (a sold transfer, which stays sold, would otherwise take two)."""
    from notices import services as notice_services
    from notices.schemas import NoticeDraftCreate
    from trading.accounts.auth import actor_of
    from trading.accounts.models import Person
    from trading.context import Act

    world = await build_world(app, TENDERED)
    project, section = await _awarded(app, client, world, clock)
    clock.set(local(2026, 4, 21))
    async with app.state.sessionmaker() as s:
        staff = await s.scalar(select(Person).where(Person.username == "staff"))
        act = Act(actor=actor_of(staff), address="127.0.0.1", at=clock.at)
        draft = await notice_services.create_draft(
            s,
            act,
            NoticeDraftCreate(
                project_id=project["id"],
                kind="contract",
                title="澧县2026年城区道路提质改造工程合同公示",
                body="合同金额：23,864,500.00元",
                fields={"parties": [{"role": "乙方", "name": WINNER}], "amount_fen": PRICE, "signed_on": "2026-04-20", "term": "240日历天",
                        "document_sha256": DOCUMENT},
                section_ids=[section["id"]],
            ),
        )  # fmt: skip
        await notice_services.publish(s, act, draft.id, tz=local(2026, 1, 1).tzinfo, by_platform=True)
        await s.commit()
    before = await _state(app, section["id"])
    r = await client.post(
        f"/api/sections/{section['id']}/contract", headers=world.headers("staff"), json=_contract(await _codes(app))
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "contract_exists"), r.text
    assert await _state(app, section["id"]) == before


async def _sold(app, client, world, clock, *, parcel: str = "2026-05", **stated):
    """A land listing sold off the platform, its result notice published at AWARDED with *stated* fields."""
    project = await create_project(
        client, world, name=f"澧县澧浦街道{parcel}号地块国有建设用地使用权挂牌出让", trade_kind="land",
        procedure="land_listing", funding_sources=[], budget_fen=None, control_price_fen=None,
        sections=[{"code": "01", "name": f"{parcel}号地块"}],
    )  # fmt: skip
    section = project["sections"][0]
    async with app.state.sessionmaker() as s:  # listed and sold off the platform: only its result is published
        await s.execute(update(Section).where(Section.id == section["id"]).values(state="sold"))
        await s.commit()
    clock.set(AWARDED)
    await _publish_result(
        client,
        world,
        project,
        section,
        f"澧县澧浦街道{parcel}号地块挂牌出让结果公告",
        f"竞得人：{WINNER}\n成交价：{PRICE / 100:,.2f}元",
        {"winner": WINNER, "price_fen": PRICE, **stated},
    )
    return project, section


async def test_a_sold_transfer_records_its_contract_and_stays_sold(app, client, clock):
    """A land transfer, once sold, records its transfer contract against the result notice like a tender: the
    section stays sold, a second is refused; and as its date is the one the confirmation of the sale sets, not
    法 §46's 30 days, one signed 40 days after a result stating no such date is not flagged late."""
    world = await build_world(app, TENDERED)
    _, section = await _sold(app, client, world, clock)
    clock.set(local(2026, 5, 12))
    url = f"/api/sections/{section['id']}/contract"
    body = _contract(await _codes(app), signed_on="2026-05-11")  # 40 days after the result
    recorded = await client.post(url, headers=world.headers("staff"), json=body)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["days_after_award"] == 40 and recorded.json()["late"] is False
    async with app.state.sessionmaker() as s:
        assert (await s.get(Section, section["id"])).state == "sold"
        kinds = set(await s.scalars(select(SupervisionAlert.kind)))
    assert "contract_late" not in kinds
    again = await client.post(url, headers=world.headers("staff"), json=body)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "contract_exists")


async def test_two_staff_recording_at_once_record_one_contract(app, client, clock):
    world = await build_world(app, TENDERED)
    _, section = await _awarded(app, client, world, clock)
    clock.set(local(2026, 4, 21))
    body = _contract(await _codes(app))
    url = f"/api/sections/{section['id']}/contract"
    results = await asyncio.gather(*[client.post(url, headers=world.headers("staff"), json=body) for _ in range(2)])
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    assert [r.json()["error"]["code"] for r in results if r.status_code == 409] == ["contract_exists"]
    async with app.state.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Contract)) == 1
        kinds = list(await s.scalars(select(Notice.status).where(Notice.kind == "contract")))
        assert kinds == ["published"]


async def test_a_late_or_changed_contract_is_recorded_and_supervisors_alerted(app, client, clock):
    world = await build_world(app, TENDERED)
    project, section = await _awarded(app, client, world, clock)
    clock.set(local(2026, 5, 10))
    codes = await _codes(app)
    r = await client.post(
        f"/api/sections/{section['id']}/contract",
        headers=world.headers("staff"),
        json=_contract(
            codes,
            signed_on="2026-05-06",
            amount_fen=PRICE - 1_250_000,
            variation_reason="经招标人与中标人协商，核减暂列金额12,500.00元（不改变工程范围、工期和质量标准）",
        ),
    )
    assert r.status_code == 201, r.text
    contract = r.json()
    assert contract["late"] is True and contract["days_after_award"] == 35
    assert contract["difference_fen"] == -1_250_000 and contract["award_amount_fen"] == PRICE
    notice = (await client.get(f"/api/notices/{contract['notice_id']}")).json()
    assert notice["fields"]["award_amount_fen"] == PRICE and "暂列金额" in notice["fields"]["variation_reason"]

    alerts = (await client.get("/api/supervision/alerts", headers=world.headers("supervisor"))).json()
    mine = {a["kind"]: a for a in alerts if a["project_id"] == project["id"]}
    assert set(mine) == {"contract_late", "contract_amount_differs"}
    late = mine["contract_late"]
    assert late["subject_type"] == "contract" and late["subject_id"] == contract["id"]
    assert late["details"]["due_on"] == "2026-05-01" and late["details"]["days_after_award"] == 35
    assert "35" in late["message_zh"]
    assert mine["contract_amount_differs"]["details"]["difference_fen"] == -1_250_000


async def test_awards_without_a_contract_after_30_days_are_flagged_once(app, client, clock):
    world = await build_world(app, TENDERED)
    _, overdue = await _awarded(app, client, world, clock, name="澧县2026年城区道路提质改造工程")
    _, signed = await _awarded(app, client, world, clock, name="澧县2026年城区排水管网改造工程")
    _, recent = await _awarded(
        app, client, world, clock, name="澧县2026年城区照明改造工程", at=AWARDED + timedelta(days=20)
    )
    clock.set(local(2026, 4, 25))
    r = await client.post(
        f"/api/sections/{signed['id']}/contract", headers=world.headers("staff"), json=_contract(await _codes(app))
    )
    assert r.status_code == 201, r.text

    async def flag() -> list[int]:
        async with app.state.sessionmaker() as s:
            flagged = await flag_overdue_contracts(s, clock.at)
            await s.commit()
            return flagged

    async def overdue_alerts() -> list[int]:
        async with app.state.sessionmaker() as s:
            return sorted(
                await s.scalars(select(SupervisionAlert.subject_id).where(SupervisionAlert.kind == "contract_overdue"))
            )

    clock.set(local(2026, 5, 1, 23, 59))  # day 30: still in time
    assert await flag() == [] and await scheduler.tick(app.state) == []
    assert await overdue_alerts() == []

    clock.set(local(2026, 5, 2, 0, 1))  # day 31: two workers at once, then again, then the scheduler
    async with app.state.sessionmaker() as one, app.state.sessionmaker() as two:
        assert await flag_overdue_contracts(one, clock.at) == [overdue["id"]]
        # The second worker found the section unflagged too; its alert waits on the first's, then yields to it.
        second = asyncio.create_task(flag_overdue_contracts(two, clock.at))
        await asyncio.sleep(0.5)
        assert not second.done()
        await one.commit()
        assert await second == []
        await two.commit()
    assert await asyncio.gather(flag(), flag()) == [[], []]
    assert await scheduler.tick(app.state) == []
    assert await overdue_alerts() == [overdue["id"]]

    clock.set(local(2026, 5, 22))  # the third award is now 31 days old: the scheduler flags it, and only it
    assert await scheduler.tick(app.state) == []
    assert await overdue_alerts() == [overdue["id"], recent["id"]]
    alerts = (await client.get("/api/supervision/alerts", headers=world.headers("supervisor"))).json()
    flagged = [a for a in alerts if a["kind"] == "contract_overdue"]
    assert {a["subject_id"] for a in flagged} == {overdue["id"], recent["id"]}
    assert all(a["subject_type"] == "section" and a["details"]["due_on"] for a in flagged)
    assert signed["id"] not in {a["subject_id"] for a in alerts}
    async with app.state.sessionmaker() as s:
        assert await s.scalar(select(func.count()).where(AuditEntry.action == "contract.overdue")) == 2
        assert await s.scalar(select(func.count()).select_from(Payment)) == 0


async def test_a_transfer_past_the_contract_date_its_result_states_is_flagged_and_a_late_contract_named(
    app, client, clock
):
    """A sold transfer's contract date is the one its confirmation of the sale fixes, stated on its result notice
    (contract_due_on): past it without a contract, supervisors are alerted once; a contract signed after it is
    recorded late. A result stating no date is never flagged, and a stated date must be a day not before the
    result itself."""
    world = await build_world(app, TENDERED)
    codes = await _codes(app)
    _, overdue = await _sold(app, client, world, clock, parcel="2026-05", contract_due_on="2026-04-15")
    _, late = await _sold(app, client, world, clock, parcel="2026-06", contract_due_on="2026-04-15")
    _, later = await _sold(app, client, world, clock, parcel="2026-07", contract_due_on="2026-05-20")
    _, undated = await _sold(app, client, world, clock, parcel="2026-08")
    results = (await client.get("/api/notices", params={"kind": "result"})).json()["items"]
    page = (await client.get(f"/notices/{max(n['id'] for n in results if '2026-05号' in n['title'])}")).text
    assert "合同签订期限" in page and "2026年4月15日" in page  # on the portal, as a day

    async def flag() -> list[int]:
        async with app.state.sessionmaker() as s:
            flagged = await flag_overdue_contracts(s, clock.at)
            await s.commit()
            return flagged

    clock.set(local(2026, 4, 15, 23, 59))  # the day itself: still in time
    assert await flag() == []
    clock.set(local(2026, 4, 16, 9))
    r = await client.post(
        f"/api/sections/{late['id']}/contract",
        headers=world.headers("staff"),
        json=_contract(codes, signed_on="2026-04-16"),
    )
    assert r.status_code == 201 and r.json()["late"] is True, r.text
    assert await flag() == [overdue["id"]]
    assert await flag() == []
    clock.set(local(2026, 6, 30))  # long after: the later date has passed too; the undated one is never flagged
    assert await flag() == [later["id"]]
    alerts = (await client.get("/api/supervision/alerts", headers=world.headers("supervisor"))).json()
    by = {(a["kind"], a["subject_type"], a["subject_id"]): a for a in alerts}
    first = by[("contract_overdue", "section", overdue["id"])]
    assert first["details"]["due_on"] == "2026-04-15" and first["details"]["rule"] == "成交确认书"
    assert "成交确认书" in first["message_zh"] and "2026-04-15" in first["message_zh"]
    signed_late = by[("contract_late", "contract", r.json()["id"])]
    assert (
        signed_late["details"]["due_on"] == "2026-04-15"
        and "晚于成交确认书约定的 2026-04-15" in signed_late["message_zh"]
    )
    assert not any(a["subject_id"] == undated["id"] for a in alerts if a["subject_type"] == "section")

    # The date is checked as the result is published: a day, not before the result.
    project = await create_project(
        client, world, name="澧县澧浦街道2026-09号地块国有建设用地使用权挂牌出让", trade_kind="land",
        procedure="land_listing", funding_sources=[], budget_fen=None, control_price_fen=None,
        sections=[{"code": "01", "name": "2026-09号地块"}],
    )  # fmt: skip
    section = project["sections"][0]
    async with app.state.sessionmaker() as s:
        await s.execute(update(Section).where(Section.id == section["id"]).values(state="sold"))
        await s.commit()
    for stated, status, code in (
        ("4月20日", 400, "bad_contract_due_on"),
        ("2026-06-29", 422, "contract_due_before_result"),
    ):
        notice_id = await _draft(
            client, world, project, section, "result", "2026-09号地块挂牌出让结果公告", "竞得人：…",
            {"winner": WINNER, "price_fen": PRICE, "contract_due_on": stated},
        )  # fmt: skip
        before = await _state(app, section["id"])
        r = await client.post(f"/api/staff/notices/{notice_id}/publish", headers=world.headers("staff"))
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
        assert await _state(app, section["id"]) == before
