"""S3-compatible object storage through obstore: the store several app hosts share.

Layout in the bucket (under the configured prefix):

- ``blobs/<sha256>``: a stored blob. It is written straight from the incoming stream (a multipart upload for
  anything large) and appears only when the upload completes; a body whose hash is not the one expected is
  aborted before completion, so nothing ever stands at an address that is not its content's hash.
- ``staging/<token>``: a body whose hash is learnt only at its end (an attachment), copied to its address
  inside the bucket and then removed. What a crash leaves here is swept after a grace period.
- ``uploads/<upload id>/<envelope>/<index>``: a bidder's resumable upload in segments of
  :data:`SEGMENT` bytes at fixed offsets (index × SEGMENT). Each append request writes whole segments as it
  goes and the segment it ends in, so an upload cut short keeps what reached the bucket; an append that starts
  inside a segment rewrites that segment from its start. Any app host can continue an upload and complete it:
  completing streams the segments in order into ``blobs/<sha256>``, checking the hash the bidder signed.

Every call has a bounded timeout and few retries: a store that does not answer is a 503 to the client within
seconds (:class:`~trading.blobs.StoreUnavailable`), never a request left hanging.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, NotFoundError
from obstore.store import S3Store

from trading.blobs import (
    BlobInfo,
    HashMismatch,
    Incomplete,
    Measured,
    OffsetMismatch,
    Prepared,
    StoredBlob,
    StoreUnavailable,
    UploadInfo,
    beyond_declared,
    is_sha256,
    too_large,
)

if TYPE_CHECKING:
    from trading.settings import Settings

T = TypeVar("T")
#: obstore raises Python's own FileNotFoundError / FileExistsError for these, its own types on some paths.
NOT_FOUND = (NotFoundError, FileNotFoundError)
EXISTS = (AlreadyExistsError, FileExistsError)

#: An upload's segment size: what a cut-short request can lose.
SEGMENT = 4 * 1024 * 1024
#: Segments an append writes at once (it holds these and the one being filled in memory), and segments all the
#: appends of a process write at once: many uploads together get one each, not more memory.
SEGMENTS_IN_FLIGHT = 3
SEGMENTS_IN_FLIGHT_PER_PROCESS = 12
#: A blob already at its address is taken as it is only if written this recently; an older one is written
#: again, so that it is fresh and garbage collection (which spares blobs younger than its grace period, far
#: longer than this) cannot take it while the new reference to it commits.
REUSE_FRESH = timedelta(hours=1)
#: Part size and parallel parts of a streamed multipart put: memory per put is about their product.
PART = 8 * 1024 * 1024
PARTS_IN_FLIGHT = 2
READ_CHUNK = 1024 * 1024
#: Small blobs fetched at once by read_many (the opening's price ciphertexts).
READ_MANY_CONCURRENCY = 32


async def _call(fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """One store call; its failures (other than not-found and already-exists, which callers handle) are a 503.
    obstore's messages name the endpoint and the bucket: they are never shown."""
    try:
        return await fn(*args, **kwargs)
    except (*NOT_FOUND, *EXISTS):
        raise
    except BaseError as exc:
        raise StoreUnavailable() from exc


class S3BlobStore:
    kind = "s3"

    def __init__(self, store: S3Store) -> None:
        self.s3 = store
        self.uploads = S3Uploads(self)

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        return cls(make_s3(settings))

    @staticmethod
    def _key(sha256: str) -> str:
        if not is_sha256(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return f"blobs/{sha256}"

    async def put_stream(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int, expected_sha256: str | None = None
    ) -> StoredBlob:
        body = Measured(chunks, max_bytes)

        async def checked() -> AsyncIterator[bytes]:
            async for chunk in body:
                yield chunk
            # Raised before the stream ends, so obstore aborts the upload: nothing appears under the address.
            if expected_sha256 is not None and body.sha256 != expected_sha256:
                raise HashMismatch(body.sha256)

        if expected_sha256 is not None:
            # Written straight to its address: the same content written again is the same object.
            await self._put(self._key(expected_sha256), checked())
            return StoredBlob(sha256=expected_sha256, size=body.size)
        staging = f"staging/{secrets.token_hex(16)}"
        await self._put(staging, checked())
        try:
            sha256 = body.sha256
            if not await self.fresh(sha256):
                await _call(obstore.copy_async, self.s3, staging, self._key(sha256))
        finally:
            await _call(obstore.delete_async, self.s3, staging)
        return StoredBlob(sha256=sha256, size=body.size)

    async def replace_stream(self, chunks: AsyncIterable[bytes], *, max_bytes: int, expected_sha256: str) -> StoredBlob:
        # A PUT to the address replaces the object there only when it completes; one aborted on a wrong hash
        # leaves the old object as it was.
        return await self.put_stream(chunks, max_bytes=max_bytes, expected_sha256=expected_sha256)

    async def put_bytes(self, data: bytes, *, expected_sha256: str) -> StoredBlob:
        """Store a small body held in memory, at its address, in one PUT."""
        sha256 = hashlib.sha256(data).hexdigest()
        if sha256 != expected_sha256:
            raise HashMismatch(sha256)
        await _call(obstore.put_async, self.s3, self._key(sha256), data)
        return StoredBlob(sha256=sha256, size=len(data))

    async def _put(self, key: str, body: AsyncIterator[bytes]) -> None:
        await _call(obstore.put_async, self.s3, key, body, chunk_size=PART, max_concurrency=PARTS_IN_FLIGHT)

    async def open_stream(self, sha256: str) -> AsyncIterator[bytes]:
        result = await _call(obstore.get_async, self.s3, self._key(sha256))
        try:
            async for chunk in result.stream(min_chunk_size=READ_CHUNK):
                yield bytes(chunk)
        except BaseError as exc:
            raise StoreUnavailable() from exc

    def open_reader(self, sha256: str) -> BinaryIO:
        try:
            return _Reader(obstore.open_reader(self.s3, self._key(sha256), buffer_size=READ_CHUNK))
        except NOT_FOUND as exc:
            raise FileNotFoundError(sha256) from exc
        except BaseError as exc:
            raise StoreUnavailable() from exc

    async def read_bytes(self, sha256: str, max_bytes: int) -> bytes:
        result = await _call(obstore.get_async, self.s3, self._key(sha256))
        if result.meta["size"] > max_bytes:
            raise too_large(max_bytes)
        return bytes(await _call(result.bytes_async))

    async def read_many(self, wanted: Sequence[tuple[str, int]]) -> list[bytes]:
        limit = asyncio.Semaphore(READ_MANY_CONCURRENCY)

        async def one(sha256: str, max_bytes: int) -> bytes:
            async with limit:
                return await self.read_bytes(sha256, max_bytes)

        return list(await asyncio.gather(*(one(sha256, max_bytes) for sha256, max_bytes in wanted)))

    async def exists(self, sha256: str) -> bool:
        return await self._exists(self._key(sha256))

    async def fresh(self, sha256: str) -> bool:
        """Whether the blob is there and was written within :data:`REUSE_FRESH`."""
        try:
            meta = await _call(obstore.head_async, self.s3, self._key(sha256))
        except NOT_FOUND:
            return False
        return meta["last_modified"] > datetime.now(UTC) - REUSE_FRESH

    async def _exists(self, key: str) -> bool:
        try:
            await _call(obstore.head_async, self.s3, key)
        except NOT_FOUND:
            return False
        return True

    async def delete(self, sha256: str) -> None:
        await self._delete(self._key(sha256))

    async def _delete(self, key: str) -> None:
        try:
            await _call(obstore.delete_async, self.s3, key)
        except NOT_FOUND:
            pass

    async def list_blobs(self) -> AsyncIterator[BlobInfo]:
        async for meta in self._list("blobs/"):
            name = meta["path"].rsplit("/", 1)[-1]
            if is_sha256(name):
                yield BlobInfo(name, meta["size"], meta["last_modified"])

    async def _list(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
        try:
            async for batch in obstore.list(self.s3, prefix):
                for meta in batch:
                    yield meta
        except BaseError as exc:
            raise StoreUnavailable() from exc

    async def debris_before(self, cutoff: datetime) -> list[str]:
        """Staging objects a crash left, older than *cutoff*."""
        return [m["path"] async for m in self._list("staging/") if m["last_modified"] < cutoff]

    async def delete_debris(self, names: list[str]) -> None:
        for key in names:
            if key.startswith("staging/"):
                await self._delete(key)

    async def writable(self) -> bool:
        """A small object written and removed: the bucket answers and takes writes."""
        key = f"staging/ready-{secrets.token_hex(8)}"
        try:
            await _call(obstore.put_async, self.s3, key, b"ready")
            await self._delete(key)
        except (StoreUnavailable, BaseError):
            return False
        return True


class _Reader:
    """obstore's blocking reader as a plain file object (read, close, context manager)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def read(self, size: int = -1) -> bytes:
        try:
            return bytes(self.inner.read(size) if size >= 0 else self.inner.read())
        except BaseError as exc:
            raise StoreUnavailable() from exc

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class S3Uploads:
    def __init__(self, store: S3BlobStore) -> None:
        self.store = store
        self._slots = asyncio.Semaphore(SEGMENTS_IN_FLIGHT_PER_PROCESS)

    @staticmethod
    def _prefix(upload_id: str, envelope: str | None = None) -> str:
        if not upload_id.isalnum():
            raise ValueError("not an upload id")
        return f"uploads/{upload_id}/" + (f"{envelope}/" if envelope else "")

    def _segment(self, upload_id: str, envelope: str, index: int) -> str:
        return f"{self._prefix(upload_id, envelope)}{index:08d}"

    async def _segments(self, upload_id: str, envelope: str) -> dict[int, int]:
        """index → size of the segments in the bucket."""
        found = {}
        async for meta in self.store._list(self._prefix(upload_id, envelope)):
            name = meta["path"].rsplit("/", 1)[-1]
            if name.isdigit():
                found[int(name)] = meta["size"]
        return found

    async def received(self, upload_id: str, envelope: str) -> int:
        return _contiguous(await self._segments(upload_id, envelope))

    async def append(self, upload_id: str, envelope: str, offset: int, chunks: AsyncIterable[bytes], limit: int) -> int:
        received = await self.received(upload_id, envelope)
        if offset != received:
            raise OffsetMismatch(received)
        index, within = divmod(offset, SEGMENT)
        pending: list[bytes] = []  # the current segment's bytes, as they came (no copies)
        held = 0
        if within:  # resuming inside a segment: it is written again from its start
            head = await _call(obstore.get_async, self.s3, self._segment(upload_id, envelope, index))
            pending, held = [bytes(await _call(head.bytes_async))[:within]], within
        written, flushed = offset, held
        # Whole segments go to the store while the next ones arrive, a few at once: a PUT's round trip, not the
        # bandwidth, is what a segment costs. They may land out of order; what counts as received is only ever
        # the run of segments from offset 0 (_contiguous), so a gap a failed write leaves is sent again.
        writing = _Writes(SEGMENTS_IN_FLIGHT, self._slots)
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                if written + len(chunk) > limit:
                    raise beyond_declared(limit)
                written += len(chunk)
                while chunk:
                    take = chunk[: SEGMENT - held]
                    pending.append(take)
                    held += len(take)
                    chunk = chunk[len(take) :]
                    if held == SEGMENT:
                        await writing.start(self._write, upload_id, envelope, index, pending)
                        pending, held, flushed, index = [], 0, 0, index + 1
        finally:
            # The writes under way finish first (a store that failed one is a 503, with nothing more written).
            # Then what arrived is kept, also when the client went away or sent too much: it resumes from there.
            await writing.finish()
            if held > flushed:
                await writing.now(self._write, upload_id, envelope, index, pending)
        return written

    @property
    def s3(self) -> S3Store:
        return self.store.s3

    async def _write(self, upload_id: str, envelope: str, index: int, pieces: list[bytes]) -> None:
        await _call(obstore.put_async, self.s3, self._segment(upload_id, envelope, index), pieces, use_multipart=False)

    async def prepare(self, upload_id: str, envelope: str, sha256: str, size: int) -> Prepared:
        prepared = Prepared(upload_id=upload_id, envelope=envelope, sha256=sha256, size=size)
        if await self.store.fresh(sha256):  # stored by an earlier try (a retried completion): it is that content
            return prepared
        segments = await self._segments(upload_id, envelope)
        received = _contiguous(segments)
        if received != size:
            raise Incomplete(received)
        try:
            await self.store.put_stream(
                self._concatenated(upload_id, envelope, segments), max_bytes=size, expected_sha256=sha256
            )
        except HashMismatch:
            # Discard the bad bytes, so that the same sealed file can be uploaded again from offset 0.
            for index in segments:
                await self.store._delete(self._segment(upload_id, envelope, index))
            raise
        return prepared

    async def _concatenated(self, upload_id: str, envelope: str, segments: dict[int, int]) -> AsyncIterator[bytes]:
        for index in _run(segments):
            result = await _call(obstore.get_async, self.s3, self._segment(upload_id, envelope, index))
            try:
                async for chunk in result.stream(min_chunk_size=READ_CHUNK):
                    yield bytes(chunk)
            except BaseError as exc:
                raise StoreUnavailable() from exc

    async def commit(self, prepared: Prepared) -> StoredBlob:
        """Already in the store since ``prepare`` (checked as it was written): nothing left to do."""
        return StoredBlob(sha256=prepared.sha256, size=prepared.size)

    async def discard(self, upload_id: str) -> None:
        keys = [m["path"] async for m in self.store._list(self._prefix(upload_id))]
        for key in keys:
            await self.store._delete(key)

    async def list_uploads(self) -> AsyncIterator[UploadInfo]:
        latest: dict[str, Any] = {}
        async for meta in self.store._list("uploads/"):
            parts = meta["path"].split("/")
            if len(parts) >= 2:
                upload_id = parts[1]
                if upload_id not in latest or meta["last_modified"] > latest[upload_id]:
                    latest[upload_id] = meta["last_modified"]
        for upload_id, modified in latest.items():
            yield UploadInfo(upload_id, modified)


class _Writes:
    """At most *limit* writes under way at once, each holding one of the process's *slots* while it runs; the
    first failure is raised by the next ``start`` or by ``finish``, which waits for all of them either way."""

    def __init__(self, limit: int, slots: asyncio.Semaphore) -> None:
        self.limit = limit
        self.slots = slots
        self.running: set[asyncio.Future[None]] = set()

    async def start(self, write: Callable[..., Awaitable[None]], *args: Any) -> None:
        if len(self.running) >= self.limit:
            done, self.running = await asyncio.wait(self.running, return_when=asyncio.FIRST_COMPLETED)
            _raise_first([task.exception() for task in done])
        await self.slots.acquire()
        self.running.add(asyncio.ensure_future(self._holding_slot(write(*args))))

    async def now(self, write: Callable[..., Awaitable[None]], *args: Any) -> None:
        """One write, awaited here, in one of the process's slots (an upload's last, short segment)."""
        async with self.slots:
            await write(*args)

    async def _holding_slot(self, write: Awaitable[None]) -> None:
        try:
            await write
        finally:
            self.slots.release()

    async def finish(self) -> None:
        running, self.running = self.running, set()
        _raise_first(await asyncio.gather(*running, return_exceptions=True))


def _raise_first(results: Sequence[object]) -> None:
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _run(segments: dict[int, int]) -> list[int]:
    """The segments held from offset 0 on: whole ones, then the one that ends short (or none)."""
    run: list[int] = []
    while len(run) in segments:
        run.append(len(run))
        if segments[run[-1]] < SEGMENT:
            break
    return run


def _contiguous(segments: dict[int, int]) -> int:
    """Bytes held from offset 0 on."""
    return sum(segments[index] for index in _run(segments))


def make_s3(settings: Settings) -> S3Store:
    """The bucket the settings name. Credentials come from the environment or a file, never the repository."""
    secret = settings.s3_secret_access_key
    if settings.s3_secret_access_key_file:
        secret = Path(settings.s3_secret_access_key_file).read_text(encoding="utf-8").strip()
    if not settings.s3_bucket:
        raise ValueError("blob_store = s3 needs s3_bucket (TRADING_S3_BUCKET)")
    config: dict[str, Any] = {"region": settings.s3_region}
    if settings.s3_endpoint:
        config["endpoint"] = settings.s3_endpoint
    if settings.s3_access_key_id:
        config["access_key_id"] = settings.s3_access_key_id
        config["secret_access_key"] = secret
    return S3Store(
        settings.s3_bucket,
        prefix=settings.s3_prefix or None,
        client_options={
            "allow_http": settings.s3_endpoint.startswith("http://"),
            "connect_timeout": timedelta(seconds=3),
            # A stalled read fails after s3_timeout; a long download as a whole may take its time.
            "read_timeout": timedelta(seconds=settings.s3_timeout),
            "timeout": timedelta(hours=2),
        },
        retry_config={
            "max_retries": 2,
            "retry_timeout": timedelta(seconds=settings.s3_timeout),
            "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=2), "base": 2},
        },
        **config,
    )
