"""Nobody may decrypt or extract a bid before the opening (20号令 §27), and the documents stay sealed after it.

Every bid carries unique markers: one in its opening form (the quality field) and another in its documents (in
a file's content and in its name). Everything up to the opening is done — submissions, a replacement, an upload
left unfinished, the close by the scheduler, the start of the opening, and k−1 openers' shares — and then every
column of every table, every file under the blob directory (the store and the uploads), the SQLite files
themselves and everything logged are searched for the markers (as text, UTF-16, hex and base64): none may be
there. Once the k-th opener has uploaded, the active bids' opening forms are public (that is the opening
record) — which also shows that the search finds a marker when it is there — but the replaced and unfinished
bids' forms and every documents marker must still be nowhere.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bidding import scheduler
from bidding.opening import SHARE_WINDOW
from tests.bidding.harness import (
    begun,
    centre_key,
    make_bidder,
    open_as,
    open_section,
    opening_record,
    reserve_body,
    seal,
    seal_reserve,
    start_opening,
    store_objects,
    submit,
    upload,
)
from tests.factories import build_world
from trading.schema import metadata

pytestmark = pytest.mark.asyncio

BIDDERS = ["湖南路桥建设集团有限公司", "中铁五局集团有限公司", "湖南省建筑工程集团总公司", "常德市鼎城区建筑有限公司"]


def _variants(marker: str) -> list[bytes]:
    """The marker as it could sit in storage: UTF-8, UTF-16, hex, and base64 at each of the three alignments."""
    raw = marker.encode()
    found = [raw, marker.encode("utf-16-le"), raw.hex().encode(), raw.hex().upper().encode()]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        found.append(encoded[4 if shift else 0 : -4])
    return found


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return (json.dumps(value, ensure_ascii=False) + json.dumps(value)).encode()
    return str(value).encode()


async def _where(app, caplog, markers: dict[str, str], *, uploads: bool = False) -> dict[str, set[str]]:
    """For each marker, every place it was found: table.column, a file under the blob directory, the SQLite
    files, the log output. *uploads*: uploads' own files are expected (before the close removes them)."""
    needles = {name: _variants(marker) for name, marker in markers.items()}
    hits: dict[str, set[str]] = {name: set() for name in markers}

    def search(place: str, data: bytes) -> None:
        for name, variants in needles.items():
            if any(v in data for v in variants):
                hits[name].add(place)

    async with app.state.sessionmaker() as s:
        for table in metadata.sorted_tables:
            for row in (await s.execute(select(table))).all():
                for column, value in zip(table.columns, row, strict=True):
                    search(f"{table.name}.{column.name}", _as_bytes(value))
    files = await store_objects(app.state.blobs)
    assert any(len(name.rsplit("/", 1)[-1]) == 64 for name in files)  # the store was searched
    assert any(name.startswith("uploads/") for name in files) == uploads  # and the uploads', while there are any
    for name, data in files.items():
        search(f"file:{name}", data)
    url = app.state.settings.database_url
    if url.startswith("sqlite"):
        db = Path(url.split("///", 1)[1])
        for p in (db, db.with_name(db.name + "-wal")):
            if p.exists():
                search(f"sqlite:{p.name}", p.read_bytes())
    search("log output", caplog.text.encode())
    return hits


async def test_no_marker_is_anywhere_before_k_shares_and_the_documents_never_open(app, client, clock, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)  # k = 2 of n = 3
    bidders = [await make_bidder(app, client, clock.at, i + 1, name) for i, name in enumerate(BIDDERS)]
    tag = uuid.uuid4().hex
    bids = ["甲1", "甲2", "乙", "丙", "丁"]  # 甲 replaces its first bid; 丁 never completes its upload
    price_marker = {b: f"PRICE-MARKER-{b.encode().hex()}-{tag}" for b in bids}
    docs_marker = {b: f"DOCS-MARKER-{b.encode().hex()}-{tag}" for b in bids}
    owner = {"甲1": 0, "甲2": 0, "乙": 1, "丙": 2, "丁": 3}
    sealed_dir = tmp_path / "bidder-machines"  # the bidders' own files, outside the platform's blob directory

    def sealed(b: str, price: int):
        return seal(
            section,
            bidders[owner[b]],
            sealed_dir,
            price=price,
            marker=price_marker[b],
            documents={
                f"技术标-{docs_marker[b]}.txt": f"施工组织设计：{docs_marker[b]}\n".encode() * 40,
                "商务标.txt": f"商务文件 {docs_marker[b]}".encode(),
            },
        )

    files = {b: sealed(b, 4_500_000_000 + i * 7_300_000) for i, b in enumerate(bids)}
    for b in ("甲1", "乙", "丙", "甲2"):
        r = await submit(client, bidders[owner[b]], section, files[b])
        assert r.status_code == 201, r.text
    unfinished = await begun(client, bidders[3], section, files["丁"])
    await upload(client, bidders[3], files["丁"], unfinished)  # uploaded, never completed
    # Staff seal a control price (最高投标限价) with its own marker: it stays sealed exactly as the bids do.
    reserve_marker = f"RESERVE-MARKER-{tag}"
    staff_key = await centre_key(client, world)
    r = await client.post(
        f"/api/sections/{section.id}/reserve-price",
        headers=world.headers("staff"),
        json=reserve_body(seal_reserve(section, staff_key, sealed_dir, note=reserve_marker)),
    )
    assert r.status_code == 201, r.text

    everything = {
        **{f"price {b}": m for b, m in price_marker.items()},
        **{f"docs {b}": m for b, m in docs_marker.items()},
        "reserve": reserve_marker,
    }
    hits = await _where(app, caplog, everything, uploads=True)  # before the deadline, uploads' files too
    assert {name: places for name, places in hits.items() if places} == {}

    # The deadline passes; the scheduler closes the section; staff start the opening; one opener (k−1) uploads.
    clock.set(section.deadline + timedelta(seconds=1))
    assert await scheduler.tick(app.state) == [section.id]
    r = await start_opening(client, world, section)
    assert r.status_code == 200 and r.json()["state"] == "waiting", r.text
    r = await open_as(client, section.openers[0], section)
    assert r.status_code == 200 and r.json() | {"uploaded": 1, "state": "waiting"} == r.json(), r.text
    public = [
        (await client.get(f"/api/sections/{section.id}/opening")).text,
        (await client.get(f"/api/sections/{section.id}/opening/shares", headers=section.openers[1].headers)).text,
    ]
    for text in public:
        assert not any(m in text for m in (*price_marker.values(), *docs_marker.values(), reserve_marker))

    hits = await _where(app, caplog, everything)
    assert {name: places for name, places in hits.items() if places} == {}

    # The k-th opener: nothing is combined yet, so still nothing is anywhere (the window runs on).
    r = await open_as(client, section.openers[2], section)
    assert r.status_code == 200 and r.json()["state"] == "waiting", r.text
    hits = await _where(app, caplog, everything)
    assert {name: places for name, places in hits.items() if places} == {}
    # The window ends: the active bids' forms open and are published; nothing else does.
    clock.set(clock.at + SHARE_WINDOW)
    await scheduler.tick(app.state)
    record = await opening_record(client, section)
    opened = {row["form"]["quality"] for row in record["fields"]["bids"] if row["outcome"] == "opened"}
    assert opened == {f"合格 {price_marker[b]}" for b in ("甲2", "乙", "丙")}
    hits = await _where(app, caplog, everything)
    public_now = {f"price {b}" for b in ("甲2", "乙", "丙")} | {"reserve"}
    assert {"reserve_prices.form", "notice_versions.document"} <= hits["reserve"], hits["reserve"]
    for name in public_now - {"reserve"}:  # the search does find a marker that is there: in the results and the record
        assert {"opening_results.form", "notice_versions.document", "notice_versions.body"} <= hits[name], hits[name]
    # … but not the replaced bid's form, nor the unfinished one's, nor any bid's documents.
    assert {name: places for name, places in hits.items() if places and name not in public_now} == {}
    record_text = json.dumps(record, ensure_ascii=False)
    assert not any(m in record_text for m in docs_marker.values())
