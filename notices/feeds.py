"""Atom feeds (RFC 4287) of published notices: all, per kind and per region."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from notices import reads
from notices.kinds import NOTICE_KINDS
from trading.caching import cache_headers, etag_for, not_modified, not_modified_response
from trading.errors import InvalidInput
from trading.regions import REGIONS
from trading.web import DB
from trading.xmltext import xml_text

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50


def _iso(dt: datetime | None) -> str:
    return (dt or datetime(2026, 1, 1, tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_feed(base_url: str, feed_path: str, title: str, items: list[Any], updated: datetime | None) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = xml_text(title)
    ET.SubElement(feed, f"{{{ATOM}}}id").text = base_url + feed_path
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _iso(updated)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=base_url + feed_path, type="application/atom+xml")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=base_url + "/notices", type="text/html")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "湖南省公共资源交易平台"
    for item in items:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = xml_text(item.title)
        # The entry id names the version, so an amendment appears as an update of the same URL.
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{base_url}{item.url}#v{item.version}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _iso(item.last_published_at)
        ET.SubElement(entry, f"{{{ATOM}}}published").text = _iso(item.first_published_at)
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=base_url + item.url, type="text/html")
        ET.SubElement(entry, f"{{{ATOM}}}category", term=item.kind, label=item.kind_name)
        summary = f"{item.kind_name}｜{item.region_name}"
        if item.deadline_at:
            summary += f"｜截止 {item.deadline_at.astimezone(UTC).strftime('%Y-%m-%d %H:%M')} UTC"
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = xml_text(summary)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False)


async def _feed(request: Request, db: DB, path: str, title: str, flt: reads.NoticeFilter) -> Response[Any]:
    tag = etag_for(path, await reads.latest_change_seq(db))
    headers = cache_headers(tag)
    if not_modified(request, tag):
        return not_modified_response(headers)
    page = await reads.list_notices(db, flt, now=None, cursor=None, limit=FEED_SIZE)
    updated = page.items[0].last_published_at if page.items else None
    body = render_feed(request.app.state.settings.base_url, path, title, page.items, updated)
    return Response(content=body, media_type="application/atom+xml; charset=utf-8", headers=headers)


class FeedController(Controller):
    path = "/feeds"
    tags = ["feeds"]

    @get("/notices.atom", operation_id="feedAll", media_type="application/atom+xml")
    async def all_notices(self, request: Request, db: DB) -> Response[bytes]:
        """The latest published notices (Atom)."""
        return await _feed(
            request, db, "/feeds/notices.atom", "最新公告 — 湖南省公共资源交易平台", reads.NoticeFilter()
        )

    @get("/kinds/{feed_name:str}", operation_id="feedByKind", media_type="application/atom+xml")
    async def by_kind(self, request: Request, db: DB, feed_name: FromPath[str]) -> Response[bytes]:
        """The latest notices of one kind (Atom): /feeds/kinds/tender.atom"""
        kind = feed_name.removesuffix(".atom")
        if kind not in NOTICE_KINDS or not feed_name.endswith(".atom"):
            raise InvalidInput(
                "没有这类公告的订阅，可用：" + "、".join(f"{k}.atom" for k in NOTICE_KINDS),
                "No feed of that kind; there are: " + ", ".join(f"{k}.atom" for k in NOTICE_KINDS),
                code="unknown_notice_kind",
                status_code=404,
            )
        return await _feed(
            request,
            db,
            f"/feeds/kinds/{kind}.atom",
            f"{NOTICE_KINDS[kind].name_zh} — 湖南省公共资源交易平台",
            reads.NoticeFilter(kind=kind),
        )

    @get("/regions/{feed_name:str}", operation_id="feedByRegion", media_type="application/atom+xml")
    async def by_region(self, request: Request, db: DB, feed_name: FromPath[str]) -> Response[bytes]:
        """The latest notices of one region and the divisions under it (Atom): /feeds/regions/430723.atom"""
        code = feed_name.removesuffix(".atom")
        if code not in REGIONS or not feed_name.endswith(".atom"):
            raise InvalidInput(
                "行政区划代码不存在",
                "Unknown administrative division code",
                code="unknown_region",
                status_code=404,
            )
        return await _feed(
            request,
            db,
            f"/feeds/regions/{code}.atom",
            f"{REGIONS[code].name}公告 — 湖南省公共资源交易平台",
            reads.NoticeFilter(region=code),
        )
