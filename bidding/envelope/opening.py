"""Opening an envelope (开标解密): the opener's share, the combination, the blame, disputes, and the public re-check.

Blame follows from what each party signed or sealed (docs/envelope.md §10):

* a share that does not match its commitment in the manifest is refused and blamed on the opener who supplied
  it (``opener:i``) — unless that opener has shown, by disclosing its key, that the bidder sealed it that share
  (a dispute, §10.3);
* every valid share is used: more than k valid shares that do not lie on one polynomial, k or more that rebuild
  a key failing the manifest's key commitment, a ciphertext that does not decrypt under the committed key, or an
  opening form that is not valid, are the bidder's fault (``bidder``) — provable from the bidder's own signed
  manifest. The outcome is a function of the *set* of valid shares, never of the order they arrived in;
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
    DisputeUnfounded,
    InconsistentShares,
    InvalidKey,
    InvalidPriceForm,
    KeyCommitmentMismatch,
    NotEnoughShares,
    SealedSharesMismatch,
    ShareCommitmentMismatch,
    ShareDecryptionFailed,
    ShareDisputed,
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
REASON_INCONSISTENT_SHARES = InconsistentShares.code
REASON_SHARE_DISPUTED = ShareDisputed.code


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
        # Opened, but not a share of this opener: the bidder sealed the wrong thing (the same finding as a share
        # that does not open at all, and disputed the same way, §10.3).
        raise ShareDecryptionFailed(
            "解开的密钥分片结构不正确（投标人封装有误）",
            "The opened key share has the wrong shape (sealed wrongly by the bidder)",
            details={"index": index, "length": len(share)},
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


def check_shares(
    manifest: Manifest, envelope: str, shares: Mapping[int, bytes], *, context_bytes: bytes | None = None
) -> ShareCheck:
    """Sort supplied shares into valid (match their commitment), refused (do not) and missing indices.
    *context_bytes*: the manifest's, when the caller has them (a context the manifest was checked against)."""
    ctx = manifest.context_bytes() if context_bytes is None else context_bytes
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
    disputed_shares: tuple[int, ...] = ()
    ciphertext_sha256: str = ""
    ciphertext_size: int = 0
    plaintext_size: int = 0
    message_zh: str = ""
    message_en: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """``opened``, ``failed``, or ``disputed`` (too few shares and a founded dispute: the supervisors rule)."""
        if self.ok:
            return "opened"
        return "disputed" if self.reason == REASON_SHARE_DISPUTED else "failed"


def checked_context_bytes(manifest: Manifest, context: BidContext) -> bytes:
    """The context's bytes, once the manifest is checked to have been sealed for exactly this context
    (:func:`check_manifest_context`): the manifest's own. Give them to :func:`rebuild_key` and
    :func:`combine_and_open` as *checked_context* to open both envelopes of a bid on one check."""
    check_manifest_context(manifest, context)
    return context.to_bytes()


def rebuild_key(
    manifest: Manifest,
    context: BidContext,
    envelope: str,
    shares: Mapping[int, bytes],
    *,
    final: bool = False,
    disputed: Collection[int] = (),
    checked_context: bytes | None = None,
) -> OpeningResult:
    """Rebuild an envelope's data key from the openers' shares and check it against the manifest's key commitment,
    without touching the ciphertext (the documents envelope, possibly gigabytes, is decrypted only when read).

    Give *every* share uploaded in the ceremony's window: all the valid ones are used. With more than k, the
    polynomials through the k lowest-indexed are rebuilt and every other valid share must lie on them, else the
    bidder dealt inconsistent shares (:class:`InconsistentShares`, fault ``bidder``) — whichever shares arrived
    first. With fewer than k valid shares this raises :class:`NotEnoughShares`, or with ``final`` fails blaming
    the openers whose shares were refused or missing — or, when one of the openers in ``disputed`` has shown that
    its share was sealed wrongly (:func:`check_dispute`), ends ``disputed`` for the supervisors to rule on. A key
    that fails its commitment is the bidder's fault. On success ``data_key`` is the key (keep it secret).
    *checked_context*: :func:`checked_context_bytes`, when the caller has them already (an opening opens both
    envelopes of each of thousands of bids).
    """
    ctx = checked_context if checked_context is not None else checked_context_bytes(manifest, context)
    checked = check_shares(manifest, envelope, shares, context_bytes=ctx)
    k = manifest.committee.k
    disputes = tuple(sorted(set(disputed) - set(checked.valid)))
    base: dict[str, Any] = {"envelope": envelope, "refused_shares": checked.refused, "disputed_shares": disputes}
    if len(checked.valid) < k:
        details = {"valid": list(checked.valid), "refused": list(checked.refused), "k": k}
        if not final:
            raise NotEnoughShares(details={"envelope": envelope, **details})
        absent = sorted(set(checked.refused + checked.missing) - set(disputes))
        if disputes:
            return _failed(base, ShareDisputed(details={**details, "disputed": list(disputes), "absent": absent}), "")
        return _failed(base, NotEnoughShares(details=details), opener_fault(absent))
    used = checked.valid
    base["used_shares"] = used
    ordered = [bytes(shares[i]) for i in used]  # ascending index: the base polynomial is the same for one set
    off = shamir.off_polynomial(ordered, k)
    if off:
        return _failed(base, InconsistentShares(details={"basis": list(used[:k]), "off_polynomial": off}), FAULT_BIDDER)
    data_key = shamir.combine(ordered[:k])
    if key_commitment(ctx, envelope, data_key).hex() != manifest.envelope(envelope).key_commitment:
        return _failed(base, KeyCommitmentMismatch(), FAULT_BIDDER)
    return OpeningResult(ok=True, data_key=data_key, **base)


def check_dispute(
    manifest: Manifest,
    context: BidContext,
    envelope: str,
    index: int,
    private_key: OpenerPrivateKey,
    sealed_share: bytes,
) -> str:
    """Check an opener's dispute (§10.3): that the share the bidder sealed to opener ``index`` is bad.

    The opener discloses its private key for the section. The key must be opener ``index``'s
    (:class:`InvalidKey`) and the sealed share the one the manifest names (:class:`SealedSharesMismatch`); then
    the sealed share is opened exactly as the opener would. Returns the finding — ``envelope.share_undecryptable``
    (does not open, or opens to something that is not opener ``index``'s 33-byte share) or
    ``envelope.share_mismatch`` (opens to a share failing its commitment); raises :class:`DisputeUnfounded` when
    it opens to a share that matches (the opener should upload that share). Anyone can repeat this check from the
    record: the manifest, the sealed share and the disclosed key are all in it.
    """
    check_manifest_context(manifest, context)
    record = manifest.envelope(envelope)
    if not 1 <= index <= manifest.committee.n:
        raise InvalidKey(f"开标人序号 {index} 不存在", f"There is no opener {index}", details={"index": index})
    if hashlib.sha256(sealed_share).hexdigest() != record.sealed_shares_sha256[index - 1]:
        raise SealedSharesMismatch(details={"envelope": envelope, "index": index})
    try:
        open_share(context.suite, private_key, context, envelope, index, sealed_share, manifest=manifest)
    except ShareDecryptionFailed:
        return ShareDecryptionFailed.code
    except ShareCommitmentMismatch:
        return ShareCommitmentMismatch.code
    raise DisputeUnfounded(details={"envelope": envelope, "index": index})


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
    disputed: Collection[int] = (),
    checked_context: bytes | None = None,
) -> OpeningResult:
    """Rebuild an envelope's key from the openers' shares, decrypt, and say who is at fault if it fails.

    ``shares`` maps opener index to the 33-byte share that opener uploaded. With fewer than k valid shares this
    raises :class:`NotEnoughShares` — unless ``final`` (the ceremony's window has closed), when the result is
    a failure blamed on the openers whose shares were refused or missing, or ``disputed`` (see
    :func:`rebuild_key`, which also checks that all valid shares lie on one polynomial). The price envelope's
    plaintext is parsed as the opening form; the documents
    plaintext is written to ``out`` if given (discard it unless the result is ok).
    """
    ctx = checked_context if checked_context is not None else checked_context_bytes(manifest, context)
    rebuilt = rebuild_key(manifest, context, envelope, shares, final=final, disputed=disputed, checked_context=ctx)
    if not rebuilt.ok:
        return rebuilt
    assert rebuilt.data_key is not None
    data_key = rebuilt.data_key
    record = manifest.envelope(envelope)
    base: dict[str, Any] = {
        "envelope": envelope,
        "refused_shares": rebuilt.refused_shares,
        "used_shares": rebuilt.used_shares,
        "disputed_shares": rebuilt.disputed_shares,
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
