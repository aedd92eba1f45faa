"""Backup and restore of the blob store: its blobs copied to or from a plain folder, and the check that every
blob the database references is in the store.

The folder is laid out as the local directory store is (``ab/cd/<sha256>``), so a backup of either backend
is also a blob directory a local store can serve from as it is. Every copy goes through the target store's
``put_stream`` with the blob's own address as the expected hash: a blob whose bytes were damaged on the way
(or in the backup) is refused, never stored under an address that is not its content's hash. A blob already
in the target is left alone when its size is the source's, so a copy into last night's folder adds only what
is new (deploy/README.md §7: the database is dumped first, then the blobs copied). A copy in the target whose
size differs and whose bytes do not hash to its address — or, with ``verify``, any copy whose bytes do not —
is damaged: it is replaced from the source, in one step and only by bytes that hash to the address, and named.
Nothing is deleted: when the source's copy is the damaged one, the target's stays.

Uploads in progress are not copied: a bidder whose upload was begun before the backup and is continued after
a restore starts its bytes again (the client asks where to resume, and the restored store says 0).
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from trading.blobs import BlobStore, HashMismatch
from trading.blobs.gc import blob_references
from trading.blobs.inline import kept_digests


class CopyReport(msgspec.Struct, frozen=True):
    copied: int
    copied_bytes: int
    already_there: int
    #: Blobs whose bytes in the source no longer hash to their address: not copied (the rest are); a copy the
    #: target holds is left as it is.
    damaged: list[str]
    #: Blobs the target held damaged (the wrong size, or with ``verify`` the wrong hash), replaced from the source.
    repaired: list[str] = msgspec.field(default_factory=list)
    #: Copies in the target re-hashed (``verify``) and found whole.
    verified: int = 0


async def copy_blobs(source: BlobStore, target: BlobStore, *, verify: bool = False) -> CopyReport:
    """Copy every blob of *source* that *target* does not hold whole, each checked against its address; a
    damaged one is left out and named, and the copy goes on. With *verify*, every copy *target* holds already
    is read and hashed too (a backup folder's bit rot is found while the source is still there to mend it)."""
    copied = copied_bytes = already = verified = 0
    damaged: list[str] = []
    repaired: list[str] = []
    held = {info.sha256: info.size async for info in target.list_blobs()}
    async for info in source.list_blobs():
        size = held.get(info.sha256)
        if size is not None:
            if size == info.size and (not verify or await _hashes_to_address(target, info.sha256)):
                already += 1
                verified += verify
                continue
            if size != info.size and await _hashes_to_address(target, info.sha256):
                damaged.append(info.sha256)  # the target's copy is whole: the source's is the damaged one
                continue
        # Never a delete first: a damaged copy in the target is replaced only by one that hashes to its address.
        put = target.put_stream if size is None else target.replace_stream
        try:
            stored = await put(source.open_stream(info.sha256), max_bytes=info.size, expected_sha256=info.sha256)
        except HashMismatch:
            damaged.append(info.sha256)  # the target keeps what it had
            continue
        if size is not None:
            repaired.append(info.sha256)
        copied += 1
        copied_bytes += stored.size
    return CopyReport(
        copied=copied,
        copied_bytes=copied_bytes,
        already_there=already,
        damaged=damaged,
        repaired=repaired,
        verified=verified,
    )


async def _hashes_to_address(store: BlobStore, sha256: str) -> bool:
    digest = hashlib.sha256()
    async for chunk in store.open_stream(sha256):
        digest.update(chunk)
    return digest.hexdigest() == sha256


async def missing_blobs(state: Any) -> dict[str, list[str]]:
    """The blobs the database references that neither the store nor the database itself (trading.blobs.inline)
    holds, with who references them: after a restore, what the bucket's copy lost (or a copy taken before the
    dump)."""
    present = {info.sha256 async for info in state.blobs.list_blobs()}
    async with state.sessionmaker() as session:
        references = await blob_references(session)
        present |= await kept_digests(await session.connection(), set(references) - present)
    return {sha256: rows for sha256, rows in sorted(references.items()) if sha256 not in present}
