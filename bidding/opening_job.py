"""The opening as a background job owned by the database (开标解密任务).

When the share window closes — or the n-th opener's shares come in — the upload (or the scheduler) marks the
opening *due* in the same transaction: ``openings.state`` goes from ``waiting`` to ``opening`` and ``due_at``
fixes the moment the bids are opened at. The request answers at once (202); no opener waits for the decryption.

Any worker's loop (:func:`run`) then claims the due opening with one conditional statement — ``UPDATE openings
SET lease_owner = me, lease_until = now + lease WHERE state = 'opening' AND (lease_until IS NULL OR lease_until
< now)`` — so exactly one worker holds it, on PostgreSQL and SQLite alike. The holder opens the bids in batches
(``settings.opening_batch``), oldest first; each batch commits its results (one row per bid, and the rebuilt
documents key) together with the progress the opening hall shows (``bids_opened``) and a renewed lease, in a
transaction that first checks the lease is still this worker's. A worker that dies leaves its lease to lapse
(``settings.opening_lease``); whoever claims the job next resumes after the last committed batch, so every bid is
opened once. The record is published in one last transaction that moves the opening from ``opening`` to
``opened`` only if this worker still holds it: two workers can never both publish.

The arithmetic of a batch (the price key rebuilt from the shares and checked against its commitment, the price
envelope decrypted, the documents key rebuilt and checked) is pure (bidding.opening_batch) and runs in a process
beside the worker (``settings.opening_processes``; 0: a thread), on another core: meanwhile the worker reads the
next batch, writes the last, and keeps answering requests — the opening hall's among them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import secrets
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta
from typing import Any

import anyio
from litestar.datastructures import State
from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import committees, rulings
from bidding.committees import SectionCommittee, section_committee
from bidding.hall import notify_hall
from bidding.models import Bid, DocumentKey, Opening, OpeningDispute, OpeningResult, OpeningUpload
from bidding.opening_batch import (
    NO_SHARES,
    NOT_DISPUTED,
    BidToOpen,
    open_batch,
    started,
    uploaded_shares,
    watch_parent,
)
from trading import heap, metrics
from trading.accounts.models import Organisation
from trading.blobs import inline
from trading.context import Act
from trading.db import Lean

log = logging.getLogger("trading.opening")

#: A computed batch: its rows of ``opening_results`` and of ``document_keys`` (bidding.opening_batch.open_batch).
Computed = tuple[list[dict[str, Any]], list[dict[str, Any]]]

#: How often each worker looks for due openings it did not mark itself (those it marks it starts at once).
POLL_SECONDS = 1.0


class LeaseLost(Exception):
    """Another worker holds the job now (this one's lease lapsed): stop, and leave the job to it."""


async def mark_due(session: AsyncSession, section_id: int, at: datetime) -> bool:
    """In the caller's transaction: the opening is due at *at* (from ``waiting``); whether this call made it so."""
    total = await session.scalar(
        select(func.count()).select_from(Bid).where(Bid.section_id == section_id, Bid.state == "active")
    )
    marked = await session.execute(
        update(Opening)
        .where(Opening.section_id == section_id, Opening.state == "waiting")
        .values(state="opening", due_at=at, bids_total=total or 0, bids_opened=0, lease_owner=None, lease_until=None)
    )
    return marked.rowcount == 1


# --- one job -----------------------------------------------------------------------------------------------------


def section_context(sc: SectionCommittee) -> dict[str, Any]:
    """The section's part of every bid's context (the bidder's credit code is each bid's own)."""
    assert sc.committee is not None
    return {
        "section_id": sc.section.id,
        "trade_code": sc.project.trade_code,
        "section_code": sc.section.code,
        "suite": sc.committee["suite"],
        "k": sc.committee["k"],
        "n": sc.committee["n"],
        "opener_keys": sc.public_keys,
    }


async def claim(state: State, section_id: int, owner: str) -> bool:
    """Take the due opening for *owner*, unless a live lease holds it (one conditional statement)."""
    async with state.sessionmaker() as session:
        now = await state.clock.now(session)
        claimed = await session.execute(
            update(Opening)
            .where(
                Opening.section_id == section_id,
                Opening.state == "opening",
                or_(Opening.lease_until.is_(None), Opening.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=now + _lease(state))
        )
        await session.commit()
        return claimed.rowcount == 1


async def _hold(session: AsyncSession, state: State, section_id: int, owner: str, **values: Any) -> datetime:
    """First statement of each of the job's transactions: renew the lease, or raise :class:`LeaseLost` if it is no
    longer *owner*'s. On PostgreSQL it locks the opening's row until commit, so a claimer waits and then sees the
    renewed lease; the caller's writes commit only with it."""
    now = await state.clock.now(session)
    held = await session.execute(
        update(Opening)
        .where(Opening.section_id == section_id, Opening.state == "opening", Opening.lease_owner == owner)
        .values(lease_until=now + _lease(state), **values)
    )
    if held.rowcount != 1:
        raise LeaseLost(section_id)
    return now


def _lease(state: State) -> timedelta:
    return timedelta(seconds=state.settings.opening_lease)


async def run_job(state: State, section_id: int, owner: str, *, batches: int | None = None) -> bool:
    """Claim the due opening of *section_id* and run it to the published record; whether this call published it.

    *batches* stops after that many committed batches, leaving the lease held, as a worker that died there
    would (the crash tests use it)."""
    if not await claim(state, section_id, owner):
        return False
    with heap.collector_paused():
        return await _run_claimed(state, section_id, owner, batches)


async def _run_claimed(state: State, section_id: int, owner: str, batches: int | None) -> bool:
    """:func:`run_job` once the job is this worker's."""
    runner_of(state).start_pool()  # (its processes start while the first batch is read)
    async with state.sessionmaker() as session:
        sc = await section_committee(session, section_id)
        context = section_context(sc)
        price_fields = committees.price_fields(sc.committee)
        # Resume after the last committed batch: batches commit in bid order.
        after = await session.scalar(
            select(func.max(OpeningResult.bid_id)).where(OpeningResult.section_id == section_id)
        )
        disputed: dict[int, dict[str, set[int]]] = {}
        for bid_id, envelope, position in (
            await session.execute(
                select(OpeningDispute.bid_id, OpeningDispute.envelope, OpeningDispute.position).where(
                    OpeningDispute.section_id == section_id
                )
            )
        ).all():
            disputed.setdefault(bid_id, {"price": set(), "documents": set()})[envelope].add(position)
        # The shares that count: those in the openers' signed uploads, all in by the time the opening became due.
        shares = uploaded_shares(await upload_documents(session, section_id))
    after = after or 0
    batch_size = state.settings.opening_batch

    async def read(after: int) -> list[BidToOpen]:
        async with state.sessionmaker() as session:
            return await _read_batch(session, state, section_id, after, batch_size, shares, disputed)

    async def write(results: list[dict[str, Any]], keys: list[dict[str, Any]]) -> None:
        async with state.sessionmaker() as session:
            now = await _hold(session, state, section_id, owner, bids_opened=Opening.bids_opened + len(results))
            # The batch's rows by COPY on PostgreSQL (Lean): the ORM's bulk insert, then SQLAlchemy's executemany,
            # spent more on each row than the database did, and as many INSERTs cost the database itself more.
            conn = await session.connection()
            await _INSERT_RESULTS.copy_many(conn, results)
            for key in keys:
                key["rebuilt_at"] = now
            await _INSERT_DOCUMENT_KEYS.copy_many(conn, keys)
            await notify_hall(session, section_id)  # the hall's progress
            await session.commit()

    def compute(batch: list[BidToOpen]) -> asyncio.Future[Computed]:
        return asyncio.ensure_future(_compute(state, batch, context, price_fields, section_id))

    # A pipeline: while one batch is computed (in the processes), the next is read and queued behind it, and the
    # one before is written. Queued, the next batch is there for each process as soon as it finishes its part of
    # this one, instead of after this worker has collected the results, started their write and read more (the
    # processes waited on that for about half of each batch). Writes commit in bid order, one at a time, so the
    # last committed bid is where a resumed job starts.
    written = opened = 0
    started = time.perf_counter()
    computing = 0.0
    writing: asyncio.Future[None] | None = None
    current: asyncio.Future[Computed] | None = None
    queued: asyncio.Future[Computed] | None = None
    batch = await read(after)
    try:
        current = compute(batch) if batch else None
        while current is not None:
            following = await read(batch[-1].bid_id)
            queued = compute(following) if following else None
            waited = time.perf_counter()
            results, keys = await current
            computing += time.perf_counter() - waited
            opened += len(results)
            if writing is not None:
                await writing
                written += 1
                if batches is not None and written >= batches:
                    return False
            writing = asyncio.ensure_future(write(results, keys))
            batch, current, queued = following, queued, None
        if writing is not None:
            await writing
            written += 1
            if batches is not None and written >= batches:
                return False
    except asyncio.CancelledError:  # stopping (SIGTERM): the batch under way rolls back, the job is handed back
        if writing is not None and not writing.done():
            writing.cancel()
        raise
    except Exception:
        # A failure further on (a ciphertext gone, the store away) loses no batch already opened and being written:
        # its write finishes, or fails on its own, and the next attempt goes on after it.
        if writing is not None and not writing.done():
            with contextlib.suppress(Exception):
                await writing
        raise
    finally:
        for task in (current, queued):
            if task is not None and not task.done():
                task.cancel()
    batched = time.perf_counter()
    await _publish(state, section_id, owner)
    # For the operator (no figure from any bid): how long the opening took, and where.
    log.info(
        "opening of section %s: %d bids opened in %d batches in %.2f s (%.2f s computing), record published in %.2f s",
        section_id,
        opened,
        written,
        batched - started,
        computing,
        time.perf_counter() - batched,
    )
    return True


async def _compute(
    state: State,
    batch: list[BidToOpen],
    context: dict[str, Any],
    price_fields: tuple[str, ...],
    section_id: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """:func:`open_batch` in the runner's process (settings.opening_processes), else in a thread of this one."""
    runner = runner_of(state)
    pool = runner.pool()
    if pool is None:
        return await anyio.to_thread.run_sync(open_batch, batch, context, price_fields, section_id)
    # One part of the batch for each process; the parts come back in order.
    loop = asyncio.get_running_loop()
    size = -(-len(batch) // state.settings.opening_processes)
    try:
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(pool, open_batch, batch[i : i + size], context, price_fields, section_id)
                for i in range(0, len(batch), size)
            )
        )
    except BrokenProcessPool:
        runner.drop_pool()  # (the process died: the job's next attempt starts another)
        raise
    return [row for results, _ in parts for row in results], [row for _, keys in parts for row in keys]


_INSERT_RESULTS = Lean(
    insert(OpeningResult.__table__).values(
        {
            **{n: bindparam(n) for n in ("section_id", "bid_id", "outcome", "form", "data_key", "reason", "fault")},
            "rank": 0,
        }
    )
)
_INSERT_DOCUMENT_KEYS = Lean(
    insert(DocumentKey.__table__).values(
        {n: bindparam(n) for n in ("bid_id", "section_id", "outcome", "data_key", "reason", "fault", "rebuilt_at")}
    )
)
_BATCH = Lean(
    select(Bid.id, Bid.manifest, Bid.blobs, Organisation.credit_code)
    .join(Organisation, Organisation.id == Bid.organisation_id)
    .where(Bid.section_id == bindparam("section_id"), Bid.state == "active", Bid.id > bindparam("after"))
    .order_by(Bid.id)
    .limit(bindparam("size"))
)


async def _read_batch(
    session: AsyncSession,
    state: State,
    section_id: int,
    after: int,
    size: int,
    shares: dict[int, dict[str, dict[int, bytes]]],
    disputed: dict[int, dict[str, set[int]]],
) -> list[BidToOpen]:
    """The next *size* active bids after bid *after*, with their shares and price ciphertexts."""
    rows = await _BATCH.rows(await session.connection(), {"section_id": section_id, "after": after, "size": size})
    if not rows:
        return []
    prices = [row["blobs"]["price"] for row in rows]
    blobs = await inline.through(state.blobs, session)
    ciphertexts = await blobs.read_many([(price["sha256"], int(price["size"])) for price in prices])
    return [
        BidToOpen(
            row["id"],
            bytes(row["manifest"]),
            row["credit_code"],
            ciphertext,
            shares.get(row["id"], NO_SHARES),
            disputed.get(row["id"], NOT_DISPUTED),
        )
        for row, ciphertext in zip(rows, ciphertexts, strict=True)
    ]


async def upload_documents(session: AsyncSession, section_id: int) -> dict[int, bytes]:
    """The openers' signed uploads of shares for the section, by position (bidding.opening_batch.uploaded_shares
    reads the shares from them)."""
    rows = await session.execute(
        select(OpeningUpload.position, OpeningUpload.document).where(OpeningUpload.section_id == section_id)
    )
    return {position: bytes(document) for position, document in rows.all()}


async def _publish(state: State, section_id: int, owner: str) -> None:
    """Open the reserve price and publish the record, once: the opening moves to ``opened`` only if this worker
    still holds it, in the transaction that publishes."""
    from bidding.opening import open_reserve, publish_record  # (bidding.opening marks openings due through here)

    async with state.sessionmaker() as session:
        now = await _hold(session, state, section_id, owner)
        await session.execute(
            update(Opening)
            .where(Opening.section_id == section_id)
            .values(state="opened", completed_at=now, lease_owner=None, lease_until=None)
        )
        opening = await session.get(Opening, section_id)
        assert opening is not None
        sc = await section_committee(session, section_id)
        await open_reserve(session, await inline.through(state.blobs, session), sc)
        await session.flush()
        notice = await publish_record(session, Act(actor=None, address="opening-job", at=now), sc, opening)
        opening.record_notice_id = notice.id
        await session.flush()  # (the opening is opened and its record named: the look below needs both)
        await rulings.flag_unruled(session, now, section_id=section_id, address="opening-job")
        await notify_hall(session, section_id)
        await session.commit()
    metrics.OPENINGS_COMPLETED.labels("opened").inc()


async def due_openings(state: State) -> list[int]:
    """The sections whose opening is due and held by no live lease."""
    async with state.sessionmaker() as session:
        now = await state.clock.now(session)
        return list(
            await session.scalars(
                select(Opening.section_id)
                .where(Opening.state == "opening", or_(Opening.lease_until.is_(None), Opening.lease_until < now))
                .order_by(Opening.due_at)
            )
        )


async def run_due(state: State, owner: str) -> list[int]:
    """Run every due opening nobody holds; the sections whose record this call published."""
    published = []
    for section_id in await due_openings(state):
        try:
            if await run_job(state, section_id, owner):
                published.append(section_id)
        except LeaseLost:
            log.warning("opening of section %s: the lease lapsed and another worker took the job over", section_id)
    return published


# --- the worker's loop ---------------------------------------------------------------------------------------------


class OpeningRunner:
    """This process's runs of due openings: one at a time, started at once when this process marks an opening due
    (:meth:`kick`) and every :data:`POLL_SECONDS` by the loop, for openings other workers marked or let lapse."""

    def __init__(self, state: State) -> None:
        self._state = state
        name = getattr(state.settings, "instance_name", "worker")
        self.owner = f"{name}:{os.getpid()}:{secrets.token_hex(4)}"[:100]
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._pool: ProcessPoolExecutor | None = None

    def pool(self) -> ProcessPoolExecutor | None:
        """The processes that compute the batches beside this worker, started for its first opening and kept for
        the next (None: a thread does)."""
        processes = self._state.settings.opening_processes
        if processes < 1:
            return None
        if self._pool is None:
            # Spawned, not forked: a fork of a running event loop with its threads and connections is unsafe.
            self._pool = ProcessPoolExecutor(
                max_workers=processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=watch_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def start_pool(self) -> None:
        """Start the processes now, if they are not running (spawned, each imports the envelope code), without
        waiting for them: when an opener's shares come in, an opening job is on its way."""
        if self._pool is None and (pool := self.pool()) is not None:
            # One task each: the executor spawns a process only when no started one is idle, so a single task
            # started one process, and the second was spawned by the first batch, importing on the job's time.
            for _ in range(self._state.settings.opening_processes):
                pool.submit(started)

    def drop_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def kick(self) -> None:
        """Look for due openings now (or right after the run under way)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._again = False
        self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while True:
            self._again = False
            try:
                await run_due(self._state, self.owner)
            except Exception as exc:  # retried once the lease lapses; never log what a bid holds
                log.warning("opening job failed: %s", type(exc).__name__)
                metrics.OPENING_JOB_FAILURES.labels(type(exc).__name__).inc()
            if not self._again:
                return

    async def settle(self) -> None:
        """Wait until every opening due now has been run (as far as this process can: a live lease of another
        worker's is left to it)."""
        self.kick()
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        """Stop, and hand back any job this process holds so that a restart or another worker resumes it at once
        (the batch under way rolls back; the committed ones stay)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.drop_pool()
        async with self._state.sessionmaker() as session:
            await session.execute(
                update(Opening)
                .where(Opening.lease_owner == self.owner, Opening.state == "opening")
                .values(lease_owner=None, lease_until=None)
            )
            await session.commit()


def runner_of(state: State) -> OpeningRunner:
    """The process's runner (made on first use, so tests and the demo, which run no loop, have one too)."""
    runner = getattr(state, "opening_runner", None)
    if runner is None:
        runner = state.opening_runner = OpeningRunner(state)
    return runner


async def run(state: State, stop: asyncio.Event) -> None:
    """Run due openings until *stop*: every worker does, and the database lets one of them take each."""
    runner = runner_of(state)
    while not stop.is_set():
        runner.kick()
        try:
            await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
        except TimeoutError:
            pass
    try:
        await runner.close()
    except Exception as exc:  # the lease lapses by itself
        log.warning("could not hand back the opening job: %s", type(exc).__name__)
