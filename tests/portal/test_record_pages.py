"""Record pages a citizen can read (issue 13): the opening record, the result notice and the tender's committee
show Chinese tables, money in 元, and keep hashes and keys in a 核验数据 section beside the published JSON."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from bidding.opening import SHARE_WINDOW
from notices.formatting import committee_view, key_fingerprint, notice_field_rows, opening_result
from tests.bidding.harness import (
    centre_key,
    make_bidder,
    open_as,
    open_section,
    opening_settled,
    reserve_body,
    seal,
    seal_reserve,
    submit,
)
from tests.factories import build_world

PRICES = [4_512_345_600, 4_498_000_000, 4_630_120_000]
#: Keys of the record's machine data that must never reach its readable sections.
RAW_KEYS = (
    "bidder_credit_code",
    "section_tag_key",
    "deadline_checkpoint",
    "reserve_prices",
    "kind_zh",
    "ciphertexts",
    "manifest_sha256",
    "total_price_fen",
    "active",
    "opened",
)


def between(page: str, start: str, end: str) -> str:
    i = page.index(start)
    return page[i : page.index(end, i)]


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


async def _opened_record(app, client, clock, tmp_path):
    """A section with a ceiling price sealed twice, three bids (one without a required opening-form field), opened."""
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at, price_fields=["project_manager"])
    key = await centre_key(client, world)
    for fen in (4_900_000_001, 4_900_000_000):  # the second replaces the first
        r = await client.post(
            f"/api/sections/{section.id}/reserve-price",
            headers=world.headers("staff"),
            json=reserve_body(seal_reserve(section, key, tmp_path, fen=fen)),
        )
        assert r.status_code == 201, r.text
    for i, price in enumerate(PRICES):
        bidder = await make_bidder(app, client, clock.at, i + 1)
        extra = {"project_manager": f"张建{i}"} if i else None
        r = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=price, extra=extra))
        assert r.status_code == 201, r.text
    clock.set(section.deadline + timedelta(minutes=1))
    assert (await client.post(f"/api/sections/{section.id}/opening", headers=world.headers("staff"))).status_code == 200
    for opener in section.openers[:2]:
        assert (await open_as(client, opener, section)).status_code in (200, 202)
    clock.set(clock.at + SHARE_WINDOW)
    from bidding import scheduler

    await scheduler.tick(app.state)
    status = await opening_settled(client, section)
    assert status["state"] == "opened", status
    return section, (await client.get(f"/api/notices/{status['record_notice_id']}")).json()


@pytest.mark.asyncio
async def test_the_opening_record_page_shows_a_table_of_bids_in_chinese(app, client, clock, tmp_path):
    section, record = await _opened_record(app, client, clock, tmp_path)
    page = (await client.get(f"/notices/{record['id']}")).text

    readable = between(page, 'id="record-title"', 'id="verify-title"')
    for raw in RAW_KEYS:
        assert raw not in text_of(readable), raw
    assert 'class="kv fields"' not in page  # no dump of the fields

    bids = between(page, '<table class="grid bids">', "</table>")
    headings = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', bids)
    assert headings[:6] == ["序号", "投标人", "统一社会信用代码", "投标报价（元）", "工期（日历天）", "质量"]
    assert headings[-1] == "解密结果"
    cells = text_of(bids)
    assert "44,980,000.00" in cells and "46,301,200.00" in cells  # the first bid failed: no figures
    assert cells.count("已解密") == 2
    assert "解密失败（开标一览表" in cells and "责任方：投标人" in cells and "视为撤销投标" in cells
    for bid in record["fields"]["bids"]:
        assert bid["bidder"] in cells and bid["bidder_credit_code"] in cells

    reserves = text_of(between(page, '<table class="grid reserves">', "</table>"))
    assert "最高投标限价" in reserves and "49,000,000.00 元" in reserves and "已解密" in reserves
    assert "已被替换" in reserves

    openers = text_of(between(page, 'id="openers-title"', "</section>"))
    assert "门限 2/3" in openers
    for member in section.notice["fields"]["committee"]["members"][:2]:
        assert member["name"] in openers
    assert "开标时间" in readable

    verify = between(page, 'id="verify-title"', "</section>")
    document_url = record["versions"][-1]["document_url"]
    assert f'href="{document_url}"' in verify
    assert "trading verify http" in verify
    assert record["fields"]["bids"][0]["manifest_sha256"] in verify
    assert record["fields"]["section_tag_key"] in verify and "section_tag_key" not in text_of(verify)
    # the link goes to the document whose hash the page shows
    doc = await client.get(document_url)
    assert doc.status_code == 200 and record["content_hash"] in page

    printed = (await client.get(f"/notices/{record['id']}/print")).text  # the A4 print view has the bids too
    printed_bids = text_of(between(printed, '<table class="grid bids">', "</table>"))
    assert "44,980,000.00" in printed_bids and "视为撤销投标" in printed_bids


@pytest.mark.asyncio
async def test_the_tender_shows_its_opening_committee_with_key_fingerprints(app, client, clock):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at, price_fields=["project_manager"])
    page = (await client.get(f"/notices/{section.notice['id']}")).text
    assert 'id="committee-title"' in page
    committee = text_of(between(page, 'id="committee-title"', "</section>"))
    assert "门限 2/3" in committee
    for member in section.notice["fields"]["committee"]["members"]:
        assert member["name"] in committee
        assert key_fingerprint(member["public_key"]) in committee
        assert member["public_key"] not in page  # keys are in the JSON, not the page
    assert "开标一览表须填写：投标总价、工期、质量、project_manager。" in committee
    fields = between(page, 'id="fields-title"', "</section>")
    assert "suite" not in fields and "price_form" not in fields


def test_result_fields_have_chinese_labels_and_hashes_leave_the_main_table():
    fields = {
        "winner": "怀化五溪建设工程有限公司",
        "winner_credit_code": "91431202969805865L",
        "price_fen": 1_977_784_579,
        "purchaser": "浏阳市水利局",
        "trade_code": "4301812026A0000001",
        "report_sha256": "f1" * 32,
        "draw_seed_sha256": "6e" * 32,
    }
    rows = {r["key"]: r for r in notice_field_rows("result", fields)}
    assert "report_sha256" not in rows and "draw_seed_sha256" not in rows
    assert rows["winner_credit_code"]["label"] == "中标人统一社会信用代码"
    assert rows["purchaser"]["label"] == "采购人/招标人"
    assert rows["trade_code"]["label"] == "交易编码"
    assert rows["price_fen"]["value"]["text"] == "¥19,777,845.79 元（1,977.78 万元）"


def test_decryption_results_read_in_chinese():
    assert opening_result({"state": "active", "outcome": "opened"}) == ("已解密", "opened")
    assert opening_result({"state": "withdrawn", "outcome": "withdrawn"})[0] == "已撤回"
    assert opening_result({"state": "replaced", "outcome": "replaced"})[0] == "已被替换"
    assert opening_result({"state": "active", "outcome": "disputed"})[0] == "有异议，待裁定"
    failed = {"state": "active", "outcome": "failed", "reason": "envelope.not_enough_shares", "fault": "opener:1,3"}
    text, status = opening_result({**failed, "treated_as": "withdrawn"})
    assert status == "failed" and "责任方：第 1、3 号开标人" in text and "视为撤回投标" in text
    assert "envelope." not in text
    assert committee_view(None) is None
