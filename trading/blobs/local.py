"""The local directory store: blobs as files at ``ab/cd/abcdef…`` under one directory, written, fsynced, then
renamed into place; uploads in progress as ``uploads/<id>/<envelope>.part``. The embedded default, for one
app host."""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

import anyio

from trading.blobs import (
    READ_CHUNK,
    BlobInfo,
    HashMismatch,
    Incomplete,
    Measured,
    OffsetMismatch,
    Prepared,
    StoredBlob,
    UploadInfo,
    beyond_declared,
    is_sha256,
    too_large,
)
from trading.errors import InsufficientStorage

T = TypeVar("T")
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


def no_room() -> InsufficientStorage:
    return InsufficientStorage(
        "服务器存储空间已满，本次未能保存，请稍后重试（上传可从服务器已收到的位置续传）或联系交易中心",
        "The server's storage is full and this was not stored: try again later (an upload resumes from what the "
        "server holds) or contact the trading centre",
    )


async def _io(fn: Callable[..., T], *args: object) -> T:
    """Run blocking file work in a thread; a full disk becomes a clear 507."""
    try:
        return await anyio.to_thread.run_sync(fn, *args)
    except OSError as exc:
        if exc.errno in _NO_ROOM:
            raise no_room() from exc
        raise


class LocalBlobStore:
    kind = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.uploads = LocalUploads(self)

    def _path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def path_of(self, sha256: str) -> Path:
        return self._path(sha256)

    async def put_stream(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int, expected_sha256: str | None = None
    ) -> StoredBlob:
        incoming = self.root / "incoming"
        await _io(lambda: incoming.mkdir(parents=True, exist_ok=True))
        fd, tmp_name = tempfile.mkstemp(dir=incoming)
        body = Measured(chunks, max_bytes)
        try:
            fh = os.fdopen(fd, "wb")
            try:
                async for chunk in body:
                    await _io(fh.write, chunk)
                await _io(fh.flush)
                await _io(os.fsync, fh.fileno())
            finally:
                _close(fh)
            if expected_sha256 is not None and body.sha256 != expected_sha256:
                raise HashMismatch(body.sha256)
            await _io(_move_into_place, Path(tmp_name), self._path(body.sha256))
        except BaseException:
            await anyio.to_thread.run_sync(lambda: Path(tmp_name).unlink(missing_ok=True))
            raise
        return StoredBlob(sha256=body.sha256, size=body.size)

    async def adopt(self, path: Path, sha256: str, size: int) -> StoredBlob:
        """Store a file written elsewhere (whose hash the caller computed) without moving it: its content is
        fsynced, then it is hard-linked into place (copied where the file system cannot link) and the
        directory fsynced. The file stays where it was, so that a transaction that fails after this can be
        retried from it; its owner removes it once it is no longer needed."""
        await _io(_fsync_file, path)
        await _io(_link_into_place, path, self._path(sha256))
        return StoredBlob(sha256=sha256, size=size)

    async def open_stream(self, sha256: str) -> AsyncIterator[bytes]:
        path = self._path(sha256)
        fh = await anyio.to_thread.run_sync(path.open, "rb")
        try:
            while chunk := await anyio.to_thread.run_sync(fh.read, READ_CHUNK):
                yield chunk
        finally:
            fh.close()

    def open_reader(self, sha256: str) -> BinaryIO:
        return self._path(sha256).open("rb")

    async def read_bytes(self, sha256: str, max_bytes: int) -> bytes:
        path = self._path(sha256)

        def read() -> bytes:
            with path.open("rb") as fh:
                data = fh.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise too_large(max_bytes)
            return data

        return await anyio.to_thread.run_sync(read)

    async def read_many(self, wanted: Sequence[tuple[str, int]]) -> list[bytes]:
        root = str(self.root)
        paths = []
        for sha256, max_bytes in wanted:
            if not is_sha256(sha256):
                raise ValueError("not a SHA-256 hex digest")
            # (plain strings: ten thousand pathlib joins cost more than reading the files)
            paths.append((os.path.join(root, sha256[:2], sha256[2:4], sha256), max_bytes))

        def read() -> list[bytes]:
            out = []
            for path, max_bytes in paths:
                with open(path, "rb") as fh:
                    data = fh.read(max_bytes + 1)
                if len(data) > max_bytes:
                    raise too_large(max_bytes)
                out.append(data)
            return out

        return await anyio.to_thread.run_sync(read)

    async def exists(self, sha256: str) -> bool:
        return await anyio.to_thread.run_sync(self._path(sha256).exists)

    async def delete(self, sha256: str) -> None:
        await anyio.to_thread.run_sync(lambda: self._path(sha256).unlink(missing_ok=True))

    async def list_blobs(self) -> AsyncIterator[BlobInfo]:
        def scan() -> list[BlobInfo]:
            found = []
            for path in self.root.glob("??/??/*"):
                if is_sha256(path.name) and path.parent.parent.name == path.name[:2]:
                    stat = path.stat()
                    found.append(BlobInfo(path.name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)))
            return found

        for info in await anyio.to_thread.run_sync(scan):
            yield info

    async def debris_before(self, cutoff: datetime) -> list[str]:
        """Temporary files a crash left (``incoming/`` and ``*.tmp`` beside the blobs), older than *cutoff*."""

        def scan() -> list[str]:
            found = [*self.root.glob("incoming/*"), *self.root.glob("??/??/*.tmp")]
            stamp = cutoff.timestamp()
            return [str(p.relative_to(self.root)) for p in found if p.is_file() and p.stat().st_mtime < stamp]

        return await anyio.to_thread.run_sync(scan)

    async def delete_debris(self, names: list[str]) -> None:
        for name in names:
            await anyio.to_thread.run_sync(lambda n=name: (self.root / n).unlink(missing_ok=True))

    async def writable(self) -> bool:
        """Whether a blob can be stored now (the readiness check)."""
        root = self.root
        return await anyio.to_thread.run_sync(lambda: root.is_dir() and os.access(root, os.W_OK | os.X_OK))


class LocalUploads:
    """Uploads in progress as files: appends are written and fsynced at the end of each request; checking an
    upload hashes its file, and storing it hard-links the file into the store (the file stays until the
    upload is discarded, so a completion that fails after storing can be retried)."""

    def __init__(self, store: LocalBlobStore) -> None:
        self.store = store

    def folder(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise ValueError("not an upload id")
        return self.store.root / "uploads" / upload_id

    def part(self, upload_id: str, envelope: str) -> Path:
        return self.folder(upload_id) / f"{envelope}.part"

    async def received(self, upload_id: str, envelope: str) -> int:
        return await anyio.to_thread.run_sync(_size, self.part(upload_id, envelope))

    async def append(self, upload_id: str, envelope: str, offset: int, chunks: AsyncIterable[bytes], limit: int) -> int:
        path = self.part(upload_id, envelope)
        await _io(lambda: path.parent.mkdir(parents=True, exist_ok=True))
        current = await anyio.to_thread.run_sync(_size, path)
        if offset != current:
            raise OffsetMismatch(current)
        written = current
        fh = await _io(lambda: path.open("ab"))
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                if written + len(chunk) > limit:
                    raise beyond_declared(limit)
                await _io(fh.write, chunk)
                written += len(chunk)
            await _io(fh.flush)
            await _io(os.fsync, fh.fileno())
        finally:
            _close(fh)
        return written

    async def prepare(self, upload_id: str, envelope: str, sha256: str, size: int) -> Prepared:
        path = self.part(upload_id, envelope)
        received = await anyio.to_thread.run_sync(_size, path)
        if received != size:
            raise Incomplete(received)
        if await _io(_hash_file, path) != sha256:
            # Discard the bad bytes, so that the same sealed file can be uploaded again from offset 0.
            await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
            raise HashMismatch(envelope)
        return Prepared(upload_id=upload_id, envelope=envelope, sha256=sha256, size=size)

    async def commit(self, prepared: Prepared) -> StoredBlob:
        return await self.store.adopt(self.part(prepared.upload_id, prepared.envelope), prepared.sha256, prepared.size)

    async def discard(self, upload_id: str) -> None:
        folder = self.folder(upload_id)
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(folder, ignore_errors=True))

    async def list_uploads(self) -> AsyncIterator[UploadInfo]:
        def scan() -> list[UploadInfo]:
            found = []
            for folder in (self.store.root / "uploads").glob("*"):
                times = [p.stat().st_mtime for p in folder.glob("*")] or [folder.stat().st_mtime]
                found.append(UploadInfo(folder.name, datetime.fromtimestamp(max(times), UTC)))
            return found

        for info in await anyio.to_thread.run_sync(scan):
            yield info


def _close(fh: BinaryIO) -> None:
    """Close a file whose writing may have failed: a full disk fails the flush in close() again, and that
    second error must not take the place of the first (the 507 the client should hear). After a successful
    write, flush and fsync, close has nothing left to write."""
    try:
        fh.close()
    except OSError as exc:
        if exc.errno not in _NO_ROOM:
            raise


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
        # An append cut short (client gone, 413) closes its file without fsync: make it durable before storing.
        os.fsync(fh.fileno())
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _move_into_place(tmp: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():  # same content already stored: touched, so garbage collection sees it as new
        tmp.unlink()
        os.utime(final)
        return
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def _link_into_place(source: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():  # same content already stored: touched, so garbage collection sees it as new
        os.utime(final)
        return
    tmp = final.with_name(f"{final.name}.{secrets.token_hex(8)}.tmp")
    try:
        os.link(source, tmp)
    except OSError as exc:  # another file system, or no hard links: a copy, fsynced
        if exc.errno in _NO_ROOM:
            raise
        shutil.copyfile(source, tmp)
        _fsync_file(tmp)
    os.replace(tmp, final)
    _fsync_dir(final.parent)
