"""The transparency log in the database: queueing entries, integrating them into the tree, signing
checkpoints, serving entries and proofs, and accepting witness cosignatures.

Entries are queued inside the transaction of the act they record, keyed by an event key (so a retried
request adds nothing). An integrator — any worker, one at a time, serialised by a row lock that works on
both engines — gives queued entries consecutive leaf indices, stores the hash of every aligned perfect
subtree they complete, and signs a checkpoint. Roots and proofs then read O(log n) stored nodes, never
the leaves. At a section's bid deadline the integrator first takes exactly the entries created before
the deadline and signs a checkpoint for them (recorded for the opening), and only then anything later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from trading.canonical import canonical_bytes
from trading.errors import InvalidInput, NotFound
from trading.log import entries as log_entries
from trading.log import merkle
from trading.log.cuts import DeadlineCut, format_cut
from trading.log.models import DeadlineCheckpoint, LogCheckpoint, LogCosignature, LogEntry, LogNode
from trading.log.note import Checkpoint, NoteSigner, format_checkpoint
from trading.projects.models import Section

SIZE_COUNTER = "log_size"
BATCH = 1000
MAX_ENTRIES_PER_PAGE = 1000


# Built once per dialect: every act that is logged queues an entry.
QUEUE = {
    name: dialect_insert(LogEntry)
    .values(
        event_key=bindparam("event_key"),
        kind=bindparam("kind"),
        data=bindparam("data"),
        created_at=bindparam("created_at"),
    )
    .on_conflict_do_nothing(index_elements=["event_key"])
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


async def append(session: AsyncSession, *, event_key: str, kind: str, document: dict[str, Any], at: datetime) -> None:
    """Queue one entry in the caller's transaction. The same ``event_key`` twice adds nothing."""
    await session.execute(QUEUE[session.bind.dialect.name], queued(event_key, kind, document, at))


def queued(event_key: str, kind: str, document: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The log_entries row that queues *document* for the log (the integrator fills in its leaf), for a caller
    that writes it in a statement of its own making (bidding.bid_rows); ``append`` writes it alone."""
    return {"event_key": event_key, "kind": kind, "data": canonical_bytes(document), "created_at": at}


async def _fetch_nodes(session: AsyncSession, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    pairs = sorted(set(wanted))
    nodes: dict[tuple[int, int], bytes] = {}
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        rows = await session.execute(
            select(LogNode.level, LogNode.index, LogNode.hash).where(tuple_(LogNode.level, LogNode.index).in_(chunk))
        )
        nodes.update({(r.level, r.index): bytes(r.hash) for r in rows})
    missing = [p for p in pairs if p not in nodes]
    if missing:
        raise RuntimeError(f"log nodes missing from storage: {missing[:5]}")
    return nodes


async def _lock_size(session: AsyncSession) -> int:
    """Take the integrator's lock (the size counter row) and read the current tree size."""
    value = (
        await session.execute(
            text(
                "INSERT INTO counters (name, value) VALUES (:name, 0) "
                "ON CONFLICT (name) DO UPDATE SET value = counters.value RETURNING value"
            ),
            {"name": SIZE_COUNTER},
        )
    ).scalar_one()
    return int(value)


async def tree_size(session: AsyncSession) -> int:
    from trading.sequences import current_value

    return await current_value(session, SIZE_COUNTER)


async def _integrate_batch(session: AsyncSession, size: int, entries: list[Any], now: datetime) -> int:
    """Give *entries* (rows of id and data) the next leaf indices and store the subtrees they complete.

    Core statements with many parameter sets, not ORM objects: building objects for every node cost most
    of the integrator's time under load (bench/log.py)."""
    hashes = [merkle.leaf_hash(bytes(e.data)) for e in entries]
    existing = await _fetch_nodes(session, merkle.append_plan(size, len(entries)))
    created = merkle.new_nodes(size, hashes, existing)
    await session.execute(
        insert(LogNode.__table__),
        [{"level": lvl, "index": idx, "hash": h} for (lvl, idx), h in sorted(created.items())],
    )
    await session.execute(
        update(LogEntry.__table__)
        .where(LogEntry.__table__.c.id == bindparam("entry_id"))
        .values(leaf_index=bindparam("new_index"), leaf_hash=bindparam("new_hash"), integrated_at=bindparam("at")),
        [
            {"entry_id": e.id, "new_index": size + offset, "new_hash": h, "at": now}
            for offset, (e, h) in enumerate(zip(entries, hashes, strict=True))
        ],
    )
    return size + len(entries)


async def _sign(session: AsyncSession, signer: NoteSigner, origin: str, size: int, now: datetime) -> LogCheckpoint:
    current = await session.get(LogCheckpoint, size)
    if current is not None:
        return current
    root = (
        merkle.EMPTY_ROOT
        if size == 0
        else merkle.root_from_nodes(size, await _fetch_nodes(session, merkle.root_plan(size)))
    )
    note = signer.sign(format_checkpoint(Checkpoint(origin=origin, size=size, root_hash=root)))
    checkpoint = LogCheckpoint(size=size, root_hash=root, note=note, created_at=now)
    session.add(checkpoint)
    await session.flush()
    return checkpoint


async def _cut(
    session: AsyncSession, signer: NoteSigner, origin: str, section: Any, checkpoint: LogCheckpoint, now: datetime
) -> None:
    """Record and log the signed deadline cut of one section: the checkpoint that closed its bidding."""
    note = signer.sign(
        format_cut(
            DeadlineCut(
                origin=origin,
                section_id=section.id,
                section_code=section.code,
                deadline=section.deadline_at,
                tree_size=checkpoint.size,
                root_hash=bytes(checkpoint.root_hash),
                cut_at=now,
            )
        )
    )
    session.add(
        DeadlineCheckpoint(
            section_id=section.id, deadline_at=section.deadline_at, size=checkpoint.size, cut_note=note, cut_at=now
        )
    )
    await append(
        session,
        event_key=f"deadline_cut:{section.id}",
        kind="deadline_cut",
        document=log_entries.deadline_cut(note=note),
        at=now,
    )


#: Batches one round integrates at most, so a round ends (and its checkpoint is signed) under steady writes.
MAX_BATCHES_PER_ROUND = 5


async def _take(
    session: AsyncSession, size: int, *, up_to: datetime, now: datetime, complete: bool = False
) -> tuple[int, int]:
    """Integrate queued entries created at or before *up_to*, in queue order. Returns (size, added).

    A deadline cut passes ``complete``: it must hold every entry up to the deadline, however many."""
    added = 0
    batches = 0
    while complete or batches < MAX_BATCHES_PER_ROUND:
        batches += 1
        query = (
            select(LogEntry.id, LogEntry.data)
            .where(LogEntry.leaf_index.is_(None), LogEntry.created_at <= up_to)
            .order_by(LogEntry.id)
            .limit(BATCH)
        )
        entries = list(await session.execute(query))
        if not entries:
            break
        size = await _integrate_batch(session, size, entries, now)
        added += len(entries)
    return size, added


async def integrate(
    session: AsyncSession, signer: NoteSigner, *, origin: str, now: datetime, grace: timedelta = timedelta(0)
) -> int:
    """One round of integration; the caller commits. Returns the tree size afterwards.

    Deadlines come first: for each section deadline that has passed (by *grace*, so that transactions
    begun before it have committed), exactly the entries created up to it are integrated and a
    checkpoint is signed and recorded for the section. Entries created after a deadline whose cut is
    still waiting for its grace period stay queued, so the cut can never include them.
    """
    size = await _lock_size(session)
    start = size
    while True:
        due = (
            await session.execute(
                select(Section.id, Section.code, Section.deadline_at, Section.state)
                .where(
                    Section.deadline_at.is_not(None),
                    Section.deadline_at <= now,
                    ~exists().where(DeadlineCheckpoint.section_id == Section.id),
                )
                .order_by(Section.deadline_at, Section.id)
                .limit(100)
            )
        ).all()
        if not due:
            # Only what was created by this round's "now": a deadline passing while the round runs must
            # not find entries created after it already in the tree.
            size, _ = await _take(session, size, up_to=now, now=now)
            break
        cut = due[0].deadline_at
        size, _ = await _take(session, size, up_to=cut, now=now, complete=True)
        # A section still taking bids at its deadline has not been closed yet; its close waits for every
        # bid transaction that began before it (they lock the same row), so once it is closed nothing
        # created before the deadline can still appear. Until then — or the grace period — the cut waits.
        still_open = any(r.deadline_at == cut and r.state == "tendering" for r in due)
        if still_open and cut + grace > now:
            break  # the cut waits; nothing later may be integrated before it
        checkpoint = await _sign(session, signer, origin, size, now)
        for row in due:
            if row.deadline_at == cut:
                await _cut(session, signer, origin, row, checkpoint, now)
        await session.flush()
    if size != start or await session.get(LogCheckpoint, size) is None:
        await _sign(session, signer, origin, size, now)
    await session.execute(
        text("UPDATE counters SET value = :size WHERE name = :name"), {"size": size, "name": SIZE_COUNTER}
    )
    return size


# --- reading ----------------------------------------------------------------------------------------------


async def latest_checkpoint(session: AsyncSession) -> LogCheckpoint | None:
    return await session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))


async def deadline_cut(session: AsyncSession, section_id: int) -> DeadlineCheckpoint:
    row = await session.get(DeadlineCheckpoint, section_id)
    if row is None or row.cut_note is None:
        raise NotFound(
            "该标段尚未截止，没有截止切点", "This section has no deadline cut yet", code="deadline_cut_not_found"
        )
    return row


async def checkpoint_at(session: AsyncSession, size: int) -> LogCheckpoint:
    row = await session.get(LogCheckpoint, size)
    if row is None:
        raise NotFound(
            "该树大小没有签名的检查点", "No checkpoint was signed at this tree size", code="checkpoint_not_found"
        )
    return row


async def cosignature_lines(session: AsyncSession, size: int) -> list[str]:
    rows = await session.scalars(
        select(LogCosignature.line).where(LogCosignature.size == size).order_by(LogCosignature.id)
    )
    return list(rows)


async def latest_cosigned(session: AsyncSession, witness: str) -> LogCheckpoint:
    """The largest checkpoint the named witness has cosigned."""
    size = await session.scalar(select(func.max(LogCosignature.size)).where(LogCosignature.witness == witness))
    if size is None:
        raise NotFound(
            "该见证人尚未副署任何检查点",
            "This witness has not cosigned any checkpoint",
            code="not_witnessed",
        )
    return await checkpoint_at(session, int(size))


async def witness_status(session: AsyncSession, vkeys: list[str]) -> list[dict[str, Any]]:
    """For each configured witness: its vkey, name, and the latest checkpoint it cosigned (size, its timestamp)."""
    out = []
    for vkey in vkeys:
        name = vkey.split("+", 1)[0]
        latest = await session.scalar(
            select(LogCosignature).where(LogCosignature.witness == name).order_by(LogCosignature.size.desc()).limit(1)
        )
        out.append(
            {
                "vkey": vkey,
                "name": name,
                "size": latest.size if latest else None,
                "timestamp": datetime.fromtimestamp(latest.timestamp, UTC) if latest else None,
            }
        )
    return out


async def cosignatures(session: AsyncSession, size: int) -> list[LogCosignature]:
    return list(
        await session.scalars(select(LogCosignature).where(LogCosignature.size == size).order_by(LogCosignature.id))
    )


def with_cosignatures(note: str, lines: list[str]) -> str:
    """The platform's note with witness signature lines appended (a note may carry many signatures)."""
    return note + "".join(line if line.endswith("\n") else line + "\n" for line in lines)


async def _published_size(session: AsyncSession) -> int:
    checkpoint = await latest_checkpoint(session)
    return checkpoint.size if checkpoint else 0


async def entries(session: AsyncSession, start: int, end: int) -> list[tuple[int, bytes]]:
    size = await _published_size(session)
    if start < 0 or end <= start:
        raise InvalidInput("请给出 0 ≤ start < end", "Give 0 ≤ start < end", code="bad_range")
    end = min(end, size, start + MAX_ENTRIES_PER_PAGE)
    if start >= size:
        return []
    rows = await session.execute(
        select(LogEntry.leaf_index, LogEntry.data)
        .where(LogEntry.leaf_index >= start, LogEntry.leaf_index < end)
        .order_by(LogEntry.leaf_index)
    )
    return [(r.leaf_index, bytes(r.data)) for r in rows]


async def _check_size(session: AsyncSession, tree_size: int) -> None:
    if tree_size < 1 or tree_size > await _published_size(session):
        raise InvalidInput(
            "树大小超出已签名的范围", "tree_size is beyond the latest signed checkpoint", code="bad_tree_size"
        )


async def index_of(session: AsyncSession, leaf_hash: bytes) -> int:
    index = await session.scalar(select(LogEntry.leaf_index).where(LogEntry.leaf_hash == leaf_hash).limit(1))
    if index is None:
        raise NotFound("日志中没有该叶子", "No such leaf in the log", code="leaf_not_found")
    return int(index)


async def index_for_event(session: AsyncSession, event_key: str) -> int | None:
    return await session.scalar(select(LogEntry.leaf_index).where(LogEntry.event_key == event_key))


async def indexes_for_events(session: AsyncSession, keys: list[str]) -> Mapping[str, int | None]:
    rows = await session.execute(select(LogEntry.event_key, LogEntry.leaf_index).where(LogEntry.event_key.in_(keys)))
    return {r.event_key: r.leaf_index for r in rows}


async def inclusion_proof(session: AsyncSession, index: int, tree_size: int) -> list[bytes]:
    await _check_size(session, tree_size)
    if not 0 <= index < tree_size:
        raise InvalidInput("叶子序号须小于树大小", "index must be below tree_size", code="bad_index")
    nodes = await _fetch_nodes(session, merkle.inclusion_plan(index, tree_size))
    return merkle.inclusion_proof_from_nodes(index, tree_size, nodes)


async def consistency_proof(session: AsyncSession, first: int, second: int) -> list[bytes]:
    await _check_size(session, second)
    if not 0 <= first <= second:
        raise InvalidInput("须满足 0 ≤ first ≤ second", "Give 0 ≤ first ≤ second", code="bad_range")
    nodes = await _fetch_nodes(session, merkle.consistency_plan(first, second))
    return merkle.consistency_proof_from_nodes(first, second, nodes)


async def leaf_count(session: AsyncSession) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.leaf_index.is_not(None))) or 0
    )


async def has_work(session: AsyncSession, now: datetime) -> bool:
    """Whether an integration round would do anything (checked without taking the lock).

    An entry dated after *now* is not work yet: a round takes only what was created by its "now", so
    counting it would promise a round that does nothing, again and again."""
    queued = await session.scalar(
        select(LogEntry.id).where(LogEntry.leaf_index.is_(None), LogEntry.created_at <= now).limit(1)
    )
    if queued is not None:
        return True
    due = await session.scalar(
        select(Section.id)
        .where(
            Section.deadline_at.is_not(None),
            Section.deadline_at <= now,
            ~exists().where(DeadlineCheckpoint.section_id == Section.id),
        )
        .limit(1)
    )
    return due is not None or await latest_checkpoint(session) is None


async def add_cosignature(
    session: AsyncSession, *, size: int, line: str, witness_vkeys: list[str], now: datetime
) -> LogCosignature:
    """Accept a witness's cosignature on the checkpoint of *size*, if a configured witness made it."""
    from trading.log.note import NoteError, parse_note, verify_cosignature

    checkpoint = await checkpoint_at(session, size)
    body, _ = parse_note(checkpoint.note)
    for vkey in witness_vkeys:
        try:
            timestamp = verify_cosignature(line, body, vkey)
        except NoteError:
            continue
        name = vkey.split("+", 1)[0]
        existing = await session.scalar(
            select(LogCosignature).where(LogCosignature.size == size, LogCosignature.witness == name)
        )
        if existing is not None:
            return existing
        row = LogCosignature(
            size=size,
            witness=name,
            line=line if line.endswith("\n") else line + "\n",
            timestamp=timestamp,
            received_at=now,
        )
        session.add(row)
        await session.flush()
        return row
    from trading.errors import Forbidden

    raise Forbidden(
        "副署无效或见证人未登记",
        "The cosignature does not verify against any registered witness key",
        code="bad_cosignature",
    )


async def leaf_hash_at(session: AsyncSession, index: int) -> bytes:
    value = await session.scalar(select(LogEntry.leaf_hash).where(LogEntry.leaf_index == index))
    if value is None:
        raise NotFound("日志中没有该叶子", "No such leaf in the log", code="leaf_not_found")
    return bytes(value)
