"""The blob store's backup (`trading blobs export` / `import`, trading.blobs.backup) on both stores: a copy adds
only what is new, comes back whole, and a blob damaged in the backup is left out and named, never stored under
an address that is not its hash."""

from __future__ import annotations

import hashlib
import os

import msgspec
import pytest

from trading.blobs import make_blob_store
from trading.blobs.backup import copy_blobs
from trading.blobs.local import LocalBlobStore

pytestmark = pytest.mark.asyncio


async def _one(data: bytes):
    yield data


async def test_an_export_adds_what_is_new_and_a_damaged_blob_is_not_imported(app, tmp_path):
    store = app.state.blobs
    blobs = [os.urandom(100_000 + i) for i in range(3)]
    addresses = [(await store.put_stream(_one(b), max_bytes=len(b))).sha256 for b in blobs]

    folder = LocalBlobStore(tmp_path / "backup")
    first = await copy_blobs(store, folder)
    assert (first.copied, first.copied_bytes, first.already_there, first.damaged) == (3, sum(map(len, blobs)), 0, [])
    again = await copy_blobs(store, folder)
    assert (again.copied, again.already_there) == (0, 3)
    assert (tmp_path / "backup" / addresses[0][:2] / addresses[0][2:4] / addresses[0]).read_bytes() == blobs[0]

    # One file of the backup damaged on its disk; restored into an empty store of the same kind.
    damaged = folder.path_of(addresses[1])
    held = damaged.read_bytes()
    damaged.write_bytes(bytes([held[0] ^ 0xFF]) + held[1:])  # (writing a 0 there changed nothing 1 run in 256)
    settings = app.state.settings
    empty = make_blob_store(
        msgspec.structs.replace(settings, blob_dir=str(tmp_path / "restored"), s3_prefix=f"{settings.s3_prefix}-r")
    )
    report = await copy_blobs(folder, empty)
    assert (report.copied, report.damaged) == (2, [addresses[1]])
    assert not await empty.exists(addresses[1])
    for data, address in zip(blobs, addresses, strict=True):
        if address != addresses[1]:
            assert hashlib.sha256(await empty.read_bytes(address, len(data))).hexdigest() == address


async def test_a_copy_the_backup_holds_damaged_is_replaced_the_wrong_size_always_and_rot_when_verifying(app, tmp_path):
    store = app.state.blobs
    blobs = [os.urandom(70_000 + i) for i in range(3)]
    addresses = [(await store.put_stream(_one(b), max_bytes=len(b))).sha256 for b in blobs]
    folder = LocalBlobStore(tmp_path / "backup")
    await copy_blobs(store, folder)

    cut, rotten = folder.path_of(addresses[0]), folder.path_of(addresses[1])
    cut.write_bytes(blobs[0][:1000])  # a copy cut short: its size gives it away
    rotten.write_bytes(bytes([blobs[1][0] ^ 0x80]) + blobs[1][1:])  # the same size: only its hash tells
    plain = await copy_blobs(store, folder)
    assert (plain.copied, plain.already_there, plain.repaired, plain.verified) == (1, 2, [addresses[0]], 0)
    assert cut.read_bytes() == blobs[0] and rotten.read_bytes() != blobs[1]

    verified = await copy_blobs(store, folder, verify=True)
    assert (verified.copied, verified.already_there, verified.repaired, verified.verified) == (1, 2, [addresses[1]], 2)
    assert rotten.read_bytes() == blobs[1]
    assert (await copy_blobs(store, folder, verify=True)).repaired == []


async def test_a_copy_damaged_in_both_places_is_left_as_it_is_and_named(app, tmp_path):
    good, bad = LocalBlobStore(tmp_path / "a"), LocalBlobStore(tmp_path / "b")
    data = os.urandom(50_000)
    address = (await good.put_stream(_one(data), max_bytes=len(data))).sha256
    await copy_blobs(good, bad)
    rotten = data[:-1] + bytes([data[-1] ^ 1])
    for store in (good, bad):
        store.path_of(address).write_bytes(rotten)
    report = await copy_blobs(good, bad, verify=True)
    assert (report.copied, report.repaired, report.damaged) == (0, [], [address])
    assert bad.path_of(address).read_bytes() == rotten  # nothing better to put there: nothing deleted


async def test_a_copy_cut_short_in_the_source_never_costs_the_targets_whole_copy(app, tmp_path):
    """An import from a backup whose copy was cut short, into a store holding the blob whole (or an export from
    a store whose copy was): the sizes differ, the target's copy hashes to its address, so it is the source's
    that is damaged — named, and the target's kept."""
    store = app.state.blobs
    data = os.urandom(80_000)
    address = (await store.put_stream(_one(data), max_bytes=len(data))).sha256
    folder = LocalBlobStore(tmp_path / "backup")
    await copy_blobs(store, folder)
    folder.path_of(address).write_bytes(data[:5000])
    report = await copy_blobs(folder, store)
    assert (report.copied, report.repaired, report.damaged) == (0, [], [address])
    assert hashlib.sha256(await store.read_bytes(address, len(data))).hexdigest() == address
    # The other way, the whole copy mends the short one.
    report = await copy_blobs(store, folder)
    assert (report.copied, report.repaired, report.damaged) == (1, [address], [])
    assert folder.path_of(address).read_bytes() == data


async def test_a_rotten_copy_in_the_store_is_replaced_whole_in_one_step_on_both_stores(app, tmp_path):
    """Import --verify into a store whose copy rotted: replaced by the backup's, and a replacement that does not
    hash to the address leaves the copy there as it was (on S3 the aborted PUT never replaces the object)."""
    import obstore

    from trading.blobs import HashMismatch

    store = app.state.blobs
    inner = store
    while hasattr(inner, "inner"):
        inner = inner.inner
    data = os.urandom(60_000)
    address = (await store.put_stream(_one(data), max_bytes=len(data))).sha256
    folder = LocalBlobStore(tmp_path / "backup")
    await copy_blobs(store, folder)
    rotten = bytes([data[0] ^ 1]) + data[1:]
    if inner.kind == "local":
        inner.path_of(address).write_bytes(rotten)
    else:
        await obstore.put_async(inner.s3, inner._key(address), rotten)

    async def stored() -> bytes:
        return b"".join([chunk async for chunk in store.open_stream(address)])

    with pytest.raises(HashMismatch):
        await store.replace_stream(_one(os.urandom(60_000)), max_bytes=60_000, expected_sha256=address)
    assert await stored() == rotten
    report = await copy_blobs(folder, store, verify=True)
    assert (report.copied, report.repaired, report.damaged) == (1, [address], [])
    assert await stored() == data
