"""Blob storage for attachments (and, later, bid ciphertexts): content-addressed by SHA-256.

The local directory store is the default; an S3-compatible store can stand behind the same interface.
Writes stream: a body is hashed as it passes and never held whole in memory.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio
import msgspec

from trading.errors import PayloadTooLarge

READ_CHUNK = 256 * 1024


class StoredBlob(msgspec.Struct, frozen=True):
    sha256: str
    size: int


class BlobStore(Protocol):
    async def put_stream(self, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StoredBlob: ...

    def open_stream(self, sha256: str) -> AsyncIterator[bytes]: ...

    async def exists(self, sha256: str) -> bool: ...


class LocalBlobStore:
    """Blobs as files under a directory, at ``ab/cd/abcdef…``; written, fsynced, then renamed into place."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put_stream(self, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StoredBlob:
        incoming = self.root / "incoming"
        await anyio.to_thread.run_sync(lambda: incoming.mkdir(parents=True, exist_ok=True))
        fd, tmp_name = tempfile.mkstemp(dir=incoming)
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as fh:
                async for chunk in chunks:
                    if not chunk:
                        continue
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(
                            f"文件超过大小上限 {max_bytes} 字节",
                            f"The file is larger than the limit of {max_bytes} bytes",
                        )
                    digest.update(chunk)
                    await anyio.to_thread.run_sync(fh.write, chunk)
                await anyio.to_thread.run_sync(fh.flush)
                await anyio.to_thread.run_sync(os.fsync, fh.fileno())
            final = self._path(digest.hexdigest())
            await anyio.to_thread.run_sync(_move_into_place, Path(tmp_name), final)
        except BaseException:
            await anyio.to_thread.run_sync(lambda: Path(tmp_name).unlink(missing_ok=True))
            raise
        return StoredBlob(sha256=digest.hexdigest(), size=size)

    async def adopt(self, path: Path, sha256: str, size: int) -> StoredBlob:
        """Store a file written elsewhere (whose hash the caller computed) without moving it: its content is
        fsynced, then it is hard-linked into place (copied where the file system cannot link) and the
        directory fsynced. The file stays where it was, so that a transaction that fails after this can be
        retried from it; its owner removes it once it is no longer needed."""
        await anyio.to_thread.run_sync(_fsync_file, path)
        await anyio.to_thread.run_sync(_link_into_place, path, self._path(sha256))
        return StoredBlob(sha256=sha256, size=size)

    def path_of(self, sha256: str) -> Path:
        return self._path(sha256)

    async def open_stream(self, sha256: str) -> AsyncIterator[bytes]:
        path = self._path(sha256)
        fh = await anyio.to_thread.run_sync(path.open, "rb")
        try:
            while chunk := await anyio.to_thread.run_sync(fh.read, READ_CHUNK):
                yield chunk
        finally:
            fh.close()

    async def exists(self, sha256: str) -> bool:
        return await anyio.to_thread.run_sync(self._path(sha256).exists)

    async def writable(self) -> bool:
        """Whether a blob can be stored now (the readiness check)."""
        root = self.root
        return await anyio.to_thread.run_sync(lambda: root.is_dir() and os.access(root, os.W_OK | os.X_OK))


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _move_into_place(tmp: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():  # same content already stored
        tmp.unlink()
        return
    os.replace(tmp, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _link_into_place(source: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():  # same content already stored
        return
    tmp = final.with_name(f"{final.name}.{secrets.token_hex(8)}.tmp")
    try:
        os.link(source, tmp)
    except OSError:  # another file system, or no hard links: a copy, fsynced
        shutil.copyfile(source, tmp)
        _fsync_file(tmp)
    os.replace(tmp, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
