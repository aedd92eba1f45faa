"""Streaming a bid's documents to an evaluator, against raw AES-256-GCM over the same chunks.

    .venv/bin/python bench/documents.py --mib 256

Seals one bid whose documents envelope holds a file of N MiB of random bytes, with the real bidder code, then
measures on this machine, in the same run:

* **platform path** — what ``GET /api/sections/{id}/evaluation/bids/{bid}/documents`` does per request after
  the access checks: read the stored ciphertext in 64 KiB pieces, check the key's commitment, decrypt chunk by
  chunk with the counter nonces, and hash the ciphertext to compare with the manifest
  (``bidding.envelope.opening.iter_plaintext``);
* **floor** — the ``cryptography`` package's AES-256-GCM decrypting the same chunks, nothing else.

No timing is asserted anywhere: these are measurements.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bidding.envelope import (
    BidContext,
    generate_opener_key,
    iter_plaintext,
    read_sealed_bid,
    seal_bid,
    shamir,
)
from bidding.envelope.aead import chunk_nonce
from bidding.envelope.context import chunk_associated_data
from bidding.envelope.opening import open_share
from bidding.envelope.suites import encode_public_key

SUITE = "hpke-x25519-sha256-aes256gcm"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args()
    openers = [generate_opener_key(SUITE) for _ in range(3)]
    context = BidContext(
        section_id=1,
        trade_code="BENCH",
        section_code="01",
        bidder_credit_code="91430700MA4L000000",
        suite=SUITE,
        k=2,
        n=3,
        opener_keys=tuple(encode_public_key(SUITE, o.public_key()) for o in openers),
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        with (folder / "技术标.bin").open("wb") as fh:
            for _ in range(args.mib):
                fh.write(os.urandom(1 << 20))
        out = Path(tmp) / "bid.bid"
        started = time.perf_counter()
        seal_bid(
            context,
            Ed25519PrivateKey.generate(),
            {"total_price_fen": 1, "duration_days": 1, "quality": "合格"},
            folder,
            out,
        )
        sealed_s = time.perf_counter() - started
        sealed = read_sealed_bid(out)
        manifest = sealed.manifest
        shares = {
            i: open_share(SUITE, openers[i - 1], context, "documents", i, sealed.sealed_shares["documents"][i - 1])
            for i in (1, 2)
        }
        key = shamir.combine([shares[1], shares[2]])
        cipher = Path(tmp) / "documents.ct"
        with cipher.open("wb") as fh:
            for piece in sealed.iter_ciphertext("documents"):
                fh.write(piece)
        size = cipher.stat().st_size

        def pieces():  # type: ignore[no-untyped-def]
            with cipher.open("rb") as fh:
                yield from iter(lambda: fh.read(1 << 16), b"")

        started = time.perf_counter()
        plain = sum(len(p) for p in iter_plaintext(manifest, context, "documents", key, pieces()))
        platform_s = time.perf_counter() - started

        record = manifest.envelope("documents")
        chunk = record.chunk_size + 16
        aad = chunk_associated_data(context.to_bytes(), "documents", record.chunk_size)
        aes = AESGCM(key)
        data = memoryview(cipher.read_bytes())  # (in memory before the clock starts: the floor reads nothing)
        total, count = len(data), (len(data) + chunk - 1) // chunk
        started = time.perf_counter()
        for n in range(count):
            aes.decrypt(chunk_nonce(n, n == count - 1), data[n * chunk : (n + 1) * chunk], aad)
        floor_s = time.perf_counter() - started
    mib = size / (1 << 20)
    print(
        f"documents envelope: {mib:.0f} MiB ciphertext, {plain / (1 << 20):.0f} MiB plaintext (sealed in {sealed_s:.1f} s)"
    )
    print(f"platform stream (read 64 KiB, decrypt, hash): {platform_s:.2f} s = {mib / platform_s:.0f} MiB/s")
    print(f"floor (raw AES-256-GCM, same chunks, in memory): {floor_s:.2f} s = {mib / floor_s:.0f} MiB/s")
    print(f"ratio platform / floor: {platform_s / floor_s:.1f}")
    assert total == size


if __name__ == "__main__":
    main()
