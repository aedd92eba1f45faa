"""What the server checks before it accepts a sealed bid (投标文件接收前的校验) — pure, no I/O.

:func:`check_submission` takes the three small members (manifest bytes, signature, sealed shares), the context
of the section as the server knows it and the signing key registered for the bidder, and either returns the
parsed manifest or raises an :class:`~bidding.envelope.errors.EnvelopeError` with a stable code. The ciphertexts
are then streamed to storage through :func:`verify_ciphertext_stream` (or the hashes reported by
:class:`~bidding.envelope.container.SealedBidParser`) and compared with :func:`check_ciphertext`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .context import ENVELOPES, BidContext
from .encoding import b64decode
from .errors import (
    BadSignature,
    CiphertextMismatch,
    Malformed,
    SealedSharesMismatch,
    WrongBidder,
    WrongCommittee,
    WrongSection,
)
from .manifest import MAX_MANIFEST_BYTES, SHARE_SIZE, Manifest, decode_sealed_shares, parse_manifest
from .suites import suite_info


def _raw_public_key(key: Ed25519PublicKey | bytes) -> bytes:
    if isinstance(key, Ed25519PublicKey):
        return key.public_bytes_raw()
    if len(key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return bytes(key)


def check_manifest_context(manifest: Manifest, context: BidContext) -> None:
    """Raise unless the manifest was sealed for exactly this section, bidder (role) and committee."""
    if (manifest.section_id, manifest.trade_code, manifest.section_code) != (
        context.section_id,
        context.trade_code,
        context.section_code,
    ):
        raise WrongSection(
            details={
                "section_id": manifest.section_id,
                "trade_code": manifest.trade_code,
                "section_code": manifest.section_code,
            }
        )
    if (manifest.bidder_credit_code, manifest.role) != (context.bidder_credit_code, context.role):
        raise WrongBidder(details={"bidder_credit_code": manifest.bidder_credit_code, "role": manifest.role})
    expected_hashes = tuple(h.hex() for h in context.opener_key_hashes())
    if (manifest.suite, manifest.committee.k, manifest.committee.n, manifest.committee.opener_keys_sha256) != (
        context.suite,
        context.k,
        context.n,
        expected_hashes,
    ):
        raise WrongCommittee(details={"suite": manifest.suite, "k": manifest.committee.k, "n": manifest.committee.n})


def check_submission(
    manifest_bytes: bytes,
    signature: bytes,
    sealed_shares: Mapping[str, Sequence[bytes]] | bytes,
    context_expected: BidContext,
    public_key_allowed: Ed25519PublicKey | bytes,
    *,
    parsed: Manifest | None = None,
) -> Manifest:
    """Everything the server checks about a bid's head before taking its ciphertexts; returns the manifest
    (*parsed*: what ``parse_manifest`` already gave for these very bytes, not parsed again).

    In order: size; the Ed25519 signature over the exact manifest bytes by the allowed key (BadSignature);
    the v1 format (Malformed, UnsupportedFormat, UnsupportedSuite); the manifest names that same key
    (BadSignature); section (WrongSection), bidder and role (WrongBidder), suite and committee keys
    (WrongCommittee); n sealed shares per envelope of the suite's exact length (Malformed), each matching its
    SHA-256 in the manifest (SealedSharesMismatch). ``sealed_shares`` may be the ``shares.json`` bytes.
    """
    if len(manifest_bytes) > MAX_MANIFEST_BYTES:
        raise Malformed("清单过大", f"The manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    allowed = _raw_public_key(public_key_allowed)
    if len(signature) != 64:
        raise BadSignature("签名长度应为 64 字节", "An Ed25519 signature is 64 bytes")
    try:
        Ed25519PublicKey.from_public_bytes(allowed).verify(signature, manifest_bytes)
    except InvalidSignature:
        raise BadSignature() from None
    manifest = parsed if parsed is not None else parse_manifest(manifest_bytes)
    if b64decode(manifest.signing_key, "signing_key") != allowed:
        raise BadSignature(
            "清单中声明的签名公钥与登记的不一致", "The manifest names a signing key other than the registered one"
        )
    check_manifest_context(manifest, context_expected)
    shares = decode_sealed_shares(sealed_shares) if isinstance(sealed_shares, bytes) else sealed_shares
    check_sealed_shares(manifest, shares)
    return manifest


def check_sealed_shares(manifest: Manifest, sealed_shares: Mapping[str, Sequence[bytes]]) -> None:
    if set(sealed_shares) != set(ENVELOPES):
        raise Malformed(
            "密封分片应只有 price 和 documents 两组", "Sealed shares must be given for price and documents only"
        )
    expected_size = suite_info(manifest.suite).sealed_size(SHARE_SIZE)
    for envelope in ENVELOPES:
        items = sealed_shares[envelope]
        record = manifest.envelope(envelope)
        if len(items) != manifest.committee.n:
            raise Malformed(
                f"{envelope} 的密封分片应有 n 个",
                f"The {envelope} envelope needs n sealed shares",
                details={"envelope": envelope},
            )
        for index, (sealed, digest) in enumerate(zip(items, record.sealed_shares_sha256, strict=True), start=1):
            if len(sealed) != expected_size:
                raise Malformed(
                    f"{envelope} 的第 {index} 个密封分片长度应为 {expected_size} 字节",
                    f"Sealed share {index} of {envelope} must be {expected_size} bytes",
                    details={"envelope": envelope, "index": index},
                )
            if hashlib.sha256(sealed).hexdigest() != digest:
                raise SealedSharesMismatch(details={"envelope": envelope, "index": index})


def verify_ciphertext_stream(chunks: Iterable[bytes]) -> tuple[str, int]:
    """SHA-256 (hex) and length of a ciphertext stream, consumed piece by piece."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def check_ciphertext(manifest: Manifest, envelope: str, sha256: str, size: int) -> None:
    """Raise :class:`CiphertextMismatch` unless a stored ciphertext is the one the manifest names."""
    record = manifest.envelope(envelope)
    if (size, sha256) != (record.ciphertext_size, record.ciphertext_sha256):
        raise CiphertextMismatch(details={"envelope": envelope, "expected_size": record.ciphertext_size, "size": size})
