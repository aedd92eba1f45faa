"""The manifest (投标文件清单): the signed canonical-JSON document that describes a sealed bid.

It names the format, the suite, the context, the committee, the bidder's signing key and, for each envelope, the
chunk size, the ciphertext's size and SHA-256, the data-key commitment, the share commitments and the SHA-256 of
each sealed share. The bidder signs its exact bytes with Ed25519; those bytes are what the server stores, hashes
into the transparency log and hands back at the opening — they are never re-serialised.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from trading.validation_zh import explain

from .aead import TAG_SIZE, check_chunk_size, plaintext_size
from .context import (
    ENVELOPE_PRICE,
    ENVELOPES,
    FORMAT,
    MAX_OPENERS,
    MAX_TEXT_FIELD,
    ROLES,
    TEXT_FIELD,
    BidContext,
    check_envelope_name,
    context_bytes_from_fields,
)
from .encoding import MAX_JSON_INT, b64decode, b64encode, canonical_json, hex_decode, parse_canonical_json
from .errors import Malformed, UnsupportedFormat
from .priceform import MAX_PRICE_FORM_BYTES
from .shamir import MAX_SHARES
from .suites import suite_info

MAX_MANIFEST_BYTES = 64 * 1024
MAX_SHARES_JSON_BYTES = 1024 * 1024
SHARE_SIZE = 33  # x ‖ 32 bytes of y
_SEALED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
#: The largest price ciphertext a valid opening form can give (with the smallest chunk size: a tag per byte).
MAX_PRICE_CIPHERTEXT = MAX_PRICE_FORM_BYTES * (1 + TAG_SIZE)


class EnvelopeRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One envelope in the manifest; hashes are lower-case hex."""

    chunk_size: int
    ciphertext_size: int
    ciphertext_sha256: str
    key_commitment: str
    share_commitments: tuple[str, ...]
    sealed_shares_sha256: tuple[str, ...]


class Committee(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    k: int
    n: int
    opener_keys_sha256: tuple[str, ...]


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The parsed manifest. Build it with :func:`build_manifest`; read it with :func:`parse_manifest`."""

    format: str
    suite: str
    role: str
    section_id: int
    trade_code: str
    section_code: str
    bidder_credit_code: str
    committee: Committee
    signing_key: str
    sealed_at: str
    nonce: str
    #: ``{"documents": …, "price": …}`` — exactly these two keys.
    envelopes: dict[str, EnvelopeRecord]

    def envelope(self, name: str) -> EnvelopeRecord:
        return self.envelopes[check_envelope_name(name)]

    def context_bytes(self) -> bytes:
        """The context bytes this manifest was sealed under, rebuilt from its own fields."""
        return context_bytes_from_fields(
            role=self.role,
            suite=self.suite,
            section_id=self.section_id,
            trade_code=self.trade_code,
            section_code=self.section_code,
            bidder_credit_code=self.bidder_credit_code,
            k=self.committee.k,
            n=self.committee.n,
            opener_key_hashes=[bytes.fromhex(h) for h in self.committee.opener_keys_sha256],
        )

    def signing_public_key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(b64decode(self.signing_key, "signing_key"))

    def to_bytes(self) -> bytes:
        return canonical_json(msgspec.to_builtins(self))


def manifest_hash(manifest_bytes: bytes) -> str:
    """SHA-256 of the exact manifest bytes, lower-case hex: the bid's name in receipts and in the log."""
    return hashlib.sha256(manifest_bytes).hexdigest()


def build_manifest(
    context: BidContext,
    *,
    signing_key: Ed25519PublicKey,
    sealed_at: str,
    nonce: bytes,
    envelopes: Mapping[str, EnvelopeRecord],
) -> Manifest:
    manifest = Manifest(
        format=FORMAT,
        suite=context.suite,
        role=context.role,
        section_id=context.section_id,
        trade_code=context.trade_code,
        section_code=context.section_code,
        bidder_credit_code=context.bidder_credit_code,
        committee=Committee(
            k=context.k, n=context.n, opener_keys_sha256=tuple(h.hex() for h in context.opener_key_hashes())
        ),
        signing_key=b64encode(signing_key.public_bytes_raw()),
        sealed_at=sealed_at,
        nonce=b64encode(nonce),
        envelopes={name: envelopes[name] for name in ENVELOPES},
    )
    validate_manifest(manifest)
    return manifest


def _malformed(field: str, zh: str, en: str) -> Malformed:
    return Malformed(f"清单字段 {field}：{zh}", f"Manifest field {field}: {en}", details={"field": field})


def validate_manifest(manifest: Manifest) -> Manifest:
    """Every field within the v1 rules (types are already checked by msgspec); raises :class:`Malformed`."""
    if manifest.format != FORMAT:
        raise UnsupportedFormat(
            f"不支持的格式：{manifest.format!r}",
            f"Unsupported format {manifest.format!r}",
            details={"format": manifest.format},
        )
    suite_info(manifest.suite)
    if manifest.role not in ROLES:
        raise _malformed("role", "未知的角色", "unknown role")
    committee = manifest.committee
    if not (1 <= committee.k <= committee.n <= min(MAX_OPENERS, MAX_SHARES)):
        raise _malformed("committee", "k、n 不合理", "k and n out of range")
    if not 0 <= manifest.section_id <= MAX_JSON_INT:
        raise _malformed("section_id", "超出范围", "out of range")
    for name in ("trade_code", "section_code", "bidder_credit_code"):
        value = getattr(manifest, name)
        if len(value) > MAX_TEXT_FIELD or not TEXT_FIELD.fullmatch(value):
            raise _malformed(name, "为空、过长或含控制字符", "empty, too long or has a control character")
    if len(committee.opener_keys_sha256) != committee.n:
        raise _malformed("committee.opener_keys_sha256", "个数应为 n", "must have n entries")
    for digest in committee.opener_keys_sha256:
        hex_decode(digest, 32, "committee.opener_keys_sha256")
    if len(b64decode(manifest.signing_key, "signing_key")) != 32:
        raise _malformed("signing_key", "应为 32 字节的 Ed25519 公钥", "must be a 32-byte Ed25519 public key")
    if len(b64decode(manifest.nonce, "nonce")) != 16:
        raise _malformed("nonce", "应为 16 字节", "must be 16 bytes")
    if not _SEALED_AT.fullmatch(manifest.sealed_at):
        raise _malformed("sealed_at", "应为 UTC 时间 YYYY-MM-DDTHH:MM:SSZ", "must be UTC YYYY-MM-DDTHH:MM:SSZ")
    if set(manifest.envelopes) != set(ENVELOPES):
        raise _malformed("envelopes", "应只有 price 和 documents", "must hold exactly price and documents")
    for name in ENVELOPES:
        _check_envelope_record(name, manifest.envelopes[name], committee.n)
    return manifest


def _check_envelope_record(name: str, record: EnvelopeRecord, n: int) -> None:
    field = f"envelopes.{name}"
    try:
        check_chunk_size(record.chunk_size)
    except Malformed:
        raise _malformed(f"{field}.chunk_size", "超出范围", "out of range") from None
    if record.ciphertext_size < TAG_SIZE or plaintext_size(record.ciphertext_size, record.chunk_size) is None:
        raise _malformed(f"{field}.ciphertext_size", "与分块大小不符", "impossible for the chunk size")
    if name == ENVELOPE_PRICE and record.ciphertext_size > MAX_PRICE_CIPHERTEXT:
        raise _malformed(f"{field}.ciphertext_size", "报价信封过大", "the price envelope is too large")
    hex_decode(record.ciphertext_sha256, 32, f"{field}.ciphertext_sha256")
    hex_decode(record.key_commitment, 32, f"{field}.key_commitment")
    for list_name in ("share_commitments", "sealed_shares_sha256"):
        values = getattr(record, list_name)
        if len(values) != n:
            raise _malformed(f"{field}.{list_name}", "个数应为 n", "must have n entries")
        for value in values:
            hex_decode(value, 32, f"{field}.{list_name}")


def parse_manifest(manifest_bytes: bytes) -> Manifest:
    """Parse and check manifest bytes: canonical JSON, exactly the v1 fields, every value in range."""
    if len(manifest_bytes) > MAX_MANIFEST_BYTES:
        raise Malformed("清单过大", f"The manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    value = parse_canonical_json(manifest_bytes, "manifest.json")
    if isinstance(value, dict) and value.get("format") != FORMAT and isinstance(value.get("format"), str):
        raise UnsupportedFormat(f"不支持的格式：{value['format']!r}", f"Unsupported format {value['format']!r}")
    try:
        manifest = msgspec.convert(value, Manifest, strict=True)
    except msgspec.ValidationError as exc:
        raise Malformed(f"清单内容不正确：{explain(str(exc))[0]}", f"The manifest is not valid: {exc}") from None
    return validate_manifest(manifest)


def read_stored_manifest(manifest_bytes: bytes) -> Manifest:
    """A manifest the platform accepted (:func:`parse_manifest` at submission), read back from its own store:
    decoded straight into the struct, its types checked, without repeating the canonical-form parse or the
    checks of every value's range (:func:`validate_manifest`) that accepting it made — its bytes are the ones
    accepted then, named by their hash in the log. An opening reads thousands, and those checks were a fifth of
    its arithmetic. Anything that does not decode this way, or is not in canonical form, goes through
    :func:`parse_manifest`, for the refusal it would have met."""
    try:
        manifest = msgspec.json.decode(manifest_bytes, type=Manifest, strict=True)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return parse_manifest(manifest_bytes)
    # Still canonical: the fields' values hold no character that the two encoders write differently.
    if msgspec.json.encode(manifest, order="sorted") != manifest_bytes:
        return parse_manifest(manifest_bytes)
    return manifest


# --- shares.json ----------------------------------------------------------------------------------------------


def encode_sealed_shares(sealed_shares: Mapping[str, Sequence[bytes]]) -> bytes:
    """``shares.json``: ``{"documents": [base64, …n], "price": [base64, …n]}`` as canonical JSON."""
    return canonical_json({name: [b64encode(s) for s in sealed_shares[name]] for name in ENVELOPES})


def decode_sealed_shares(data: bytes) -> dict[str, tuple[bytes, ...]]:
    if len(data) > MAX_SHARES_JSON_BYTES:
        raise Malformed("shares.json 过大", f"shares.json is larger than {MAX_SHARES_JSON_BYTES} bytes")
    value = parse_canonical_json(data, "shares.json")
    if not (isinstance(value, dict) and set(value) == set(ENVELOPES)):
        raise Malformed(
            "shares.json 应只有 price 和 documents 两项", "shares.json must hold exactly price and documents"
        )
    result = {}
    for name in ENVELOPES:
        items = value[name]
        if not (isinstance(items, list) and all(isinstance(item, str) for item in items)):
            raise Malformed("shares.json 的值应为 base64 列表", "shares.json values must be lists of base64 strings")
        result[name] = tuple(b64decode(item, f"shares.json {name}") for item in items)
    return result
