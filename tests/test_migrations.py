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
