"""The demo's tender documents: written from the project's own facts, attached to every tender notice through the
attachment service (listed with their SHA-256, downloadable), and the notices before a tender seeded in order."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.demo_snapshot import seeded_demo
from trading.demo.documents import DocumentFacts, Lot, bid_bond_fen, prequalification_document, tender_document

NOW = datetime(2026, 11, 21, 3, tzinfo=UTC)
MONEY = re.compile(r"¥([\d,]+\.\d\d) 元")


def _facts(**overrides) -> DocumentFacts:
    values = dict(
        kind="tender",
        trade_code="4307232026A0000001",
        project="常德市澧县澧南大道北延线道路工程",
        place="湖南省常德市澧县",
        tenderer="澧县交通运输局",
        tenderer_address="澧县澧阳街道解放路1号",
        agent="",
        notice_title="常德市澧县澧南大道北延线道路工程施工招标公告",
        fields={"qualification": "市政公用工程施工总承包二级及以上资质", "consortium_allowed": False},
        timetable={
            "documents_sale_start": NOW,
            "documents_sale_end": NOW + timedelta(days=6),
            "bid_deadline": NOW + timedelta(days=24),
            "opening": NOW + timedelta(days=24),
        },
        lots=[Lot("01", "第一标段", 2_512_345_67), Lot("02", "第二标段", 1_987_654_33)],
        funding=[("财政资金", "县级财政资金", 1_500_000_000), ("专项债券", "地方政府专项债券", 3_000_000_000)],
        budget_fen=4_600_000_000,
        control_price_fen=4_500_000_000,
        duration_days=270,
    )
    return DocumentFacts(**(values | overrides))


def _fen(text: str) -> int:
    return int(Decimal(text.replace(",", "")) * 100)


def test_the_bill_summary_adds_up_to_each_sections_control_price():
    text = tender_document(_facts())
    for lot in _facts().lots:
        block = text.split(f"{lot.name}（标段编号 {lot.code}）")[1].split("\n\n")[0]
        rows = {
            line.split("｜")[0]: _fen(MONEY.search(line).group(1)) for line in block.splitlines() if MONEY.search(line)
        }
        assert rows[""] == lot.price_fen, "合计 is the section's control price"
        assert rows["1"] + rows["2"] + rows["3"] + rows["4"] + rows["5"] == lot.price_fen
        assert rows["1.1"] + rows["1.2"] + rows["1.3"] + rows["1.4"] == rows["1"]
        assert rows["5"] == lot.price_fen * 9 // 109
    assert "路基工程" in text, "a road's bill has a road's parts"
    assert "计划工期｜270日历天" in text and "澧县交通运输局" in text and "2026年12月15日11:00" in text


def test_the_documents_state_the_evaluation_plan_the_platform_scores_by():
    from trading.demo.evaluated import PLAN

    text = tender_document(_facts())
    for criterion in PLAN.criteria:
        assert f"{criterion.name}｜{criterion.max_points}" in text
    assert f"投标报价｜{PLAN.price_formula.full}" in text and "（1－3%）" in text


@pytest.mark.parametrize("price", [1, 99_99, 1_000_000_00, 39_860_000_00, 2_512_345_67])
def test_the_bid_bond_is_at_most_two_percent_in_whole_wan_yuan(price):
    bond = bid_bond_fen(price)
    assert bond is None or (bond <= price * 2 // 100 and bond % 1_000_000 == 0 and bond <= 80 * 1_000_000)


def test_the_prequalification_documents_state_the_method_and_the_statutory_periods():
    facts = _facts(
        kind="prequalification",
        fields={"review_method": "limited", "shortlist_size": 9, "project_overview": "新建道路约3.2公里"},
        timetable={
            "documents_sale_start": NOW,
            "documents_sale_end": NOW + timedelta(days=6),
            "prequalification_deadline": NOW + timedelta(days=13),
        },
    )
    text = prequalification_document(facts)
    assert "有限数量制，通过数量9名" in text and "第十六条" in text and "第十七条" in text
    assert "少于3个的，招标人应当重新招标" in text


@pytest.mark.asyncio
async def test_every_demo_tender_notice_carries_its_tender_documents(app, client, clock, settings):
    clock.set(NOW)
    await seeded_demo(app, settings, clock)
    tenders: list[dict] = []
    params = {"kind": "tender", "limit": 100}
    for _page in range(10):
        page = (await client.get("/api/notices", params=params)).json()
        tenders += page["items"]
        if not page["next"]:
            break
        params["cursor"] = page["next"]
    assert len(tenders) >= 40
    for item in tenders:
        notice = (await client.get(f"/api/notices/{item['id']}")).json()
        (document,) = [a for a in notice["attachments"] if a["filename"].startswith("招标文件")]
        assert document["filename"].endswith(".txt") and document["published_in_version"] == 1
    # One of them, as a citizen finds it: listed with its SHA-256 on the page, downloadable, about its own project.
    page = (await client.get(f"/notices/{notice['id']}")).text
    assert document["sha256"] in page and document["url"] in page
    r = await client.get(document["url"])
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == document["sha256"]
    text = r.content.decode("utf-8")
    project = (await client.get(f"/api/projects/{notice['project_id']}")).json()
    assert project["name"] in text and project["trade_code"] in text
    for section in project["sections"]:  # each section with its control price
        price = section["estimated_price_fen"] or project["control_price_fen"]
        assert f"{section['name']}（{section['code']}）：¥{price // 100:,}" in text


@pytest.mark.asyncio
async def test_the_demo_publishes_plans_and_a_prequalification_before_its_tender(app, client, clock, settings):
    clock.set(NOW)
    await seeded_demo(app, settings, clock)

    async def of(kind: str) -> list[dict]:
        return (await client.get("/api/notices", params={"kind": kind, "limit": 50})).json()["items"]

    plans, prequalifications, results = (
        await of("tender_plan"),
        await of("prequalification"),
        await of("prequalification_result"),
    )
    assert len(plans) >= 2 and len(prequalifications) >= 2 and len(results) >= 1
    assert any("道路" in p["title"] for p in plans)
    assert any(p["deadline_at"] and p["deadline_at"] > NOW.isoformat() for p in prequalifications), (
        "one takes applications now"
    )
    (result,) = results
    detail = (await client.get(f"/api/notices/{result['id']}")).json()
    # The project's other notices, in publication order: the plan and the prequalification before the result,
    # the invitation to bid after it.
    related = detail["related"]
    assert [n["kind"] for n in related] == ["tender_plan", "prequalification", "tender"]
    assert related[1]["last_published_at"] < detail["first_published_at"] < related[2]["last_published_at"]
    project = (await client.get(f"/api/projects/{detail['project_id']}")).json()
    assert [s["state"] for s in project["sections"]] == ["tendering"]
    prequalification = (await client.get(f"/api/notices/{detail['target_notice_id']}")).json()
    assert [a["filename"][:6] for a in prequalification["attachments"]] == ["资格预审文件"]
