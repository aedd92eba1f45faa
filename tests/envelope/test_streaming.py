"""Gigabyte-sized documents never sit in memory: sealing, reading and opening 50 MB stay within a few MB."""

from __future__ import annotations

import tracemalloc

import pytest

from bidding.envelope import (
    SUITE_X25519,
    SealedBidParser,
    check_submission,
    combine_and_open,
    open_share,
    read_sealed_bid,
    seal_bid,
)
from tests.envelope import PRICE_FORM, make_committee, make_context, new_signing_key

SIZE = 50 * 1024 * 1024
LIMIT = 8 * 1024 * 1024


class Discard:
    def __init__(self):
        self.size = 0

    def write(self, data):
        self.size += len(data)
        return len(data)


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    block = bytes(range(256)) * 4096  # 1 MiB
    for name, megabytes in (("技术标.pdf", 30), ("商务标.pdf", 19), ("附件/资质证书.pdf", 1)):
        path = folder / name
        path.parent.mkdir(exist_ok=True)
        with open(path, "wb") as fh:
            for _ in range(megabytes):
                fh.write(block)
    return folder


def peak_of(action):
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def test_sealing_and_opening_50_mb_stays_small(big_folder, tmp_path):
    committee = make_committee(SUITE_X25519, 2, 3)
    context = make_context(committee)
    signing_key = new_signing_key()
    out = tmp_path / "big.bid"
    info, peak = peak_of(lambda: seal_bid(context, signing_key, PRICE_FORM, big_folder, out))
    assert info.size > SIZE
    assert peak < LIMIT, f"sealing peaked at {peak} bytes"

    bid = read_sealed_bid(out)
    manifest = check_submission(bid.manifest_bytes, bid.signature, bid.sealed_shares, context, signing_key.public_key())

    def parse():
        parser = SealedBidParser()
        ends = []
        with open(out, "rb") as fh:
            while block := fh.read(1 << 20):
                ends += [e for e in parser.feed(block) if hasattr(e, "sha256")]
        parser.close()
        return ends

    ends, peak = peak_of(parse)
    assert [e.sha256 for e in ends] == [manifest.envelopes[e].ciphertext_sha256 for e in ("price", "documents")]
    assert peak < LIMIT, f"parsing peaked at {peak} bytes"

    shares = {
        i: open_share(
            SUITE_X25519, committee.keys[i - 1], context, "documents", i, bid.sealed_shares["documents"][i - 1]
        )
        for i in (1, 3)
    }
    sink = Discard()
    result, peak = peak_of(
        lambda: combine_and_open(manifest, context, "documents", shares, bid.iter_ciphertext("documents"), out=sink)
    )
    assert result.ok and sink.size == result.plaintext_size > SIZE
    assert peak < LIMIT, f"opening peaked at {peak} bytes"
