"""The local store's upload spool as several worker processes share it (two stores on one directory stand for
two processes): the SHA-256 a process computed while writing is believed only of the very file it wrote, at the
size it wrote; anything else is read again. And a request that finds its file appended to by another since it
began stops, rather than add its last bytes after the other's."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator

import pytest

from trading.blobs import HashMismatch, OffsetMismatch
from trading.blobs.local import LocalBlobStore

pytestmark = pytest.mark.asyncio
MIB = 1024 * 1024


async def _pieces(data: bytes, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_completion_believes_only_the_hash_of_the_file_it_wrote_at_the_size_it_wrote(tmp_path):
    one, two = LocalBlobStore(tmp_path), LocalBlobStore(tmp_path)  # two worker processes, one directory
    data = os.urandom(5 * MIB + 3)
    sha = hashlib.sha256(data).hexdigest()
    size = len(data)

    # All of it through one process: its running hash is what the check uses (the file is not read again).
    assert await one.uploads.append("u1", "documents", 0, _pieces(data[: 2 * MIB]), size) == 2 * MIB
    assert await one.uploads.append("u1", "documents", 2 * MIB, _pieces(data[2 * MIB :]), size) == size
    assert one.uploads.hashes.digest(("u1", "documents"), one.uploads.part("u1", "documents"), size) == sha

    # Begun on one process, finished on the other: the first one's hash covers only the beginning.
    await one.uploads.append("u2", "documents", 0, _pieces(data[:MIB]), size)
    await two.uploads.append("u2", "documents", MIB, _pieces(data[MIB:]), size)
    assert one.uploads.hashes.entries[("u2", "documents")].offset == MIB
    assert (await one.uploads.prepare("u2", "documents", sha, size)).sha256 == sha  # read from the file

    # The file replaced behind the first process's back by other bytes of the same length: its hash (of the
    # right bytes) must not vouch for them.
    await one.uploads.append("u3", "documents", 0, _pieces(data), size)
    one.uploads.part("u3", "documents").unlink()
    await two.uploads.append("u3", "documents", 0, _pieces(os.urandom(size)), size)
    with pytest.raises(HashMismatch):
        await one.uploads.prepare("u3", "documents", sha, size)
    assert await one.uploads.received("u3", "documents") == 0  # the wrong bytes are gone: send it again


async def test_a_request_that_finds_its_file_appended_to_by_another_adds_nothing(tmp_path):
    """A client reconnects and resumes while the server still holds its old request, with the last piece it
    received not yet written: when the old request ends, that piece is not added after the new request's bytes."""
    store = LocalBlobStore(tmp_path)
    data = os.urandom(3 * MIB)
    gone = asyncio.Event()

    async def cut_off() -> AsyncIterator[bytes]:
        yield data[:100_000]  # less than a write batch: held in memory
        await gone.wait()
        raise ConnectionResetError("client went away")

    old = asyncio.create_task(store.uploads.append("u1", "documents", 0, cut_off(), len(data)))
    await asyncio.sleep(0.05)
    assert await store.uploads.received("u1", "documents") == 0  # what the resumed client is told
    assert await store.uploads.append("u1", "documents", 0, _pieces(data), len(data)) == len(data)
    gone.set()
    with pytest.raises(OffsetMismatch):
        await old
    assert store.uploads.part("u1", "documents").read_bytes() == data
    prepared = await store.uploads.prepare("u1", "documents", hashlib.sha256(data).hexdigest(), len(data))
    assert (await store.uploads.commit(prepared)).size == len(data)
