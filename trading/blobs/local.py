"""The local directory store: blobs as files at ``ab/cd/abcdef…`` under one directory, written, fsynced, then
renamed into place; uploads in progress as ``uploads/<id>/<envelope>.part``. The embedded default, for one
app host."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import secrets
import shutil
import tempfile
import time
from collections import OrderedDict
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
#: A request body arrives in pieces of 64–256 KiB: they are gathered into writes of this size (one hop to a worker
#: thread and one writev each, where there was one of each per piece), and at most this many pieces.
WRITE_BATCH = 1 << 20
WRITE_PIECES = 512
#: How many uploads in progress a worker process keeps the running hash of (and a descriptor open for), and for
#: how long after the last append.
RUNNING_HASHES = 256
RUNNING_HASH_IDLE = 3600.0
#: While a long append runs, what it wrote is flushed to disk in the background every this many bytes, so that the
#: disk writes while the network delivers, and the fsync that ends the append (its durable point) has little left.
WRITEBACK_EVERY = 32 << 20


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
        return await self._store(chunks, max_bytes, expected_sha256, _move_into_place)

    async def replace_stream(self, chunks: AsyncIterable[bytes], *, max_bytes: int, expected_sha256: str) -> StoredBlob:
        return await self._store(chunks, max_bytes, expected_sha256, _replace_in_place)

    async def _store(
        self,
        chunks: AsyncIterable[bytes],
        max_bytes: int,
        expected_sha256: str | None,
        place: Callable[[Path, Path], None],
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
            await _io(place, Path(tmp_name), self._path(body.sha256))
        except BaseException:
            await anyio.to_thread.run_sync(lambda: Path(tmp_name).unlink(missing_ok=True))
            raise
        return StoredBlob(sha256=body.sha256, size=body.size)

    async def put_bytes(self, data: bytes, *, expected_sha256: str) -> StoredBlob:
        """Store a small body held in memory: hashed, written, fsynced and renamed into place in one trip to a
        worker thread (a bid sent whole has two; put_stream takes five or more per blob)."""
        incoming = self.root / "incoming"

        def write() -> None:
            sha256 = hashlib.sha256(data).hexdigest()
            if sha256 != expected_sha256:
                raise HashMismatch(sha256)
            incoming.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=incoming)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                _move_into_place(Path(tmp_name), self._path(sha256))
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise

        await _io(write)
        return StoredBlob(sha256=expected_sha256, size=len(data))

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
    upload hashes its file (unless this process hashed it as it wrote it), and storing it hard-links the file into
    the store (the file stays until the upload is discarded, so a completion that fails after storing can be
    retried)."""

    def __init__(self, store: LocalBlobStore) -> None:
        self.store = store
        self.hashes = RunningHashes()

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
        fd = await _io(os.open, path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            current = os.fstat(fd).st_size
            if offset != current:
                raise OffsetMismatch(current)
            running = self.hashes.take((upload_id, envelope), fd, offset)
            writer = _BatchWriter(fd, running, offset)
            pieces: list[bytes] = []
            held = 0
            try:
                try:
                    async for chunk in chunks:
                        if not chunk:
                            continue
                        if writer.accepted + held + len(chunk) > limit:
                            raise beyond_declared(limit)
                        pieces.append(chunk)
                        held += len(chunk)
                        if held >= WRITE_BATCH or len(pieces) >= WRITE_PIECES:
                            await writer.write(pieces, held)
                            pieces, held = [], 0
                finally:
                    # What arrived is kept, also when the client went away or sent too much: it resumes from there.
                    if pieces and not writer.failed:
                        await writer.write(pieces, held)
                    await writer.drain()
                try:
                    await writer.writeback.settled()
                    await _io(os.fsync, fd)
                except BaseException:
                    writer.failed = True  # not known to be on disk: not hashed either, as far as anyone will know
                    raise
            finally:
                writer.writeback.abandon()
                self.hashes.keep((upload_id, envelope), running, -1 if writer.failed else writer.written)
            written = writer.written
        finally:
            os.close(fd)
        return written

    async def prepare(self, upload_id: str, envelope: str, sha256: str, size: int) -> Prepared:
        path = self.part(upload_id, envelope)
        received = await anyio.to_thread.run_sync(_size, path)
        if received != size:
            raise Incomplete(received)
        digest = self.hashes.digest((upload_id, envelope), path, size)
        if digest is not None:
            await _io(_fsync_file, path)  # an append cut short (client gone, 413) closed its file without fsync
        else:
            digest = await _io(_hash_file, path)
        if digest != sha256:
            # Discard the bad bytes, so that the same sealed file can be uploaded again from offset 0.
            await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
            raise HashMismatch(envelope)
        return Prepared(upload_id=upload_id, envelope=envelope, sha256=sha256, size=size)

    async def commit(self, prepared: Prepared) -> StoredBlob:
        return await self.store.adopt(self.part(prepared.upload_id, prepared.envelope), prepared.sha256, prepared.size)

    async def discard(self, upload_id: str) -> None:
        self.hashes.forget(upload_id)
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


class RunningHash:
    """The SHA-256 of a part file's first ``offset`` bytes, hashed as this process wrote them, and a descriptor of
    that very file (its inode cannot be reused by another file while the descriptor is open)."""

    def __init__(self, fd: int) -> None:
        self.fd = os.dup(fd)
        self.sha256 = hashlib.sha256()
        self.offset = 0
        self.used = time.monotonic()

    def describes(self, fd: int) -> bool:
        mine, theirs = os.fstat(self.fd), os.fstat(fd)
        return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)

    def stale(self, now: float) -> bool:
        """Idle too long, or its file unlinked (a descriptor held open would keep the disk space taken)."""
        return now - self.used > RUNNING_HASH_IDLE or os.fstat(self.fd).st_nlink == 0

    def close(self) -> None:
        os.close(self.fd)


class RunningHashes:
    """Per worker process, the running hash of each upload it appends to, so that checking a whole upload needs
    no second reading of gigabytes: a bidder's appends come in order over one connection, so to one process.

    An entry is only ever believed of the same file (same inode, held open) at the same size, with nothing written
    to it by anyone else meanwhile: the file only grows by appends (O_APPEND), so after an append the file's size
    is the entry's bytes plus this request's exactly when no other request wrote to it, and a file unlinked and
    made again is another inode. Anything else, and the entry is dropped: the check then reads the file (a
    resumed upload on another app process, after a restart, or after a write that failed). Entries whose file was
    unlinked, or idle for an hour, go at the next append."""

    def __init__(self) -> None:
        self.entries: OrderedDict[tuple[str, str], RunningHash] = OrderedDict()

    def take(self, key: tuple[str, str], fd: int, offset: int) -> RunningHash | None:
        """The running hash an append at *offset* to the file open as *fd* continues (out of the table while the
        append runs), or None."""
        entry = self.entries.pop(key, None)
        if offset == 0:  # an empty file: nothing to believe
            if entry is not None:
                entry.close()
            return RunningHash(fd)
        if entry is not None and entry.offset == offset and entry.describes(fd):
            return entry
        if entry is not None:
            entry.close()
        return None

    def keep(self, key: tuple[str, str], entry: RunningHash | None, size: int) -> None:
        """After an append: keep *entry* if the file is now *size* bytes, all of them hashed (-1: a write failed)."""
        if entry is None:
            return
        if size < 0 or os.fstat(entry.fd).st_size != size:
            entry.close()
            return
        entry.offset, entry.used = size, time.monotonic()
        self.entries[key] = entry
        while len(self.entries) > RUNNING_HASHES:
            self.entries.popitem(last=False)[1].close()
        for other in [k for k, e in self.entries.items() if e.stale(entry.used)]:
            self.entries.pop(other).close()

    def digest(self, key: tuple[str, str], path: Path, size: int) -> str | None:
        """The hex SHA-256 of the file at *path* if this process hashed all its *size* bytes as it wrote them."""
        entry = self.entries.pop(key, None)
        if entry is None:
            return None
        try:
            held = os.stat(path)
            mine = os.fstat(entry.fd)
        except FileNotFoundError:
            return None
        finally:
            entry.close()
        if entry.offset != size or mine.st_size != size or (held.st_dev, held.st_ino) != (mine.st_dev, mine.st_ino):
            return None
        return entry.sha256.hexdigest()

    def forget(self, upload_id: str) -> None:
        for key in [k for k in self.entries if k[0] == upload_id]:
            self.entries.pop(key).close()


def _write_pieces(fd: int, pieces: list[bytes], running: RunningHash | None, at: int) -> None:
    """Append *pieces* to the file, which must be *at* bytes long, with one writev (a short write, rare on a file,
    goes on with the rest), then hash them.

    A file of another length was appended to by another request since this one began (a client that reconnected
    while the server still held its old connection): this one stops, rather than add its bytes after the other's —
    and never to a file that became a stored blob once the upload completed."""
    held = os.fstat(fd).st_size
    if held != at:
        raise OffsetMismatch(held)
    total = sum(len(p) for p in pieces)
    done = os.writev(fd, pieces)
    if done < total:
        rest = memoryview(b"".join(pieces))[done:]
        while rest:
            rest = rest[os.write(fd, rest) :]
    if running is not None:
        for piece in pieces:
            running.sha256.update(piece)


class _BatchWriter:
    """Writes (and hashes) batches in a worker thread while the request gathers the next: one batch in flight."""

    def __init__(self, fd: int, running: RunningHash | None, offset: int) -> None:
        self.fd, self.running = fd, running
        self.written = self.accepted = offset  # on disk; on disk or on its way there
        self.failed = False
        self.pending: asyncio.Task[None] | None = None
        self.writeback = _Writeback(fd)

    async def write(self, pieces: list[bytes], size: int) -> None:
        await self.drain()
        self.pending = asyncio.ensure_future(_io(_write_pieces, self.fd, pieces, self.running, self.accepted))
        self.accepted += size

    async def drain(self) -> None:
        """Wait for the batch in flight; a write that failed is not tried again (its error is the append's)."""
        if self.pending is None:
            return
        task, self.pending = self.pending, None
        try:
            await task
        except BaseException:
            self.failed = True
            raise
        self.written = self.accepted
        self.writeback.after(self.written)


class _Writeback:
    """fdatasync in a worker thread every :data:`WRITEBACK_EVERY` bytes, not waited for (one at a time), on its own
    duplicate of the file descriptor so that the file can be closed whatever it is doing. Its error, if any, is the
    append's: Linux reports a failed writeback to one fsync only, and that may be this one."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.next = WRITEBACK_EVERY
        self.running: asyncio.Future[None] | None = None

    def after(self, written: int) -> None:
        if written < self.next or (self.running is not None and not self.running.done()):
            return
        if self.running is not None and self.running.exception() is not None:
            return  # (settled() raises it)
        self.next = written + WRITEBACK_EVERY
        self.running = asyncio.get_running_loop().run_in_executor(None, _fdatasync_dup, os.dup(self.fd))

    async def settled(self) -> None:
        if self.running is not None:
            try:
                await self.running
            except OSError as exc:
                if exc.errno in _NO_ROOM:
                    raise no_room() from exc
                raise

    def abandon(self) -> None:
        """The append ends: a sync still running finishes on its own; its outcome is nobody's concern now."""
        if self.running is not None:
            self.running.add_done_callback(lambda f: f.cancelled() or f.exception())


def _fdatasync_dup(fd: int) -> None:
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


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


def _replace_in_place(tmp: Path, final: Path) -> None:
    """Put *tmp* at *final* whether or not a file is there (atomically: a reader sees the old file or the new)."""
    final.parent.mkdir(parents=True, exist_ok=True)
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
