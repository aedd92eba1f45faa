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
    damaged.write_bytes(b"\x00" + damaged.read_bytes()[1:])
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
