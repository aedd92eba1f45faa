"""The seeded demo world, made once per database engine and clock and restored for every later test that wants it.

Seeding the demo seals, submits and opens every historical trade through the platform's services (about half a
minute). It is deterministic for a given clock, so tests that only need the seeded world share one seeding:
the first seeds for real and takes a snapshot — the database (a file copy on SQLite; a schema of table copies
on PostgreSQL), the blob store, the platform's signing key and the demo openers' keys — and later tests
restore it into their own fresh database and folders. A test that serves the world from a process of its own
(the browser journeys) takes a copy in SQLite files and folders of its own: ``seeded_demo_files``.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from trading.clock import FixedClock
from trading.db import make_engine
from trading.demo.seed import seed_demo
from trading.keys import load_or_create_signing_key
from trading.log.note import NoteSigner
from trading.migrate import upgrade
from trading.schema import metadata
from trading.settings import Settings

_ROOT = Path(tempfile.mkdtemp(prefix="demo-snapshots-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


@dataclass
class _Snapshot:
    summary: str
    folder: Path
    data_dir: Path
    schema: str | None
    #: S3: the key prefix the seeding test's blobs are under (copied to each restoring test's own prefix).
    s3_prefix: str | None = None


_SNAPSHOTS: dict[tuple[str, str], _Snapshot] = {}


def _paths(settings: Settings) -> tuple[Path, Path, Path]:
    blobs = Path(settings.blob_dir)
    return blobs, blobs.parent / "demo-openers", Path(settings.signing_key_path)


def _sqlite_path(settings: Settings) -> Path:
    return Path(settings.database_url.split("///", 1)[1])


def _tables() -> list[str]:
    return [t.name for t in metadata.sorted_tables if t.name != "alembic_version"]


def _integer_id(table: str) -> bool:
    column = metadata.tables[table].c.get("id")
    return column is not None and column.type.python_type is int


async def seeded_demo(app: Litestar, settings: Settings, clock: FixedClock) -> str:
    """Seed the demo world into the test's database (or restore the same world seeded earlier in the run)."""
    engine = app.state.engine
    key = _key(engine, clock)
    snapshot = _SNAPSHOTS.get(key)
    if snapshot is None:
        summary = await seed_demo(settings, clock=clock)
        _SNAPSHOTS[key] = await _take(engine, settings, summary, len(_SNAPSHOTS))
        return summary
    await _restore(engine, settings, snapshot)
    # The app loaded its signing key at start: the restored log was signed with the snapshot's.
    app.state.platform_key = load_or_create_signing_key(settings.signing_key_path)
    app.state.log_signer = NoteSigner(settings.log_origin, app.state.platform_key)
    return snapshot.summary.replace(str(snapshot.data_dir), str(Path(settings.blob_dir).parent))


async def seeded_demo_files(settings: Settings, clock: FixedClock) -> None:
    """The demo world on *clock* in the SQLite database, blob directory and key files *settings* name, which no
    app holds open (for a server a test starts on them): seeded there, or the same world restored there."""
    engine = make_engine(settings)
    assert engine.dialect.name == "sqlite" and settings.blob_store == "local", "a copy in files of its own"
    try:
        key = _key(engine, clock)
        snapshot = _SNAPSHOTS.get(key)
        if snapshot is None:
            await upgrade(engine)
            summary = await seed_demo(settings, clock=clock)
            _SNAPSHOTS[key] = await _take(engine, settings, summary, len(_SNAPSHOTS))
        else:
            await _restore(engine, settings, snapshot)
    finally:
        await engine.dispose()


def _key(engine: AsyncEngine, clock: FixedClock) -> tuple[str, str]:
    """Snapshots are per engine (SQLite, or the session's PostgreSQL database) and clock."""
    return engine.url.render_as_string(hide_password=False).split("///")[0], clock.at.isoformat()


async def _take(engine: AsyncEngine, settings: Settings, summary: str, n: int) -> _Snapshot:
    # A folder and schema of this snapshot's own: a seeding cut short (a test's timeout) may have left the
    # previous attempt's behind under the same number.
    folder = Path(tempfile.mkdtemp(prefix=f"snapshot-{n}-", dir=_ROOT))
    blobs, openers, signing_key = _paths(settings)
    schema = None
    if engine.dialect.name == "sqlite":
        await engine.dispose()
        path = _sqlite_path(settings)
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(path, folder / "demo.db")
    else:
        schema = f"demo_snapshot_{n}"
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            await conn.execute(text(f"CREATE SCHEMA {schema}"))
            for table in _tables():
                await conn.execute(text(f"CREATE TABLE {schema}.{table} AS TABLE public.{table}"))
    if settings.blob_store == "s3":
        folder.joinpath("blobs").mkdir()
    else:
        shutil.copytree(blobs, folder / "blobs")
    if openers.exists():
        shutil.copytree(openers, folder / "demo-openers")
    shutil.copyfile(signing_key, folder / "key.pem")
    return _Snapshot(
        summary=summary,
        folder=folder,
        data_dir=blobs.parent,
        schema=schema,
        s3_prefix=settings.s3_prefix if settings.blob_store == "s3" else None,
    )


async def _copy_s3(settings: Settings, source: str, target: str) -> None:
    """Every object under one prefix copied to another, inside the bucket (a server-side copy each)."""
    import asyncio

    import msgspec
    import obstore

    from trading.blobs.s3 import make_s3

    root = make_s3(msgspec.structs.replace(settings, s3_prefix=""))
    keys = [meta["path"] async for batch in obstore.list(root, f"{source}/") for meta in batch]
    for start in range(0, len(keys), 32):
        await asyncio.gather(
            *(obstore.copy_async(root, key, target + key[len(source) :]) for key in keys[start : start + 32])
        )


async def _restore(engine: AsyncEngine, settings: Settings, snapshot: _Snapshot) -> None:
    blobs, openers, signing_key = _paths(settings)
    if snapshot.schema is None:
        await engine.dispose()
        path = _sqlite_path(settings)
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        shutil.copyfile(snapshot.folder / "demo.db", path)
    else:
        async with engine.begin() as conn:
            # Rows go back exactly as they were: no foreign-key or append-only triggers while copying.
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in _tables():
                await conn.execute(text(f"DELETE FROM public.{table}"))
            for table in _tables():
                await conn.execute(
                    text(f"INSERT INTO public.{table} OVERRIDING SYSTEM VALUE SELECT * FROM {snapshot.schema}.{table}")
                )
                if _integer_id(table):
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('public.{table}', 'id'), "
                            f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM public.{table}"
                        )
                    )
    if snapshot.s3_prefix is not None:
        await _copy_s3(settings, snapshot.s3_prefix, settings.s3_prefix)
    else:
        shutil.rmtree(blobs, ignore_errors=True)
        shutil.copytree(snapshot.folder / "blobs", blobs)
    if (snapshot.folder / "demo-openers").exists():
        shutil.rmtree(openers, ignore_errors=True)
        shutil.copytree(snapshot.folder / "demo-openers", openers)
    shutil.copyfile(snapshot.folder / "key.pem", signing_key)
