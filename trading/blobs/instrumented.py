"""A blob store that times every call and counts the store's failures (trading.metrics), in front of either
backend: callers see the same interface, and anything else the backend offers (a local store's paths, say)
passes through untouched.

A failure *of the store* is counted — unavailable (503), full (507), or an unexpected error — never a refusal of
what was sent (a hash that does not match, a body too large, a blob that is not there): those are the client's.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, BinaryIO, TypeVar

from trading import metrics
from trading.blobs import (
    BlobInfo,
    BlobStore,
    HashMismatch,
    Incomplete,
    OffsetMismatch,
    Prepared,
    StoredBlob,
    UploadInfo,
    UploadSpool,
)
from trading.errors import DomainError, InsufficientStorage, ServiceUnavailable

T = TypeVar("T")

#: What a caller sent wrong, or looked for in vain: not the store's failure.
NOT_THE_STORES = (HashMismatch, Incomplete, OffsetMismatch, FileNotFoundError, KeyError, ValueError)


def _error_kind(exc: BaseException) -> str | None:
    if isinstance(exc, ServiceUnavailable):
        return "unavailable"
    if isinstance(exc, InsufficientStorage):
        return "full"
    if isinstance(exc, (*NOT_THE_STORES, DomainError)) or not isinstance(exc, Exception):
        return None  # a refusal (too large …), or a cancelled request
    return "other"


class _Timed:
    def __init__(self, backend: str) -> None:
        self.backend = backend

    @contextmanager
    def timing(self, operation: str) -> Any:
        started = time.perf_counter()
        try:
            yield
        except BaseException as exc:
            kind = _error_kind(exc)
            if kind is not None:
                metrics.BLOB_ERRORS.labels(self.backend, operation, kind).inc()
            raise
        finally:
            metrics.BLOB_SECONDS.labels(self.backend, operation).observe(time.perf_counter() - started)

    async def call(self, operation: str, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        with self.timing(operation):
            return await fn(*args, **kwargs)

    async def stream(self, operation: str, source: AsyncIterator[T]) -> AsyncIterator[T]:
        """Timed until the first item; a failure later in the stream is still counted."""
        first = True
        started = time.perf_counter()
        try:
            async for item in source:
                if first:
                    metrics.BLOB_SECONDS.labels(self.backend, operation).observe(time.perf_counter() - started)
                    first = False
                yield item
        except BaseException as exc:
            kind = _error_kind(exc)
            if kind is not None:
                metrics.BLOB_ERRORS.labels(self.backend, operation, kind).inc()
            raise


class InstrumentedUploads(_Timed):
    def __init__(self, inner: UploadSpool, backend: str) -> None:
        super().__init__(backend)
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def received(self, upload_id: str, envelope: str) -> int:
        return await self.call("upload_received", self.inner.received, upload_id, envelope)

    async def append(self, upload_id: str, envelope: str, offset: int, chunks: AsyncIterable[bytes], limit: int) -> int:
        received = await self.call("upload_append", self.inner.append, upload_id, envelope, offset, chunks, limit)
        metrics.count_upload_bytes("bid_ciphertext", received - offset)
        return received

    async def prepare(self, upload_id: str, envelope: str, sha256: str, size: int) -> Prepared:
        return await self.call("upload_prepare", self.inner.prepare, upload_id, envelope, sha256, size)

    async def commit(self, prepared: Prepared) -> StoredBlob:
        return await self.call("upload_commit", self.inner.commit, prepared)

    async def discard(self, upload_id: str) -> None:
        await self.call("upload_discard", self.inner.discard, upload_id)

    def list_uploads(self) -> AsyncIterator[UploadInfo]:
        return self.stream("list_uploads", self.inner.list_uploads())


class InstrumentedBlobStore(_Timed):
    """*inner*, with its calls timed and its failures counted."""

    def __init__(self, inner: BlobStore) -> None:
        super().__init__(inner.kind)
        self.inner = inner
        self.kind = inner.kind
        self.uploads = InstrumentedUploads(inner.uploads, inner.kind)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def put_stream(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int, expected_sha256: str | None = None
    ) -> StoredBlob:
        stored = await self.call(
            "put", self.inner.put_stream, chunks, max_bytes=max_bytes, expected_sha256=expected_sha256
        )
        metrics.count_upload_bytes("blob", stored.size)
        return stored

    async def replace_stream(self, chunks: AsyncIterable[bytes], *, max_bytes: int, expected_sha256: str) -> StoredBlob:
        stored = await self.call(
            "put", self.inner.replace_stream, chunks, max_bytes=max_bytes, expected_sha256=expected_sha256
        )
        metrics.count_upload_bytes("blob", stored.size)
        return stored

    async def put_bytes(self, data: bytes, *, expected_sha256: str) -> StoredBlob:
        stored = await self.call("put", self.inner.put_bytes, data, expected_sha256=expected_sha256)
        metrics.count_upload_bytes("blob", stored.size)
        return stored

    def open_stream(self, sha256: str) -> AsyncIterator[bytes]:
        return self.stream("get", self.inner.open_stream(sha256))

    def open_reader(self, sha256: str) -> BinaryIO:
        with self.timing("open_reader"):
            return self.inner.open_reader(sha256)

    async def read_bytes(self, sha256: str, max_bytes: int) -> bytes:
        return await self.call("read", self.inner.read_bytes, sha256, max_bytes)

    async def read_many(self, wanted: Sequence[tuple[str, int]]) -> list[bytes]:
        return await self.call("read_many", self.inner.read_many, wanted)

    async def exists(self, sha256: str) -> bool:
        return await self.call("exists", self.inner.exists, sha256)

    async def delete(self, sha256: str) -> None:
        await self.call("delete", self.inner.delete, sha256)

    def list_blobs(self) -> AsyncIterator[BlobInfo]:
        return self.stream("list", self.inner.list_blobs())

    async def debris_before(self, cutoff: datetime) -> list[str]:
        return await self.call("list_debris", self.inner.debris_before, cutoff)

    async def delete_debris(self, names: list[str]) -> None:
        await self.call("delete_debris", self.inner.delete_debris, names)

    async def writable(self) -> bool:
        with self.timing("writable"):
            ok = await self.inner.writable()
        if not ok:
            metrics.BLOB_ERRORS.labels(self.backend, "writable", "unavailable").inc()
        return ok
