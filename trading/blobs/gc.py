"""Garbage collection of the blob store: what no row references, once it is older than a grace period.

What is collected:

- blobs no bid, sealed reserve price or notice attachment references (a completion refused at the deadline
  after its ciphertexts were stored, a crash between storing and committing, a draft's attachment removed);
- uploads in progress that can no longer complete (completed, abandoned at the close, superseded in a section
  no longer taking bids) or that the database does not know (a begin that never committed);
- the store's own debris: temporary files (local) and staging objects (S3) a crash left behind.

Never a blob a row references, whatever its age; never anything younger than the grace period, so that a blob
stored a moment ago for a bid about to commit is safe (a blob reused by a new reference is written again or
touched when it is reused, so its age restarts: trading.blobs.s3.REUSE_FRESH). References are read after the
listing, so a reference committed while the collection runs is seen.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import and_, or_, select, text

from bidding.models import Bid, ReservePrice, Upload
from notices.models import Attachment
from trading.blobs.inline import kept_digests, move_to_store
from trading.clock import clock_from_setting
from trading.projects.models import Section


class GarbageReport(msgspec.Struct, frozen=True):
    blobs_kept: int
    blobs_deleted: int
    uploads_deleted: int
    debris_deleted: int
    #: Blobs a row references that neither the store nor the database (trading.blobs.inline) holds (a restore
    #: that lost them): never made up for here, only counted (`trading blobs check` names them).
    blobs_missing: int = 0


async def blob_references(session: Any) -> dict[str, list[str]]:
    """Every blob a row references, with the rows that do (``bid 12 documents``, ``attachment 3``)."""
    found: dict[str, list[str]] = {}
    for bid_id, blobs in await session.execute(select(Bid.id, Bid.blobs)):
        for envelope, blob in sorted(blobs.items()):
            found.setdefault(blob["sha256"], []).append(f"bid {bid_id} {envelope}")
    for reserve_id, section_id, blobs in await session.execute(
        select(ReservePrice.id, ReservePrice.section_id, ReservePrice.blobs)
    ):
        for envelope, blob in sorted(blobs.items()):
            found.setdefault(blob["sha256"], []).append(f"reserve price {reserve_id} (section {section_id}) {envelope}")
    for attachment_id, sha256 in await session.execute(select(Attachment.id, Attachment.sha256)):
        found.setdefault(sha256, []).append(f"attachment {attachment_id}")
    return found


async def referenced_blobs(session: Any) -> set[str]:
    return set(await blob_references(session))


async def collect_garbage(
    state: Any, *, grace: timedelta, now: datetime | None = None, dry_run: bool = False
) -> GarbageReport:
    """Delete what nothing references and is older than *grace* (``dry_run``: only count it)."""
    store = state.blobs
    cutoff = (now or datetime.now(UTC)) - grace
    listed = [info async for info in store.list_blobs()]
    candidates = [info for info in listed if info.modified < cutoff]
    uploads = [info async for info in store.uploads.list_uploads() if info.modified < cutoff]
    async with state.sessionmaker() as session:
        referenced = await referenced_blobs(session)
        # Small bids' ciphertexts kept in the database (trading.blobs.inline) are not the store's to hold.
        in_store = {info.sha256 for info in listed}
        kept = await kept_digests(await session.connection(), referenced - in_store)
        # An open upload continues; a superseded one may be taken up again while its section takes bids.
        live = set(
            await session.scalars(
                select(Upload.id)
                .join(Section, Section.id == Upload.section_id)
                .where(
                    Upload.id.in_([u.upload_id for u in uploads]),
                    or_(Upload.state == "open", and_(Upload.state == "superseded", Section.state == "tendering")),
                )
            )
        )
    unreferenced = [info for info in candidates if info.sha256 not in referenced]
    stale = [info for info in uploads if info.upload_id not in live]
    debris = await store.debris_before(cutoff)
    if not dry_run:
        for info in unreferenced:
            await store.delete(info.sha256)
        for upload in stale:
            await store.uploads.discard(upload.upload_id)
        await store.delete_debris(debris)
    return GarbageReport(
        blobs_kept=len(candidates) - len(unreferenced),
        blobs_deleted=len(unreferenced),
        uploads_deleted=len(stale),
        debris_deleted=len(debris),
        blobs_missing=len(referenced - in_store - kept),
    )


log = logging.getLogger("trading.blobs")
#: The advisory lock that lets one worker of all hosts collect at a time (PostgreSQL).
GC_LOCK = 0x7472_6763  # "trgc"


async def run_periodically(state: Any, stop: asyncio.Event) -> None:
    """Collect every ``blob_gc_interval`` seconds (with jitter, so workers started together spread out); on
    PostgreSQL one worker of all hosts at a time, under an advisory lock."""
    settings = state.settings
    interval = settings.blob_gc_interval
    if interval <= 0:
        return
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval * random.uniform(0.5, 1.0))
            return
        except TimeoutError:
            pass
        try:
            await _collect_once(state, timedelta(hours=settings.blob_gc_grace_hours))
        except Exception as exc:  # the next round retries
            log.warning("blob garbage collection failed: %s", type(exc).__name__)


async def move_kept(state: Any, *, now: datetime | None = None, dry_run: bool = False) -> int:
    """Move the small bids' ciphertexts the database has kept for ``inline_blob_keep_days`` to the blob store
    (trading.blobs.inline.move_to_store); how many (``dry_run``: would be). 0 days: none."""
    days = state.settings.inline_blob_keep_days
    if days <= 0:
        return 0
    if now is None:  # the platform's clock, which dated the rows (a command's state has only the setting)
        clock = getattr(state, "clock", None) or clock_from_setting(state.settings.clock)
        async with state.sessionmaker() as session:
            now = await clock.now(session)
    before = now - timedelta(days=days)
    return await move_to_store(state.sessionmaker, state.blobs, before, dry_run=dry_run)


async def _collect_once(state: Any, grace: timedelta) -> GarbageReport | None:
    engine = state.engine
    if engine.dialect.name != "postgresql":
        return await collect_garbage(state, grace=grace)  # (SQLite keeps no bid's ciphertexts in the database)
    async with engine.connect() as conn:
        if not await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": GC_LOCK}):
            return None  # another worker is at it
        try:
            report = await collect_garbage(state, grace=grace)
            moved = await move_kept(state)
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": GC_LOCK})
    if moved:
        log.info("moved %d ciphertexts kept in the database to the blob store", moved)
    if report.blobs_missing:
        log.warning("%d referenced blobs are not in the store (trading blobs check names them)", report.blobs_missing)
    if report.blobs_deleted or report.uploads_deleted or report.debris_deleted:
        log.info(
            "blob garbage collected: %d blobs, %d uploads, %d temporary files",
            report.blobs_deleted,
            report.uploads_deleted,
            report.debris_deleted,
        )
    return report
