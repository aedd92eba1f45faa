"""Blob storage for attachments and bid ciphertexts: content-addressed by SHA-256, each blob written once.

Two backends stand behind one interface: the local directory store (:mod:`trading.blobs.local`, the embedded
default) and S3-compatible object storage through obstore (:mod:`trading.blobs.s3`), which several app hosts
share. Writes stream: a body is hashed as it passes and never held whole in memory. Each store also keeps the
bidders' resumable uploads in progress (its ``uploads``, a :class:`UploadSpool`): on S3 they live in the
bucket, so an upload begun on one app host can be continued and completed on another.

A failure of the store itself (unreachable, timing out) is raised as :class:`StoreUnavailable` (503, retry),
a full disk as :class:`~trading.errors.InsufficientStorage` (507); neither leaves a blob half-written under
its address.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO, Protocol

import msgspec

from trading.errors import PayloadTooLarge, ServiceUnavailable

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from trading.settings import Settings

__all__ = [
    "BlobInfo",
    "BlobStore",
    "HashMismatch",
    "Incomplete",
    "OffsetMismatch",
    "Prepared",
    "StoreUnavailable",
    "StoredBlob",
    "UploadInfo",
    "UploadSpool",
    "is_sha256",
    "make_blob_store",
]

READ_CHUNK = 256 * 1024


class StoredBlob(msgspec.Struct, frozen=True):
    sha256: str
    size: int


class BlobInfo(msgspec.Struct, frozen=True):
    """A blob as the store lists it (for garbage collection)."""

    sha256: str
    size: int
    modified: datetime


class UploadInfo(msgspec.Struct, frozen=True):
    """An upload in progress as the store lists it: its id and when its bytes last changed."""

    upload_id: str
    modified: datetime


class Prepared(msgspec.Struct, frozen=True):
    """An upload's envelope whose bytes were checked against the hash the bidder signed, ready to be stored."""

    upload_id: str
    envelope: str
    sha256: str
    size: int


class StoreUnavailable(ServiceUnavailable):
    code = "blob_store_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "文件存储暂时无法访问，未保存任何内容，请稍后重试",
            "The file store cannot be reached just now; nothing was kept: try again shortly",
            retry_after=5,
        )


class OffsetMismatch(Exception):
    """An append at an offset other than what the store holds; ``received`` is where to resume."""

    def __init__(self, received: int) -> None:
        super().__init__(f"resume from byte {received}")
        self.received = received


class Incomplete(Exception):
    """Fewer bytes than expected are there; ``received`` says how many."""

    def __init__(self, received: int) -> None:
        super().__init__(f"{received} bytes received")
        self.received = received


class HashMismatch(Exception):
    """The bytes do not hash to what was expected; they were not stored (and an upload's were discarded)."""


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"文件超过大小上限 {max_bytes} 字节", f"The file is larger than the limit of {max_bytes} bytes"
    )


def beyond_declared(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"超出清单声明的密文大小（{limit} 字节）", f"More bytes than the manifest declares ({limit})"
    )


class Measured:
    """A body passing through to a store: empty chunks dropped, each counted and hashed as it goes, refused with
    413 once it is over *max_bytes* (before that chunk is passed on)."""

    def __init__(self, chunks: AsyncIterable[bytes], max_bytes: int) -> None:
        self.chunks, self.max_bytes = chunks, max_bytes
        self.size = 0
        self.digest = hashlib.sha256()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.chunks:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise too_large(self.max_bytes)
            self.digest.update(chunk)
            yield chunk

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: str) -> bool:
    # (a compiled pattern: an opening asks this of ten thousand price ciphertexts' names at once)
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


class UploadSpool(Protocol):
    """Resumable uploads in progress, by upload id and envelope: appended to at the offset the store holds,
    then checked against the signed hash and moved into the blob store."""

    async def received(self, upload_id: str, envelope: str) -> int: ...

    async def append(
        self, upload_id: str, envelope: str, offset: int, chunks: AsyncIterable[bytes], limit: int
    ) -> int: ...

    async def prepare(self, upload_id: str, envelope: str, sha256: str, size: int) -> Prepared: ...

    async def commit(self, prepared: Prepared) -> StoredBlob: ...

    async def discard(self, upload_id: str) -> None: ...

    def list_uploads(self) -> AsyncIterator[UploadInfo]: ...


class BlobStore(Protocol):
    #: "local" or "s3"
    kind: str
    uploads: UploadSpool

    async def put_stream(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int, expected_sha256: str | None = None
    ) -> StoredBlob: ...

    async def replace_stream(self, chunks: AsyncIterable[bytes], *, max_bytes: int, expected_sha256: str) -> StoredBlob:
        """Store at *expected_sha256* in place of a copy held there already (a damaged one): the new bytes replace
        it only once they are whole and hash to the address; if they do not (HashMismatch), the old copy stays."""
        ...

    async def put_bytes(self, data: bytes, *, expected_sha256: str) -> StoredBlob:
        """A small body held in memory, stored at its address (HashMismatch if it is not *expected_sha256*)."""
        ...

    def open_stream(self, sha256: str) -> AsyncIterator[bytes]: ...

    def open_reader(self, sha256: str) -> BinaryIO:
        """A blocking file-like reader (``read``, ``close``), for code that decrypts in a worker thread."""
        ...

    async def read_bytes(self, sha256: str, max_bytes: int) -> bytes: ...

    async def read_many(self, wanted: Sequence[tuple[str, int]]) -> list[bytes]:
        """Several small blobs whole (each ``(sha256, max_bytes)``), in order: the opening reads thousands of
        price ciphertexts of a few hundred bytes, so the local store reads them in one thread hop and S3 fetches
        them concurrently."""
        ...

    async def exists(self, sha256: str) -> bool: ...

    async def delete(self, sha256: str) -> None: ...

    def list_blobs(self) -> AsyncIterator[BlobInfo]: ...

    async def debris_before(self, cutoff: datetime) -> list[str]:
        """What a crash left in the store's own scratch space (never a blob), older than *cutoff*."""
        ...

    async def delete_debris(self, names: list[str]) -> None: ...

    async def writable(self) -> bool: ...


def make_blob_store(settings: Settings, engine: AsyncEngine | None = None) -> BlobStore:
    """The store the settings name — ``blob_store = "local"`` (under ``blob_dir``) or ``"s3"`` — with its calls
    timed and its failures counted for /metrics (trading.blobs.instrumented); given the database's *engine*,
    reads look first among the blobs the database keeps (trading.blobs.inline), as the app's do."""
    from trading.blobs.inline import InlineFirst
    from trading.blobs.instrumented import InstrumentedBlobStore

    store: BlobStore
    if settings.blob_store == "s3":
        from trading.blobs.s3 import S3BlobStore

        store = S3BlobStore.from_settings(settings)
    else:
        from trading.blobs.local import LocalBlobStore

        store = LocalBlobStore(settings.blob_dir)
    instrumented = InstrumentedBlobStore(store)
    return instrumented if engine is None else InlineFirst(instrumented, engine)  # type: ignore[return-value]
