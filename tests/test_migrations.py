"""Migrations: up from empty on both engines, down and up again, and the models agree with them."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from trading.migrate import differences, downgrade, upgrade


def _ignorable(diff) -> bool:
    # The GIN search index is an expression index on PostgreSQL only; autogenerate cannot compare those.
    op = diff[0] if isinstance(diff, tuple) else diff[0][0]
    item = diff[1] if isinstance(diff, tuple) else diff[0][1]
    return op in ("add_index", "remove_index") and getattr(item, "name", "") == "ix_notices_search_terms"


@pytest.mark.asyncio
async def test_models_and_migrations_agree(database_url):
    engine = create_async_engine(database_url)
    try:
        diffs = [d for d in await differences(engine) if not _ignorable(d)]
    finally:
        await engine.dispose()
    assert diffs == [], f"models and migrations disagree: {diffs}"


@pytest.mark.asyncio
async def test_down_to_empty_and_up_again(backend, tmp_path):
    from tests.conftest import _create_pg_database, _drop_pg_database

    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else await _create_pg_database()
    engine = create_async_engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert {"notices", "notice_versions", "projects", "people", "audit_entries", "calendar_days"} <= tables
            assert (await conn.execute(text("SELECT count(*) FROM calendar_days"))).scalar() > 30
        await downgrade(engine, "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert tables <= {"alembic_version"}
        await upgrade(engine)
    finally:
        await engine.dispose()
        if backend == "postgresql":
            await _drop_pg_database(url)


def test_schema_module_lists_every_models_module():
    """A models module that trading.schema forgets would get no migration and no agreement check."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    modules = sorted(
        ".".join(p.relative_to(root).with_suffix("").parts)
        for pkg in ("trading", "notices", "bidding", "evaluation")
        for p in (root / pkg).rglob("models.py")
    )
    code = (
        "import importlib, sys\n"
        "import trading.schema as s\n"
        "before = set(s.metadata.tables)\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(set(s.metadata.tables) - before))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "[]", f"tables missing from trading/schema.py: {out.stdout}"


@pytest.mark.asyncio
async def test_0020_keeps_an_opening_record_once_and_the_downgrade_gives_the_copies_back(backend, tmp_path):
    """Published before 0020, an opening record's fields are then in its document only (notices.fields holds null,
    notice_versions has no fields column); a tender notice keeps its own; the versions stay append-only; going
    down to 0019 fills both copies back from the documents."""
    import json
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from notices.models import published_fields
    from tests.conftest import _create_pg_database, _drop_pg_database
    from trading.canonical import canonical_bytes, sha256_hex
    from trading.schema import metadata

    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else await _create_pg_database()
    engine = create_async_engine(url)
    at = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    tender = {"committee": {"k": 2, "n": 3}, "project_overview": "城区道路改造"}
    record = {"opened_at": at.isoformat(), "bids": [{"bidder": "湖南建工第1工程有限公司", "outcome": "opened"}]}
    versions = sa.table(
        "notice_versions",
        *(sa.column(c) for c in ("id", "notice_id", "version", "title", "body", "fields", "document")),
        *(sa.column(c) for c in ("content_hash", "published_at", "change_seq", "change_summary")),
    )
    try:
        await upgrade(engine, "0019")
        t = metadata.tables
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(t["trading_centres"]).values(
                    id=1, code="HN-CD", name="常德市公共资源交易中心", region_code="430700"
                )
            )
            await conn.execute(
                sa.insert(t["organisations"]).values(
                    id=1,
                    name="常德市城投",
                    credit_code="91430700MA0000001X",
                    kinds=["tenderer"],
                    region_code="430700",
                    created_at=at,
                )
            )
            await conn.execute(
                sa.insert(t["projects"]).values(
                    id=1,
                    trade_code="CD-2026-001",
                    name="城区道路改造",
                    trade_kind="works",
                    procedure="open_tender",
                    region_code="430702",
                    centre_id=1,
                    tenderer_id=1,
                    state="public",
                    created_at=at,
                )
            )
            for notice_id, kind, fields in ((1, "tender", tender), (2, "opening_record", record)):
                await conn.execute(
                    sa.insert(t["notices"]).values(
                        id=notice_id,
                        kind=kind,
                        status="published",
                        project_id=1,
                        section_ids=[],
                        region_code="430702",
                        city_code="430700",
                        trade_kind="works",
                        title=kind,
                        body="",
                        fields=fields,
                        timetable={},
                        current_version=1,
                        search_terms="",
                        created_at=at,
                        updated_at=at,
                    )
                )
                document = canonical_bytes({"notice_id": notice_id, "version": 1, "fields": fields})
                await conn.execute(
                    sa.insert(versions).values(
                        id=notice_id,
                        notice_id=notice_id,
                        version=1,
                        title=kind,
                        body="",
                        fields=json.dumps(fields),
                        document=document,
                        content_hash=sha256_hex(document),
                        published_at=at,
                        change_seq=notice_id,
                        change_summary="",
                    )
                )

        await upgrade(engine)
        async with engine.connect() as conn:
            kept = dict((await conn.execute(sa.select(t["notices"].c.id, t["notices"].c.fields))).all())
            assert kept == {1: tender, 2: None}
            columns = await conn.run_sync(lambda c: {x["name"] for x in inspect(c).get_columns("notice_versions")})
            assert "fields" not in columns and "document" in columns
            documents = dict((await conn.execute(sa.select(versions.c.notice_id, versions.c.document))).all())
            assert published_fields(bytes(documents[2])) == record
        with pytest.raises(Exception, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(sa.update(versions).values(title="改"))

        await downgrade(engine, "0019")
        async with engine.connect() as conn:
            kept = dict((await conn.execute(sa.select(t["notices"].c.id, t["notices"].c.fields))).all())
            assert kept == {1: tender, 2: record}
            copies = (
                await conn.execute(sa.text("SELECT notice_id, fields FROM notice_versions ORDER BY notice_id"))
            ).all()
            assert [json.loads(f) if isinstance(f, str) else f for _, f in copies] == [tender, record]
        with pytest.raises(Exception, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(sa.update(versions).values(title="改"))
    finally:
        await engine.dispose()
        if backend == "postgresql":
            await _drop_pg_database(url)
