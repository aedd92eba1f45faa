"""Blobs kept in the database (``inline_blobs``): a small bid's ciphertexts, written by the very statement that
accepts the bid (bidding.submission._accept_whole). In a deadline storm a bid is then one durable write — the
database's commit — where it was that commit and two files written and fsynced (or two PUTs to the object
store) beside it: the ciphertexts are durable exactly when the bid is, and a refused bid leaves nothing behind.

Which ciphertexts: each at most ``inline_blob_max_kib`` (1 MiB by default; a bid sent whole is at most 16 MiB,
its price envelope a few hundred bytes). They stay there, backed up with the database (its dump holds them),
until ``inline_blob_keep_days`` old: then the garbage collection's round moves them to the blob store
(:func:`move_to_store`), where the blob store's backup takes them.
Everything that reads a bid's ciphertexts asks the app's store, which is :class:`InlineFirst`: the database
first, then the blob store. The blob store's own listing (garbage collection, ``trading blobs export``) never
sees them; ``trading blobs check`` counts them as present. A reader that holds a session reads them through the
session's connection (:func:`through`, :func:`stream`): taking a second connection from a pool its first is
counted in can wait on itself (tests/blobs/test_one_connection.py).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import LargeBinary, String, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from trading.blobs import READ_CHUNK, too_large
from trading.db import Base, Lean, UTCDateTime


class InlineBlob(Base):
    """A blob kept in the database, at its SHA-256 (as the blob store keeps its own)."""

    __tablename__ = "inline_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


_TABLE = InlineBlob.__table__
#: PostgreSQL: the blobs among many digests in one statement (an array parameter, so that it is prepared once).
_MANY_PG = Lean(
    select(_TABLE.c.sha256, _TABLE.c.data).where(_TABLE.c.sha256 == func.any(bindparam("shas", type_=ARRAY(String))))
)
_MANY = select(_TABLE.c.sha256, _TABLE.c.data).where(_TABLE.c.sha256.in_(bindparam("shas", expanding=True)))


async def inline_blobs(conn: AsyncConnection, digests: Iterable[str]) -> dict[str, bytes]:
    """The blobs the database keeps among *digests*, by digest."""
    wanted = sorted(set(digests))
    if not wanted:
        return {}
    if conn.dialect.name == "postgresql":
        rows = await _MANY_PG.rows(conn, {"shas": wanted})
    else:
        rows = (await conn.execute(_MANY, {"shas": wanted})).mappings().all()
    return {row["sha256"]: bytes(row["data"]) for row in rows}


async def kept_digests(conn: AsyncConnection, digests: Iterable[str]) -> set[str]:
    """Which of *digests* the database keeps a blob for (their bytes left where they are)."""
    wanted = sorted(set(digests))
    if not wanted:
        return set()
    return set((await conn.execute(select(_TABLE.c.sha256).where(_TABLE.c.sha256.in_(wanted)))).scalars())


_AGED = (
    select(_TABLE.c.sha256)
    .where(_TABLE.c.created_at < bindparam("before"))
    .order_by(_TABLE.c.created_at, _TABLE.c.sha256)
    .limit(bindparam("size"))
)


async def move_to_store(
    sessionmaker: Any, store: Any, before: datetime, *, batch: int = 50, dry_run: bool = False
) -> int:
    """Move the blobs the database has kept since before *before* into the blob store *store*, and return how
    many (``dry_run``: only count them). Each is written to the store — durably: fsynced, or a PUT answered —
    before its row is deleted, so a reader finds it in one place or the other at every moment, and a failure
    (the store away, a crash) leaves the rows it had not yet deleted where they were, to move at the next round.
    No connection is held while the store writes."""
    if dry_run:
        async with sessionmaker() as session:
            return int(await session.scalar(select(func.count()).where(_TABLE.c.created_at < before)) or 0)
    moved = 0
    async with sessionmaker() as session:
        while digests := list(await session.scalars(_AGED, {"before": before, "size": batch})):
            await session.rollback()
            for sha256 in digests:
                data = await session.scalar(select(_TABLE.c.data).where(_TABLE.c.sha256 == sha256))
                await session.rollback()
                if data is not None:
                    await store.put_bytes(bytes(data), expected_sha256=sha256)
            await session.execute(delete(_TABLE).where(_TABLE.c.sha256.in_(digests)))
            await session.commit()
            moved += len(digests)
    return moved


class InlineFirst:
    """The app's blob store: reads look in the database first, then in the blob store (*inner*); everything else
    — writes, uploads, listing, deleting — is the blob store's."""

    def __init__(self, inner: Any, engine: AsyncEngine, conn: AsyncConnection | None = None) -> None:
        self.inner = inner
        self.engine = engine
        self.conn = conn
        self.kind = inner.kind
        self.uploads = inner.uploads

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def on(self, conn: AsyncConnection) -> InlineFirst:
        """This store reading the database's blobs through *conn*, a connection its caller holds already: one
        held while a second is awaited from the pool waits on itself once the pool is spent."""
        return InlineFirst(self.inner, self.engine, conn)

    async def _inline(self, digests: Iterable[str]) -> dict[str, bytes]:
        if self.conn is not None:
            return await inline_blobs(self.conn, digests)
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await inline_blobs(conn, digests)

    async def read_bytes(self, sha256: str, max_bytes: int) -> bytes:
        data = (await self._inline([sha256])).get(sha256)
        if data is None:
            return bytes(await self.inner.read_bytes(sha256, max_bytes))
        if len(data) > max_bytes:
            raise too_large(max_bytes)
        return data

    async def read_many(self, wanted: Sequence[tuple[str, int]]) -> list[bytes]:
        found = await self._inline(sha256 for sha256, _ in wanted)
        for sha256, max_bytes in wanted:
            if sha256 in found and len(found[sha256]) > max_bytes:
                raise too_large(max_bytes)
        rest = [(sha256, max_bytes) for sha256, max_bytes in wanted if sha256 not in found]
        stored = iter(await self.inner.read_many(rest) if rest else [])
        return [found[sha256] if sha256 in found else next(stored) for sha256, _ in wanted]

    async def open_stream(self, sha256: str) -> AsyncIterator[bytes]:
        async for chunk in await self.stream(sha256):
            yield chunk

    async def stream(self, sha256: str) -> AsyncIterator[bytes]:
        """*sha256*'s bytes as a stream, looked for in the database now (not once the stream is read: a response
        reads it after its handler, and its session, are done)."""
        data = (await self._inline([sha256])).get(sha256)
        if data is None:
            return self.inner.open_stream(sha256)  # type: ignore[no-any-return]
        return _chunks(data)

    async def exists(self, sha256: str) -> bool:
        return sha256 in await self._inline([sha256]) or bool(await self.inner.exists(sha256))

    async def opener(self, sha256: str) -> Callable[[str], BinaryIO]:
        """For blocking reads of *sha256* in a worker thread (a bid's documents decrypted as they stream): a
        function opening it — from memory if the database keeps it, else the blob store's ``open_reader``."""
        data = (await self._inline([sha256])).get(sha256)
        if data is None:
            return self.inner.open_reader  # type: ignore[no-any-return]
        kept, inner = data, self.inner
        return lambda digest: io.BytesIO(kept) if digest == sha256 else inner.open_reader(digest)


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), READ_CHUNK):
        yield data[start : start + READ_CHUNK]


async def through(store: Any, session: AsyncSession) -> Any:
    """*store* as its caller holding *session* should read it: the database's blobs through the session's own
    connection (:meth:`InlineFirst.on`); a plain store as it is."""
    if isinstance(store, InlineFirst):
        return store.on(await session.connection())
    return store


async def stream(store: Any, session: AsyncSession, sha256: str) -> AsyncIterator[bytes]:
    """A response's stream of *sha256* from *store*, the database's copy found through *session* now."""
    store = await through(store, session)
    if isinstance(store, InlineFirst):
        return await store.stream(sha256)
    return store.open_stream(sha256)  # type: ignore[no-any-return]


async def opener(store: Any, sha256: str) -> Callable[[str], BinaryIO]:
    """*store*'s way to open *sha256* for blocking reads: :meth:`InlineFirst.opener`, or a plain store's
    ``open_reader`` (a command's store, which the database's blobs are not behind)."""
    if isinstance(store, InlineFirst):
        return await store.opener(sha256)
    return store.open_reader  # type: ignore[no-any-return]
