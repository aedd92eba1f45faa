"""OCDS 1.1.5 from the demo: every release, release package and record package validates against the
schema files kept in the repository (with the bids extension merged in, date-time formats checked), and a
road project can be followed from its tender to its contract."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

import notices
from notices.kinds import NOTICE_KINDS
from notices.ocds.releases import Org, ProjectFacts, PublishedFile, PublishedVersion, compile_releases, release
from tests.demo_snapshot import seeded_demo

SCHEMA = Path(notices.__file__).parent / "ocds" / "schema"
RELEASE_URL = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA / name).read_text(encoding="utf-8"))


RELEASE_SCHEMA = merge_patch(_load("1.1.5/release-schema.json"), _load("bid_extension-v1.1.5/release-schema.json"))
REGISTRY = Registry().with_resource(RELEASE_URL, Resource(contents=RELEASE_SCHEMA, specification=DRAFT4))


def validator(schema: dict[str, Any]) -> Draft4Validator:
    return Draft4Validator(schema, registry=REGISTRY, format_checker=Draft4Validator.FORMAT_CHECKER)


def errors(schema: dict[str, Any], instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(schema).iter_errors(instance)]


def test_the_format_checker_checks_date_times():
    """(rfc3339-validator must be installed, or jsonschema silently skips date-time.)"""
    assert "date-time" in Draft4Validator.FORMAT_CHECKER.checkers
    bad = {"ocid": "ocds-x-1", "id": "1", "date": "21 November 2026", "tag": ["tender"], "initiationType": "tender"}
    assert any("date-time" in e for e in errors(RELEASE_SCHEMA, bad))


async def _demo(app, clock, settings) -> None:
    today = datetime(2026, 11, 21, 3, tzinfo=UTC)
    clock.set(today)
    await seeded_demo(app, settings, clock)


@pytest.mark.asyncio
async def test_every_release_the_demo_produces_validates_and_the_packages_page(app, client, clock, settings):
    await _demo(app, clock, settings)
    package_schema = _load("1.1.5/release-package-schema.json")
    releases: list[dict[str, Any]] = []
    url: str | None = "/api/ocds/releases?limit=150"
    pages = 0
    while url:
        r = await client.get(url)
        assert r.status_code == 200, r.text
        package = r.json()
        assert errors(package_schema, package) == []
        releases += package["releases"]
        pages += 1
        link = r.headers.get("link")
        url = link.split(">")[0].lstrip("<") if link else None
        assert pages < 50, "the Link header never ends"
    assert pages >= 3 and len(releases) >= 360
    assert len({r["id"] for r in releases}) == len(releases)
    problems = {r["id"]: errors(RELEASE_SCHEMA, r) for r in releases}
    assert {k: v for k, v in problems.items() if v} == {}
    tags = {t for r in releases for t in r["tag"]}
    assert {"tender", "tenderAmendment", "tenderCancellation", "tenderUpdate", "award", "contract"} <= tags
    assert all(r["ocid"].startswith(settings.ocid_prefix + "-") for r in releases)
    # Filters: a region and a trade kind narrow it; a date range too.
    land = (await client.get("/api/ocds/releases", params={"trade_kind": "land", "limit": 1000})).json()["releases"]
    assert land and all("tender" not in r or "mainProcurementCategory" not in r["tender"] for r in land)
    changde = (await client.get("/api/ocds/releases", params={"region": "430700", "limit": 1000})).json()["releases"]
    assert 0 < len(changde) < len(releases)
    # Payments under contracts: implementation releases with their transactions.
    paid = await client.get("/api/ocds/releases", params={"stage": "implementation", "limit": 1000})
    assert errors(package_schema, paid.json()) == []
    payments = paid.json()["releases"]
    assert payments and all(r["tag"] == ["implementation"] for r in payments)
    assert {k: v for k, v in {r["id"]: errors(RELEASE_SCHEMA, r) for r in payments}.items() if v} == {}
    later = (await client.get("/api/ocds/releases", params={"from": "2026-09-01T00:00:00Z", "limit": 1000})).json()
    assert all(r["date"] >= "2026-09-01" for r in later["releases"])
    # The package names its own address on the site as configured, whatever Host header the caller sent.
    forged = await client.get("/api/ocds/releases", params={"limit": 1}, headers={"host": "evil.example"})
    assert forged.json()["uri"] == settings.base_url.rstrip("/") + "/api/ocds/releases?limit=1"


@pytest.mark.asyncio
async def test_a_road_project_can_be_followed_from_tender_to_contract_as_an_ocds_record(app, client, clock, settings):
    await _demo(app, clock, settings)
    roads = (await client.get("/api/notices", params={"q": "道路", "kind": "contract", "limit": 50})).json()["items"]
    assert roads, "the demo should have a road project under contract"
    for item in roads:  # one with payments already made
        notice = (await client.get(f"/api/notices/{item['id']}")).json()
        if (await client.get(f"/api/projects/{notice['project_id']}/funds")).json()["payments"]:
            break
    else:
        pytest.fail("no demo road project has payments")
    ocid = f"{settings.ocid_prefix}-{notice['trade_code']}"
    r = await client.get(f"/api/ocds/records/{ocid}")
    assert r.status_code == 200, r.text
    package = r.json()
    assert errors(_load("1.1.5/record-package-schema.json"), package) == []
    (record,) = package["records"]
    tags = [t for rel in record["releases"] for t in rel["tag"]]
    assert tags[0] == "tender" and "award" in tags and "contract" in tags
    compiled = record["compiledRelease"]
    assert errors(RELEASE_SCHEMA, compiled) == []
    assert compiled["tag"] == ["compiled"] and compiled["tender"]["procurementMethodDetails"]
    assert compiled["contracts"][0]["awardID"] in {a["id"] for a in compiled["awards"]}
    transactions = [t for c in compiled["contracts"] for t in c.get("implementation", {}).get("transactions", [])]
    assert transactions and all(t["value"]["currency"] == "CNY" for t in transactions)
    assert "implementation" in tags
    assert compiled == compile_releases(record["releases"])
    assert any(p["roles"] == ["buyer"] or "buyer" in p["roles"] for p in compiled["parties"])
    # The tender's files (its 招标文件) are in the tender's documents, and each is the file the site serves.
    files = [d for d in compiled["tender"]["documents"] if d["documentType"] == "biddingDocuments"]
    assert files, compiled["tender"]["documents"]
    for d in files:
        assert d["format"] == "text/plain" and d["title"].startswith("招标文件") and d["datePublished"], d
        served = await client.get(d["url"].removeprefix(settings.base_url.rstrip("/")))
        assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() in d["description"], d
    missing = await client.get(f"/api/ocds/records/{settings.ocid_prefix}-nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ocid_not_found"


def test_compiling_merges_by_identifier_and_lets_newer_values_win():
    base = {"ocid": "o", "initiationType": "tender"}
    first = {
        **base,
        "id": "1",
        "date": "2026-01-01T00:00:00Z",
        "tag": ["tender"],
        "tender": {"id": "t", "status": "active", "title": "甲"},
        "parties": [{"id": "a", "name": "A", "roles": ["buyer"]}],
    }
    second = {
        **base,
        "id": "2",
        "date": "2026-02-01T00:00:00Z",
        "tag": ["tenderCancellation"],
        "tender": {"id": "t", "status": "cancelled"},
        "parties": [{"id": "b", "name": "B", "roles": ["tenderer"]}, {"id": "a", "name": "A2"}],
    }
    compiled = compile_releases([second, first])
    assert compiled["tender"] == {"id": "t", "status": "cancelled", "title": "甲"}
    assert compiled["parties"] == [
        {"id": "a", "name": "A2", "roles": ["buyer"]},
        {"id": "b", "name": "B", "roles": ["tenderer"]},
    ]
    assert compiled["tag"] == ["compiled"] and compiled["date"] == "2026-02-01T00:00:00Z"


@pytest.mark.parametrize("kind", list(NOTICE_KINDS))
def test_every_kind_of_notice_lists_its_files_in_its_release(kind):
    """Whatever the notice — a tender's 招标文件, an amendment's revised documents, a termination's reasons —
    its published files are in its release, with their media type, address and hash, and the release validates."""
    facts = ProjectFacts(
        ocid_prefix="ocds-hnggzy",
        trade_code="E4307000001001",
        name="澧县城区道路提质改造工程",
        trade_kind="works",
        procedure_name_zh="公开招标",
        tenderer=Org("澧县住房和城乡建设局", "11430723MB1234567X"),
    )
    drawing = PublishedFile(
        7,
        "施工图.dwg",
        "image/vnd.dwg",
        "ab" * 32,
        1024,
        "https://ggzy.example/api/notices/3/attachments/7",
        "2026-11-20T01:00:00+00:00",
    )
    bill = PublishedFile(
        8,
        "工程量清单.csv",
        "text/csv; charset=gbk",
        "cd" * 32,
        2048,
        "https://ggzy.example/api/notices/3/attachments/8",
        "2026-11-21T01:00:00+00:00",
    )
    version = PublishedVersion(
        notice_id=3,
        version=2,
        kind=kind,
        title="公告",
        published_at="2026-11-21T01:00:00+00:00",
        fields={"winner": "湖南路桥建设集团有限责任公司"} if kind == "result" else {},  # (a result names its winner)
        section_ids=[5],
        files=[drawing, bill],
    )
    out = release(facts, version)
    assert errors(RELEASE_SCHEMA, out) == []
    listed = [
        d
        for place in (out.get("planning", {}), out.get("tender", {}), *out.get("awards", []), *out.get("contracts", []))
        for d in place.get("documents", [])
        if d["id"].startswith("attachment-")
    ]
    assert [(d["id"], d["format"], d["url"]) for d in listed] == [
        ("attachment-7", "image/vnd.dwg", drawing.url),
        ("attachment-8", "text/csv", bill.url),
    ], out
    assert "ab" * 32 in listed[0]["description"] and listed[0]["datePublished"] == drawing.published_at
