"""Opening an envelope (开标解密): the opener's share, the combination, the blame, and the public re-check.

Blame follows from what each party signed or sealed:

* a share that does not match its commitment in the manifest is refused and blamed on the opener who supplied
  it (``opener:i``); the remaining valid shares are used if at least k remain;
* k valid shares that rebuild a key failing the manifest's key commitment, a ciphertext that does not decrypt
  under the committed key, or an opening form that is not valid, are the bidder's fault (``bidder``) — provable
  from the bidder's own signed manifest;
* a stored ciphertext whose size or SHA-256 differs from the manifest's is the platform's fault (``platform``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from . import shamir
from .aead import DATA_KEY_SIZE, ChunkDecryptor
from .context import ENVELOPE_PRICE, BidContext, chunk_associated_data, key_commitment, share_commitment, share_info
from .errors import (
    CiphertextMismatch,
    DecryptionFailed,
    InvalidKey,
    InvalidPriceForm,
    KeyCommitmentMismatch,
    NotEnoughShares,
    ShareCommitmentMismatch,
    ShareDecryptionFailed,
)
from .manifest import SHARE_SIZE, Manifest
from .priceform import MAX_PRICE_FORM_BYTES, decode_price_form
from .submission import check_manifest_context
from .suites import OpenerPrivateKey, hpke_open

FAULT_BIDDER = "bidder"
FAULT_PLATFORM = "platform"
REASON_NOT_ENOUGH_SHARES = NotEnoughShares.code
REASON_KEY_COMMITMENT = KeyCommitmentMismatch.code
REASON_CIPHERTEXT_MISMATCH = CiphertextMismatch.code
REASON_PRICE_FORM = InvalidPriceForm.code


def opener_fault(indices: Iterable[int]) -> str:
    """``"opener:2"``, or ``"opener:1,3"`` when several openers are at fault."""
    return "opener:" + ",".join(str(i) for i in sorted(set(indices)))


def open_share(
    suite: str,
    private_key: OpenerPrivateKey,
    context: BidContext,
    envelope: str,
    index: int,
    sealed_share: bytes,
    *,
    manifest: Manifest | None = None,
) -> bytes:
    """The opener's side: decrypt the share sealed to opener ``index`` (33 bytes: ``index ‖ y``).

    With ``manifest`` the share is also checked against its commitment, so an honest opener learns *before*
    uploading that the bidder sealed a bad share (:class:`ShareCommitmentMismatch`) and can report it instead.
    """
    if suite != context.suite or private_key.suite != suite:
        raise InvalidKey("私钥与该标段的算法套件不符", "The private key is not for this section's suite")
    if not 1 <= index <= context.n:
        raise ValueError(f"opener index {index} is not in 1..{context.n}")
    if private_key.public_key().to_bytes() != context.opener_keys[index - 1]:
        raise InvalidKey(
            f"该私钥不是第 {index} 号开标人的密钥",
            f"This private key is not opener {index}'s",
            details={"index": index},
        )
    ctx = context.to_bytes()
    share = hpke_open(suite, private_key, sealed_share, share_info(ctx, envelope, index))
    if len(share) != SHARE_SIZE or share[0] != index:
        raise ShareDecryptionFailed(
            "解开的密钥分片结构不正确（投标人封装有误）",
            "The opened key share has the wrong shape (sealed wrongly by the bidder)",
            details={"index": index},
        )
    if manifest is not None:
        expected = manifest.envelope(envelope).share_commitments[index - 1]
        if share_commitment(ctx, envelope, index, share).hex() != expected:
            raise ShareCommitmentMismatch(details={"envelope": envelope, "index": index})
    return share


@dataclass(frozen=True)
class ShareCheck:
    valid: tuple[int, ...]
    refused: tuple[int, ...]
    missing: tuple[int, ...]


def check_shares(manifest: Manifest, envelope: str, shares: Mapping[int, bytes]) -> ShareCheck:
    """Sort supplied shares into valid (match their commitment), refused (do not) and missing indices."""
    ctx = manifest.context_bytes()
    commitments = manifest.envelope(envelope).share_commitments
    n = manifest.committee.n
    valid, refused = [], []
    for index, share in shares.items():
        ok = (
            isinstance(index, int)
            and 1 <= index <= n
            and isinstance(share, bytes | bytearray)
            and len(share) == SHARE_SIZE
            and share[0] == index
            and share_commitment(ctx, envelope, index, bytes(share)).hex() == commitments[index - 1]
        )
        (valid if ok else refused).append(index)
    missing = sorted(set(range(1, n + 1)) - set(shares))
    return ShareCheck(tuple(sorted(valid)), tuple(sorted(refused)), tuple(missing))


@dataclass(frozen=True)
class OpeningResult:
    """The outcome of opening one envelope of one bid (开标结果).

    ``data_key`` is set once the rebuilt key has matched its commitment (also when the ciphertext then failed,
    so that anyone can check the failure); ``form`` is the opening form of an opened price envelope.
    """

    envelope: str
    ok: bool
    form: dict[str, Any] | None = None
    data_key: bytes | None = None
    reason: str = ""
    fault: str = ""
    refused_shares: tuple[int, ...] = ()
    used_shares: tuple[int, ...] = ()
    ciphertext_sha256: str = ""
    ciphertext_size: int = 0
    plaintext_size: int = 0
    message_zh: str = ""
    message_en: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return "opened" if self.ok else "failed"


def rebuild_key(
    manifest: Manifest,
    context: BidContext,
    envelope: str,
    shares: Mapping[int, bytes],
    *,
    final: bool = False,
) -> OpeningResult:
    """Rebuild an envelope's data key from the openers' shares and check it against the manifest's key commitment,
    without touching the ciphertext (the documents envelope, possibly gigabytes, is decrypted only when read).

    The blame is :func:`combine_and_open`'s: with fewer than k valid shares this raises :class:`NotEnoughShares`,
    or with ``final`` fails blaming the openers whose shares were refused or missing; k valid shares rebuilding a
    key that fails its commitment are the bidder's fault. On success ``data_key`` is the key (keep it secret).
    """
    check_manifest_context(manifest, context)
    checked = check_shares(manifest, envelope, shares)
    k = manifest.committee.k
    base: dict[str, Any] = {"envelope": envelope, "refused_shares": checked.refused}
    if len(checked.valid) < k:
        if not final:
            raise NotEnoughShares(
                details={"envelope": envelope, "valid": list(checked.valid), "refused": list(checked.refused), "k": k}
            )
        error = NotEnoughShares(details={"valid": list(checked.valid), "refused": list(checked.refused)})
        return _failed(base, error, opener_fault(checked.refused + checked.missing))
    used = checked.valid[:k]
    base["used_shares"] = used
    data_key = shamir.combine([bytes(shares[i]) for i in used])
    if key_commitment(context.to_bytes(), envelope, data_key).hex() != manifest.envelope(envelope).key_commitment:
        return _failed(base, KeyCommitmentMismatch(), FAULT_BIDDER)
    return OpeningResult(ok=True, data_key=data_key, **base)


def combine_and_open(
    manifest: Manifest,
    context: BidContext,
    envelope: str,
    shares: Mapping[int, bytes],
    ciphertext: Iterable[bytes],
    *,
    out: BinaryIO | None = None,
    price_fields: Collection[str] = (),
    final: bool = False,
) -> OpeningResult:
    """Rebuild an envelope's key from the openers' shares, decrypt, and say who is at fault if it fails.

    ``shares`` maps opener index to the 33-byte share that opener uploaded. With fewer than k valid shares this
    raises :class:`NotEnoughShares` — unless ``final`` (the ceremony has given up waiting), when the result is
    a failure blamed on the openers whose shares were refused or missing. The k valid shares with the lowest
    indices are combined. The price envelope's plaintext is parsed as the opening form; the documents
    plaintext is written to ``out`` if given (discard it unless the result is ok).
    """
    rebuilt = rebuild_key(manifest, context, envelope, shares, final=final)
    if not rebuilt.ok:
        return rebuilt
    assert rebuilt.data_key is not None
    data_key = rebuilt.data_key
    ctx = context.to_bytes()
    record = manifest.envelope(envelope)
    base: dict[str, Any] = {
        "envelope": envelope,
        "refused_shares": rebuilt.refused_shares,
        "used_shares": rebuilt.used_shares,
        "data_key": data_key,
    }

    decryptor = ChunkDecryptor(data_key, chunk_associated_data(ctx, envelope, record.chunk_size), record.chunk_size)
    digest = hashlib.sha256()
    size = 0
    failure: DecryptionFailed | None = None
    plaintext = bytearray()
    too_large = False

    def take(pieces: list[bytes]) -> None:
        nonlocal too_large
        for piece in pieces:
            if envelope == ENVELOPE_PRICE:
                if len(plaintext) + len(piece) > MAX_PRICE_FORM_BYTES:
                    too_large = True
                else:
                    plaintext.extend(piece)
            elif out is not None:
                out.write(piece)

    for piece in ciphertext:
        digest.update(piece)
        size += len(piece)
        if failure is None:
            try:
                take(decryptor.feed(piece))
            except DecryptionFailed as exc:
                failure = exc  # keep hashing: a wrong ciphertext is the platform's fault, not the bidder's
    if failure is None:
        try:
            take([decryptor.finish()])
        except DecryptionFailed as exc:
            failure = exc
    base.update(ciphertext_sha256=digest.hexdigest(), ciphertext_size=size, plaintext_size=decryptor.plaintext_size)
    if (size, base["ciphertext_sha256"]) != (record.ciphertext_size, record.ciphertext_sha256):
        return _failed(
            base, CiphertextMismatch(details={"expected_size": record.ciphertext_size, "size": size}), FAULT_PLATFORM
        )
    if failure is not None:
        return _failed(base, failure, FAULT_BIDDER)
    form = None
    if envelope == ENVELOPE_PRICE:
        try:
            if too_large:
                raise InvalidPriceForm("开标一览表过大", "The opening form is too large")
            form = decode_price_form(bytes(plaintext), role=manifest.role, price_fields=price_fields)
        except InvalidPriceForm as exc:
            return _failed(base, exc, FAULT_BIDDER)
    return OpeningResult(ok=True, form=form, **base)


def _failed(base: dict[str, Any], error: Any, fault: str) -> OpeningResult:
    return OpeningResult(
        ok=False,
        reason=error.code,
        fault=fault,
        message_zh=error.message_zh,
        message_en=error.message_en,
        details=dict(error.details),
        **base,
    )


def iter_plaintext(
    manifest: Manifest,
    context: BidContext | None,
    envelope: str,
    data_key: bytes,
    ciphertext: Iterable[bytes],
) -> Iterator[bytes]:
    """Decrypt with a known (published) data key, streaming; raises at the first problem.

    Checks the key against the manifest's commitment first (:class:`KeyCommitmentMismatch`), and the
    ciphertext's size and SHA-256 at the end (:class:`CiphertextMismatch`). ``context`` may be None: the
    context bytes are then rebuilt from the manifest itself (the public re-check needs nothing else).
    Pieces are released as they authenticate: discard them if the iteration raises.
    """
    if context is not None:
        check_manifest_context(manifest, context)
    ctx = context.to_bytes() if context is not None else manifest.context_bytes()
    record = manifest.envelope(envelope)
    if len(data_key) != DATA_KEY_SIZE or key_commitment(ctx, envelope, data_key).hex() != record.key_commitment:
        raise KeyCommitmentMismatch()
    decryptor = ChunkDecryptor(data_key, chunk_associated_data(ctx, envelope, record.chunk_size), record.chunk_size)
    digest = hashlib.sha256()
    size = 0
    failure: DecryptionFailed | None = None
    for piece in ciphertext:
        digest.update(piece)
        size += len(piece)
        if failure is None:
            try:
                plain = decryptor.feed(piece)
            except DecryptionFailed as exc:
                failure = exc  # read on: a ciphertext that is not the manifest's is a different finding
            else:
                yield from plain
    if (size, digest.hexdigest()) != (record.ciphertext_size, record.ciphertext_sha256):
        raise CiphertextMismatch(details={"envelope": envelope, "expected_size": record.ciphertext_size, "size": size})
    if failure is not None:
        raise failure
    last = decryptor.finish()
    if last:
        yield last


def decrypt_with_key(
    manifest: Manifest,
    context: BidContext | None,
    envelope: str,
    data_key: bytes,
    ciphertext: Iterable[bytes],
    *,
    max_size: int | None = None,
) -> bytes:
    """The whole plaintext, decrypted with a published data key (see :func:`iter_plaintext`)."""
    out = bytearray()
    for piece in iter_plaintext(manifest, context, envelope, data_key, ciphertext):
        out += piece
        if max_size is not None and len(out) > max_size:
            raise ValueError(f"plaintext larger than {max_size} bytes")
    return bytes(out)


def recheck_price(
    manifest: Manifest,
    data_key: bytes,
    ciphertext: Iterable[bytes],
    *,
    context: BidContext | None = None,
    price_fields: Collection[str] = (),
) -> dict[str, Any]:
    """The public re-check after the opening: the opening form a published price key gives (公开复核)."""
    plaintext = decrypt_with_key(manifest, context, ENVELOPE_PRICE, data_key, ciphertext, max_size=MAX_PRICE_FORM_BYTES)
    return decode_price_form(plaintext, role=manifest.role, price_fields=price_fields)
