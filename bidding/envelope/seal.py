"""Sealing a bid on the bidder's machine (投标文件加密): encrypt both envelopes, split and seal their keys, sign.

For each envelope a fresh 32-byte data key encrypts the plaintext with the chunked AEAD; the key is split into
n Shamir shares (threshold k); share i is committed to in the manifest and HPKE-sealed to opener i. The manifest
commits to the key, the shares, the sealed shares and the ciphertext; the bidder signs its bytes.

Randomness is injectable (``random_bytes``) so that test vectors are reproducible; HPKE's own ephemeral keys
are drawn inside ``cryptography`` and are not.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import shamir
from .aead import DATA_KEY_SIZE, DEFAULT_CHUNK_SIZE, ChunkEncryptor, check_chunk_size, ciphertext_size
from .container import container_head, container_tail
from .context import (
    ENVELOPE_DOCUMENTS,
    ENVELOPE_PRICE,
    BidContext,
    chunk_associated_data,
    key_commitment,
    share_commitment,
    share_info,
)
from .documents import collect_documents, documents_tar_size, write_documents_tar
from .manifest import EnvelopeRecord, Manifest, build_manifest, encode_sealed_shares, manifest_hash
from .priceform import encode_price_form
from .suites import OpenerPublicKey, decode_public_key, hpke_seal

RandomBytes = Callable[[int], bytes]
#: The sealed file is written in pieces of this size (the AEAD's chunks are 64 KiB).
WRITE_BUFFER = 1 << 20


@dataclass(frozen=True)
class KeyShares:
    """A data key split for the committee: the shares, their commitments and the HPKE-sealed shares."""

    shares: tuple[bytes, ...]
    share_commitments: tuple[bytes, ...]
    sealed_shares: tuple[bytes, ...]


def split_and_seal_key(
    context: BidContext,
    envelope: str,
    data_key: bytes,
    *,
    random_bytes: RandomBytes = os.urandom,
    public_keys: Sequence[OpenerPublicKey] | None = None,
) -> KeyShares:
    """Split ``data_key`` k-of-n and seal share i to opener i with info = label ‖ context ‖ envelope ‖ i."""
    ctx = context.to_bytes()
    keys = public_keys or [decode_public_key(context.suite, raw) for raw in context.opener_keys]
    shares = shamir.split(data_key, context.k, context.n, random_bytes)
    commitments = tuple(share_commitment(ctx, envelope, i, share) for i, share in enumerate(shares, start=1))
    sealed = tuple(
        hpke_seal(context.suite, key, share, share_info(ctx, envelope, i))
        for i, (key, share) in enumerate(zip(keys, shares, strict=True), start=1)
    )
    return KeyShares(tuple(shares), commitments, sealed)


class EnvelopeWriter:
    """Encrypts one envelope's plaintext as it is written; the ciphertext goes to ``sink`` and is hashed."""

    def __init__(
        self,
        context_bytes: bytes,
        envelope: str,
        data_key: bytes,
        sink: Callable[[bytes], object],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ):
        self.envelope = envelope
        self.chunk_size = check_chunk_size(chunk_size)
        self._sink = sink
        self._hash = hashlib.sha256()
        self.ciphertext_size = 0
        self._encryptor = ChunkEncryptor(
            data_key, chunk_associated_data(context_bytes, envelope, chunk_size), chunk_size, self._emit
        )

    def _emit(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.ciphertext_size += len(chunk)
        self._sink(chunk)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._encryptor.write(data)

    def close(self) -> str:
        """Finish (writes the final chunk); returns the ciphertext's SHA-256 hex."""
        self._encryptor.close()
        return self._hash.hexdigest()


def envelope_record(
    context: BidContext, envelope: str, data_key: bytes, writer: EnvelopeWriter, ciphertext_sha256: str, keys: KeyShares
) -> EnvelopeRecord:
    return EnvelopeRecord(
        chunk_size=writer.chunk_size,
        ciphertext_size=writer.ciphertext_size,
        ciphertext_sha256=ciphertext_sha256,
        key_commitment=key_commitment(context.to_bytes(), envelope, data_key).hex(),
        share_commitments=tuple(c.hex() for c in keys.share_commitments),
        sealed_shares_sha256=tuple(hashlib.sha256(s).hexdigest() for s in keys.sealed_shares),
    )


@dataclass(frozen=True)
class SealedBidInfo:
    """What sealing produced: the exact manifest bytes, their signature and hash, and the file's size."""

    manifest_bytes: bytes
    signature: bytes
    manifest_hash: str
    manifest: Manifest
    size: int


def format_sealed_at(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("sealed_at must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seal_bid(
    context: BidContext,
    signing_key: Ed25519PrivateKey,
    price_form: Mapping[str, Any],
    documents: Sequence[tuple[str, Path | str]] | Path | str,
    out: BinaryIO | Path | str,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
    price_fields: Collection[str] = (),
    random_bytes: RandomBytes = os.urandom,
    sealed_at: datetime | None = None,
    tmp_dir: Path | str | None = None,
) -> SealedBidInfo:
    """Seal a bid into a sealed bid file (docs/envelope.md).

    ``documents`` is a folder (walked; regular files only) or a list of ``(name in the archive, path)``.
    ``out`` is a path (written to a temporary file beside it, fsynced, then renamed into place) or a writable
    binary stream. Into a path, the documents ciphertext is written straight to its place in the file as it is
    encrypted and hashed (the members before it have a length known in advance, and are written last); into a
    stream, it is spooled to a temporary file in ``tmp_dir`` (default: the system's) first. Either way memory
    stays small whatever the size. ``progress`` receives the number of document bytes read so far.
    """
    context.validate()
    check_chunk_size(chunk_size)
    ctx = context.to_bytes()
    public_keys = [decode_public_key(context.suite, raw) for raw in context.opener_keys]
    price_plaintext = encode_price_form(price_form, role=context.role, price_fields=price_fields)
    files = collect_documents(documents)
    nonce = random_bytes(16)
    # The sealer's own statement of when it sealed (offline, so its own clock); the platform's clock alone
    # decides whether a bid is on time.
    moment = format_sealed_at(sealed_at or datetime.now(UTC))

    price_key = random_bytes(DATA_KEY_SIZE)
    price_parts: list[bytes] = []
    price_writer = EnvelopeWriter(ctx, ENVELOPE_PRICE, price_key, price_parts.append, chunk_size=chunk_size)
    price_writer.write(price_plaintext)
    price_hash = price_writer.close()
    price_keys = split_and_seal_key(
        context, ENVELOPE_PRICE, price_key, random_bytes=random_bytes, public_keys=public_keys
    )
    # The documents' key and shares are drawn before their encryption (which draws no randomness): the order of
    # random_bytes calls is the same as drawing the shares after it.
    documents_key = random_bytes(DATA_KEY_SIZE)
    documents_keys = split_and_seal_key(
        context, ENVELOPE_DOCUMENTS, documents_key, random_bytes=random_bytes, public_keys=public_keys
    )
    documents_size = ciphertext_size(documents_tar_size(files), chunk_size)
    price_record = envelope_record(context, ENVELOPE_PRICE, price_key, price_writer, price_hash, price_keys)
    documents_record = EnvelopeRecord(
        chunk_size=chunk_size,
        ciphertext_size=documents_size,
        ciphertext_sha256="0" * 64,  # until the ciphertext is written: a hash has the same length whatever it is
        key_commitment=key_commitment(ctx, ENVELOPE_DOCUMENTS, documents_key).hex(),
        share_commitments=tuple(c.hex() for c in documents_keys.share_commitments),
        sealed_shares_sha256=tuple(hashlib.sha256(s).hexdigest() for s in documents_keys.sealed_shares),
    )

    def head(documents_sha256: str) -> tuple[Manifest, bytes, bytes, bytes]:
        """The manifest, its bytes, their signature, and the container's head for this documents hash."""
        record = msgspec.structs.replace(documents_record, ciphertext_sha256=documents_sha256)
        manifest = build_manifest(
            context,
            signing_key=signing_key.public_key(),
            sealed_at=moment,
            nonce=nonce,
            envelopes={ENVELOPE_PRICE: price_record, ENVELOPE_DOCUMENTS: record},
        )
        manifest_bytes = manifest.to_bytes()
        signature = signing_key.sign(manifest_bytes)
        container = container_head(
            manifest_bytes=manifest_bytes,
            signature=signature,
            shares_json=encode_sealed_shares(
                {ENVELOPE_PRICE: price_keys.sealed_shares, ENVELOPE_DOCUMENTS: documents_keys.sealed_shares}
            ),
            price_ciphertext=b"".join(price_parts),
            documents_size=documents_size,
        )
        return manifest, manifest_bytes, signature, container

    def encrypt_documents(sink: Callable[[bytes], object]) -> str:
        writer = EnvelopeWriter(ctx, ENVELOPE_DOCUMENTS, documents_key, sink, chunk_size=chunk_size)
        write_documents_tar(files, writer.write, progress)
        digest = writer.close()
        if writer.ciphertext_size != documents_size:  # (a file that changed while sealing is refused before this)
            raise AssertionError("the documents ciphertext is not the size computed for it")
        return digest

    if isinstance(out, str | os.PathLike):
        path = Path(out)
        partial = path.with_name(f".{path.name}.{os.urandom(4).hex()}.partial")
        try:
            with open(partial, "xb", buffering=WRITE_BUFFER) as fh:
                head_size = len(head("0" * 64)[3])
                fh.seek(head_size)
                documents_hash = encrypt_documents(fh.write)
                fh.write(container_tail(documents_size))
                manifest, manifest_bytes, signature, container = head(documents_hash)
                if len(container) != head_size:
                    raise AssertionError("the container's head is not the length computed for it")
                fh.seek(0)
                fh.write(container)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        size = head_size + documents_size + len(container_tail(documents_size))
    else:
        with tempfile.TemporaryFile(dir=tmp_dir, prefix=".documents-", suffix=".bin") as spool:
            documents_hash = encrypt_documents(spool.write)
            manifest, manifest_bytes, signature, container = head(documents_hash)
            spool.seek(0)
            out.write(container)
            while block := spool.read(WRITE_BUFFER):
                out.write(block)
            tail = container_tail(documents_size)
            out.write(tail)
        size = len(container) + documents_size + len(tail)
    return SealedBidInfo(manifest_bytes, signature, manifest_hash(manifest_bytes), manifest, size)
