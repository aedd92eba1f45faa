"""The published test vectors (tests/vectors/envelope-v1.json) are rebuilt here, value by value, from their inputs.

Another implementation checks itself against the same file (docs/envelope.md, "Test vectors"). Regenerate with
``TRADING_WRITE_ENVELOPE_VECTORS=1 .venv/bin/python -m pytest tests/envelope/test_vectors.py`` — only when the
format changes: the HPKE encapsulations inside are random, so every regeneration changes the sealed shares, the
manifest and the signature.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bidding.envelope import (
    SUITE_HYBRID,
    SUITE_X25519,
    BidContext,
    check_submission,
    combine_and_open,
    decode_private_key,
    encode_private_key,
    encode_public_key,
    open_share,
    protect_private_key,
    read_sealed_bid,
    seal_bid,
    shamir,
    unprotect_private_key,
)
from bidding.envelope.aead import chunk_nonce, encrypt_bytes
from bidding.envelope.container import write_container
from bidding.envelope.context import (
    LABEL_CHUNK,
    LABEL_CONTEXT,
    LABEL_KEY_COMMITMENT,
    LABEL_SHARE,
    LABEL_SHARE_COMMITMENT,
    chunk_associated_data,
    key_commitment,
    share_commitment,
    share_info,
)
from bidding.envelope.documents import documents_tar_bytes
from bidding.envelope.manifest import EnvelopeRecord, build_manifest, encode_sealed_shares
from bidding.envelope.priceform import encode_price_form
from bidding.envelope.suites import OpenerPrivateKey

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "envelope-v1.json"
SEALED_AT = datetime(2026, 3, 2, 1, 0, 0, tzinfo=UTC)


def drbg(label: str, size: int) -> bytes:
    """Fixed 'random' bytes for the vectors: SHA-256(label ‖ counter) blocks. Only the values matter."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:size]


def fixed_opener_key(suite: str, index: int) -> OpenerPrivateKey:
    x_key = x25519.X25519PrivateKey.from_private_bytes(drbg(f"{suite}/opener/{index}/x25519", 32))
    if suite == SUITE_HYBRID:
        return OpenerPrivateKey(
            suite, x_key, mlkem.MLKEM768PrivateKey.from_seed_bytes(drbg(f"opener/{index}/mlkem", 64))
        )
    return OpenerPrivateKey(suite, x_key)


BID_INPUTS = {
    SUITE_X25519: {
        "k": 2,
        "n": 3,
        "section_id": 4301,
        "trade_code": "A4301002026000123",
        "section_code": "A4301002026000123001",
        "bidder_credit_code": "91430100MA4L2X3Y5K",
        "price_form": {
            "total_price_fen": 1286450000,
            "duration_days": 365,
            "quality": "合格",
            "project_manager": "张建国",
        },
        "chunk_size": 64,
        "files": [
            ("商务标/投标函.txt", "投标函：我方愿以人民币壹拾贰亿捌仟陆佰肆拾伍万元整承包。\n".encode()),
            ("技术标/施工组织设计.txt", b"Construction plan, 365 days.\n" * 10),
        ],
    },
    SUITE_HYBRID: {
        "k": 2,
        "n": 3,
        "section_id": 4302,
        "trade_code": "A4301002026000123",
        "section_code": "A4301002026000123002",
        "bidder_credit_code": "91430100MA4L2X3Y5K",
        "price_form": {"total_price_fen": 0, "duration_days": 0, "quality": "优良"},
        "chunk_size": 65536,
        "files": [],
    },
}


def generate_bid(suite: str, tmp: Path) -> dict:
    spec = BID_INPUTS[suite]
    keys = [fixed_opener_key(suite, i) for i in range(1, spec["n"] + 1)]
    context = BidContext(
        section_id=spec["section_id"],
        trade_code=spec["trade_code"],
        section_code=spec["section_code"],
        bidder_credit_code=spec["bidder_credit_code"],
        suite=suite,
        k=spec["k"],
        n=spec["n"],
        opener_keys=tuple(encode_public_key(suite, key.public_key()) for key in keys),
    )
    signing_seed = drbg(f"{suite}/signing-key", 32)
    draws = {
        "nonce": drbg(f"{suite}/nonce", 16),
        "price_key": drbg(f"{suite}/price/data-key", 32),
        "price_coefficients": drbg(f"{suite}/price/coefficients", 32 * (spec["k"] - 1)),
        "documents_key": drbg(f"{suite}/documents/data-key", 32),
        "documents_coefficients": drbg(f"{suite}/documents/coefficients", 32 * (spec["k"] - 1)),
    }
    sequence = iter(draws.values())  # seal_bid draws in this order
    files = []
    for name, data in spec["files"]:
        path = tmp / hashlib.sha256(name.encode()).hexdigest()
        path.write_bytes(data)
        files.append((name, path))
    out = tmp / f"{suite}.bid"
    info = seal_bid(
        context,
        Ed25519PrivateKey.from_private_bytes(signing_seed),
        spec["price_form"],
        files,
        out,
        chunk_size=spec["chunk_size"],
        random_bytes=lambda n: next(sequence),
        sealed_at=SEALED_AT,
    )
    bid = read_sealed_bid(out)
    ctx = context.to_bytes()
    envelopes = {}
    plaintexts = {"price": encode_price_form(spec["price_form"]), "documents": documents_tar_bytes(spec["files"])}
    for envelope in ("price", "documents"):
        record = info.manifest.envelopes[envelope]
        key = draws[f"{envelope}_key"]
        coefficients = draws[f"{envelope}_coefficients"]
        shares = shamir.split_with_coefficients(key, context.k, context.n, coefficients)
        ciphertext = b"".join(bid.iter_ciphertext(envelope))
        sealed = bid.sealed_shares[envelope]
        envelopes[envelope] = {
            "plaintext": plaintexts[envelope].hex(),
            "data_key": key.hex(),
            "chunk_size": record.chunk_size,
            "associated_data": chunk_associated_data(ctx, envelope, record.chunk_size).hex(),
            "chunks": split_chunks(ciphertext, record.chunk_size),
            "ciphertext_sha256": record.ciphertext_sha256,
            "key_commitment": record.key_commitment,
            "shamir_coefficients": coefficients.hex(),
            "shares": [s.hex() for s in shares],
            "share_commitments": list(record.share_commitments),
            "hpke_info": [share_info(ctx, envelope, i).hex() for i in range(1, context.n + 1)],
            "sealed_shares": [s.hex() for s in sealed],
        }
    container = out.read_bytes()
    return {
        "suite": suite,
        "context": {
            "role": context.role,
            "suite": suite,
            "section_id": context.section_id,
            "trade_code": context.trade_code,
            "section_code": context.section_code,
            "bidder_credit_code": context.bidder_credit_code,
            "k": context.k,
            "n": context.n,
            "opener_public_keys": [k.hex() for k in context.opener_keys],
        },
        "opener_private_keys": [encode_private_key(suite, key).hex() for key in keys],
        "signing_private_key": signing_seed.hex(),
        "signing_public_key": Ed25519PrivateKey.from_private_bytes(signing_seed).public_key().public_bytes_raw().hex(),
        "context_bytes": ctx.hex(),
        "sealed_at": "2026-03-02T01:00:00Z",
        "nonce": draws["nonce"].hex(),
        "price_form": spec["price_form"],
        "files": [{"name": name, "content": data.hex()} for name, data in spec["files"]],
        "envelopes": envelopes,
        "shares_json": bid.shares_json.decode(),
        "manifest": info.manifest_bytes.decode(),
        "manifest_sha256": info.manifest_hash,
        "signature": info.signature.hex(),
        "container_sha256": hashlib.sha256(container).hexdigest(),
        "container_size": len(container),
    }


def split_chunks(ciphertext: bytes, chunk_size: int) -> list[dict]:
    sealed = chunk_size + 16
    pieces = [ciphertext[i : i + sealed] for i in range(0, len(ciphertext), sealed)] or [b""]
    return [
        {"nonce": chunk_nonce(i, i == len(pieces) - 1).hex(), "ciphertext": piece.hex()}
        for i, piece in enumerate(pieces)
    ]


def generate() -> dict:
    shamir_vectors = []
    for secret, k, n in ((bytes.fromhex("42"), 3, 5), (drbg("shamir/secret", 32), 2, 3), (drbg("shamir/k1", 4), 1, 2)):
        coefficients = drbg(f"shamir/{k}/{n}", (k - 1) * len(secret))
        shares = shamir.split_with_coefficients(secret, k, n, coefficients)
        shamir_vectors.append(
            {
                "secret": secret.hex(),
                "k": k,
                "n": n,
                "coefficients": coefficients.hex(),
                "shares": [s.hex() for s in shares],
            }
        )
    aead_vectors = []
    ad = b"test associated data"
    for label, size, chunk in (("empty", 0, 16), ("short", 5, 16), ("exact", 32, 16), ("uneven", 40, 16)):
        key = drbg(f"aead/{label}/key", 32)
        plaintext = drbg(f"aead/{label}/plaintext", size)
        ciphertext = encrypt_bytes(key, ad, chunk, plaintext)
        aead_vectors.append(
            {
                "name": label,
                "key": key.hex(),
                "associated_data": ad.hex(),
                "chunk_size": chunk,
                "plaintext": plaintext.hex(),
                "chunks": split_chunks(ciphertext, chunk),
            }
        )
    key_file_key = fixed_opener_key(SUITE_X25519, 9)
    params = {"iterations": 1, "memory_kib": 64, "lanes": 1}
    key_file = protect_private_key(
        SUITE_X25519,
        key_file_key,
        "开标口令-2026",
        salt=drbg("keyfile/salt", 16),
        nonce=drbg("keyfile/nonce", 12),
        **params,
    )
    with tempfile.TemporaryDirectory() as tmp:
        bids = [generate_bid(suite, Path(tmp)) for suite in (SUITE_X25519, SUITE_HYBRID)]
    return {
        "description": "Test vectors for the sealed-bid envelope format trading-bid/v1 (docs/envelope.md). "
        "Byte strings are lower-case hex; text is UTF-8. Sealed shares are HPKE encryptions with random "
        "ephemeral keys: check them by opening, not by re-sealing.",
        "format": "trading-bid/v1",
        "labels": {
            name: label.decode()
            for name, label in (
                ("context", LABEL_CONTEXT),
                ("chunk", LABEL_CHUNK),
                ("key_commitment", LABEL_KEY_COMMITMENT),
                ("share_commitment", LABEL_SHARE_COMMITMENT),
                ("share", LABEL_SHARE),
            )
        },
        "shamir": shamir_vectors,
        "chunked_aead": aead_vectors,
        "bids": bids,
        "opener_key_file": {
            "suite": SUITE_X25519,
            "passphrase": "开标口令-2026",
            "private_key": encode_private_key(SUITE_X25519, key_file_key).hex(),
            "salt": drbg("keyfile/salt", 16).hex(),
            "nonce": drbg("keyfile/nonce", 12).hex(),
            **params,
            "file": key_file.hex(),
        },
    }


@pytest.fixture(scope="module")
def vectors():
    if os.environ.get("TRADING_WRITE_ENVELOPE_VECTORS") == "1":
        VECTORS.parent.mkdir(parents=True, exist_ok=True)
        VECTORS.write_text(json.dumps(generate(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return json.loads(VECTORS.read_text(encoding="utf-8"))


def test_shamir_vectors(vectors):
    for v in vectors["shamir"]:
        secret, coefficients = bytes.fromhex(v["secret"]), bytes.fromhex(v["coefficients"])
        shares = shamir.split_with_coefficients(secret, v["k"], v["n"], coefficients)
        assert [s.hex() for s in shares] == v["shares"]
        assert shamir.combine(shares[-v["k"] :]) == secret


def test_chunked_aead_vectors(vectors):
    for v in vectors["chunked_aead"]:
        ciphertext = encrypt_bytes(
            bytes.fromhex(v["key"]), bytes.fromhex(v["associated_data"]), v["chunk_size"], bytes.fromhex(v["plaintext"])
        )
        assert split_chunks(ciphertext, v["chunk_size"]) == v["chunks"]


def test_opener_key_file_vector(vectors):
    v = vectors["opener_key_file"]
    key = unprotect_private_key(bytes.fromhex(v["file"]), v["passphrase"])
    assert encode_private_key(v["suite"], key).hex() == v["private_key"]
    again = protect_private_key(
        v["suite"],
        key,
        v["passphrase"],
        salt=bytes.fromhex(v["salt"]),
        nonce=bytes.fromhex(v["nonce"]),
        iterations=v["iterations"],
        memory_kib=v["memory_kib"],
        lanes=v["lanes"],
    )
    assert again.hex() == v["file"]


@pytest.mark.parametrize("index", [0, 1])
def test_bid_vectors(vectors, index):
    v = vectors["bids"][index]
    suite, c = v["suite"], v["context"]
    context = BidContext(
        section_id=c["section_id"],
        trade_code=c["trade_code"],
        section_code=c["section_code"],
        bidder_credit_code=c["bidder_credit_code"],
        suite=c["suite"],
        k=c["k"],
        n=c["n"],
        opener_keys=tuple(bytes.fromhex(k) for k in c["opener_public_keys"]),
        role=c["role"],
    ).validate()
    ctx = context.to_bytes()
    assert ctx.hex() == v["context_bytes"]
    openers = [decode_private_key(suite, bytes.fromhex(k)) for k in v["opener_private_keys"]]
    assert [encode_public_key(suite, k.public_key()).hex() for k in openers] == c["opener_public_keys"]
    signing_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["signing_private_key"]))
    assert encode_price_form(v["price_form"]).hex() == v["envelopes"]["price"]["plaintext"]
    files = [(f["name"], bytes.fromhex(f["content"])) for f in v["files"]]
    assert documents_tar_bytes(files).hex() == v["envelopes"]["documents"]["plaintext"]

    records = {}
    sealed_shares = {}
    ciphertexts = {}
    for envelope, e in v["envelopes"].items():
        key = bytes.fromhex(e["data_key"])
        ad = chunk_associated_data(ctx, envelope, e["chunk_size"])
        assert ad.hex() == e["associated_data"]
        ciphertext = encrypt_bytes(key, ad, e["chunk_size"], bytes.fromhex(e["plaintext"]))
        assert split_chunks(ciphertext, e["chunk_size"]) == e["chunks"]
        assert hashlib.sha256(ciphertext).hexdigest() == e["ciphertext_sha256"]
        assert key_commitment(ctx, envelope, key).hex() == e["key_commitment"]
        shares = shamir.split_with_coefficients(key, context.k, context.n, bytes.fromhex(e["shamir_coefficients"]))
        assert [s.hex() for s in shares] == e["shares"]
        assert [share_commitment(ctx, envelope, i, s).hex() for i, s in enumerate(shares, 1)] == e["share_commitments"]
        assert [share_info(ctx, envelope, i).hex() for i in range(1, context.n + 1)] == e["hpke_info"]
        sealed = tuple(bytes.fromhex(s) for s in e["sealed_shares"])
        for i, opener in enumerate(openers, start=1):
            assert open_share(suite, opener, context, envelope, i, sealed[i - 1]) == shares[i - 1]
        records[envelope] = EnvelopeRecord(
            chunk_size=e["chunk_size"],
            ciphertext_size=len(ciphertext),
            ciphertext_sha256=e["ciphertext_sha256"],
            key_commitment=e["key_commitment"],
            share_commitments=tuple(e["share_commitments"]),
            sealed_shares_sha256=tuple(hashlib.sha256(s).hexdigest() for s in sealed),
        )
        sealed_shares[envelope] = sealed
        ciphertexts[envelope] = ciphertext

    manifest = build_manifest(
        context,
        signing_key=signing_key.public_key(),
        sealed_at=v["sealed_at"],
        nonce=bytes.fromhex(v["nonce"]),
        envelopes=records,
    )
    manifest_bytes = manifest.to_bytes()
    assert manifest_bytes.decode() == v["manifest"]
    assert hashlib.sha256(manifest_bytes).hexdigest() == v["manifest_sha256"]
    assert signing_key.sign(manifest_bytes).hex() == v["signature"]  # Ed25519 is deterministic
    assert encode_sealed_shares(sealed_shares).decode() == v["shares_json"]
    check_submission(manifest_bytes, bytes.fromhex(v["signature"]), sealed_shares, context, signing_key.public_key())

    out = io.BytesIO()
    write_container(
        out,
        manifest_bytes=manifest_bytes,
        signature=bytes.fromhex(v["signature"]),
        shares_json=v["shares_json"].encode(),
        price_ciphertext=ciphertexts["price"],
        documents_ciphertext=io.BytesIO(ciphertexts["documents"]),
        documents_size=len(ciphertexts["documents"]),
    )
    assert (hashlib.sha256(out.getvalue()).hexdigest(), len(out.getvalue())) == (
        v["container_sha256"],
        v["container_size"],
    )
    shares = {i: bytes.fromhex(v["envelopes"]["price"]["shares"][i - 1]) for i in (1, 2)}
    result = combine_and_open(manifest, context, "price", shares, [ciphertexts["price"]])
    assert result.ok and result.form == v["price_form"]
