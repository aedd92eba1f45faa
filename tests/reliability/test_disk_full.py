"""Disk full on the local blob store: the blob directory is a small tmpfs that fills while bids arrive. Each
bid that does not fit is refused with a clear 507 (insufficient_storage, in Chinese and English), gets no
receipt and leaves no bid row; every receipted bid is whole; once space is freed the refused bidder resumes
and completes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bidding.harness import begun, bid_rows, ciphertexts, complete, make_bidder, open_section, put, seal
from tests.factories import build_world

pytestmark = pytest.mark.asyncio
SIZE_KIB = 1536
BIDDERS = 8
DOCUMENTS = 300 * 1024  # about five bids fill the tmpfs


@pytest.fixture
def small_disk(settings):
    """The test's blob directory as a 1.5 MiB tmpfs (mounting needs root, as .ci/run has)."""
    if settings.blob_store != "local":
        pytest.skip("the local store's disk (the S3 half has its own outage test)")
    if os.geteuid() != 0 or shutil.which("mount") is None:
        if os.environ.get("TRADING_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail("the disk-full test mounts a small tmpfs and needs root (as .ci/run runs)")
        pytest.skip("mounting a small tmpfs needs root")
    folder = Path(settings.blob_dir)
    folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_KIB}k,mode=0700", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


async def test_a_full_disk_is_a_clear_507_with_no_receipt_and_nothing_half_stored(
    app, client, clock, tmp_path, small_disk
):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    bidders = [await make_bidder(app, client, clock.at, n + 1, f"湖南{n + 1}建设工程有限公司") for n in range(BIDDERS)]
    receipted, refused = {}, []
    for n, bidder in enumerate(bidders):
        path = seal(section, bidder, tmp_path, price=4_000_000_000 + n, documents={"图纸.bin": os.urandom(DOCUMENTS)})
        info = await begun(client, bidder, section, path)
        answers = []
        for envelope, data in ciphertexts(path).items():
            answers.append(await put(client, bidder, info["upload_id"], envelope, data))
        if all(r.status_code == 200 for r in answers):
            answers.append(await complete(client, bidder, info["upload_id"]))
        last = answers[-1]
        if last.status_code == 201:
            receipted[last.json()["receipt"]["document"]["manifest_sha256"]] = bidder
        else:
            refused.append((bidder, path, info, last))
    assert receipted and refused, (len(receipted), len(refused))
    for _bidder, _path, _info, r in refused:
        assert r.status_code == 507, r.text
        error = r.json()["error"]
        assert error["code"] == "insufficient_storage" and "存储空间已满" in error["message_zh"]
        assert "storage is full" in error["message_en"]
    rows = await bid_rows(app, section.id)
    assert {b.manifest_sha256 for b in rows} == set(receipted)  # no bid row for what did not fit
    for bid in rows:  # and each receipted bid whole
        for blob in bid.blobs.values():
            data = await app.state.blobs.read_bytes(blob["sha256"], int(blob["size"]))
            assert len(data) == int(blob["size"])

    # The operator grows the disk; the first refused bidder resumes from what the server holds and completes.
    subprocess.run(["mount", "-o", f"remount,size={4 * SIZE_KIB}k", str(small_disk)], check=True)
    bidder, path, info, _ = refused[0]
    data = ciphertexts(path)
    for envelope in ("price", "documents"):
        held = (await client.get(f"/api/uploads/{info['upload_id']}", headers=bidder.headers)).json()
        offset = held["envelopes"][envelope]["received"]
        if offset < len(data[envelope]):
            r = await put(client, bidder, info["upload_id"], envelope, data[envelope][offset:], offset=offset)
            assert r.status_code == 200, r.text
    r = await complete(client, bidder, info["upload_id"])
    assert r.status_code == 201, r.text
