"""Registering keys: a bidder organisation's Ed25519 signing keys and an opener's HPKE + signing keys."""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import directory, schemas
from bidding.envelope.suites import decode_public_key
from bidding.models import BidderKey, OpenerKey
from trading.audit.services import record
from trading.context import Act
from trading.errors import Conflict, InvalidInput


def decode_b64(value: str, what_zh: str, what_en: str, *, size: int | None = None) -> bytes:
    """Strict standard base64; anything else — also what is not text at all, say a number in a signed document — is
    refused as invalid input, never an internal error."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (TypeError, ValueError, binascii.Error) as exc:  # (TypeError: not text at all)
        raise InvalidInput(f"{what_zh}不是有效的 base64", f"{what_en} is not valid base64", code="bad_base64") from exc
    if size is not None and len(raw) != size:
        raise InvalidInput(f"{what_zh}长度应为 {size} 字节", f"{what_en} must be {size} bytes", code="bad_key_size")
    return raw


def ed25519_public(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def _check_certificate(pem: str, public_key: bytes) -> None:
    """The certificate must carry the same key. (Chain verification against trusted CAs is configured per
    deployment; without configured CAs a certificate is recorded, not relied upon.)"""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise InvalidInput(
            "证书不是有效的 PEM 格式", "The certificate is not valid PEM", code="bad_certificate"
        ) from exc
    cert_key = (
        cert.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if isinstance(cert.public_key(), Ed25519PublicKey)
        else b""
    )
    if cert_key != public_key:
        raise InvalidInput(
            "证书中的公钥与登记的签名公钥不一致",
            "The certificate carries a different key",
            code="certificate_key_mismatch",
        )


async def register_bidder_key(session: AsyncSession, act: Act, data: schemas.BidderKeyIn) -> BidderKey:
    actor = act.actor
    assert actor is not None and actor.organisation_id is not None
    raw = decode_b64(data.public_key, "签名公钥", "public_key", size=32)
    ed25519_public(raw)
    if data.certificate_pem:
        _check_certificate(data.certificate_pem, raw)
    row = BidderKey(
        organisation_id=actor.organisation_id,
        public_key=raw,
        label=data.label,
        certificate_pem=data.certificate_pem,
        registered_by=actor.person_id,
        created_at=act.at,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("该公钥已登记", "This key is already registered", code="duplicate_key") from exc
    await directory.log_bidder_key(session, row, "registered", act.at)
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="bidder_key.register",
        subject_type="organisation",
        subject_id=actor.organisation_id,
        details={"key_id": row.id, "public_key": data.public_key, "label": data.label},
    )
    return row


async def register_opener_key(session: AsyncSession, act: Act, data: schemas.OpenerKeyIn) -> OpenerKey:
    actor = act.actor
    assert actor is not None
    public = decode_b64(data.public_key, "开标公钥", "public_key")
    decode_public_key(data.suite, public)  # refuses a key of the wrong size or shape for the suite
    signing = decode_b64(data.signing_key, "签名公钥", "signing_key", size=32)
    ed25519_public(signing)
    # A new key replaces the previous one for the same suite (sections already published keep theirs).
    await session.execute(
        update(OpenerKey)
        .where(OpenerKey.person_id == actor.person_id, OpenerKey.suite == data.suite, OpenerKey.revoked_at.is_(None))
        .values(revoked_at=act.at)
    )
    row = OpenerKey(
        person_id=actor.person_id, suite=data.suite, public_key=public, signing_key=signing, created_at=act.at
    )
    session.add(row)
    await session.flush()
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="opener_key.register",
        subject_type="person",
        subject_id=actor.person_id,
        details={"key_id": row.id, "suite": data.suite, "public_key_sha256": hashlib.sha256(public).hexdigest()},
    )
    return row


async def active_opener_keys(session: AsyncSession, person_ids: list[int], suite: str) -> dict[int, OpenerKey]:
    rows = await session.scalars(
        select(OpenerKey).where(
            OpenerKey.person_id.in_(person_ids), OpenerKey.suite == suite, OpenerKey.revoked_at.is_(None)
        )
    )
    return {r.person_id: r for r in rows}


async def bidder_key_by_public(session: AsyncSession, organisation_id: int, public_key: bytes) -> BidderKey | None:
    return await session.scalar(
        select(BidderKey).where(
            BidderKey.organisation_id == organisation_id,
            BidderKey.public_key == public_key,
            BidderKey.revoked_at.is_(None),
        )
    )
