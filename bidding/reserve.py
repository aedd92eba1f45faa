"""Reserve and control prices (标底 / 最高投标限价), sealed by trading-centre staff and opened with the bids.

A tenderer may set a reserve price (标底, 条例 §27) or a ceiling on bid prices (最高投标限价). Before the bid
deadline a staff member of the section's centre seals it on their own machine, in the bid format with role
``reserve`` (docs/envelope.md §11): the context names the section and the tenderer's credit code, the key
is split among the same opening committee, and the manifest is signed with a centre key registered here.
The server keeps only what it keeps of a bid — the signed manifest, the sealed shares, the ciphertexts in
the blob store — and logs the submission as a salted commitment under the section's tag, so nobody learns
before the opening even that a sealed price exists. At the opening the openers' shares rebuild its key too;
the opening record publishes the figure and the key, and `trading verify` re-checks it like any bid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import directory, events, schemas
from bidding.committees import SectionCommittee, require_staff_of, section_committee
from bidding.envelope import (
    ROLE_RESERVE,
    BidContext,
    EnvelopeError,
    check_ciphertext,
    check_submission,
    manifest_hash,
)
from bidding.errors import BadEnvelope
from bidding.keys import decode_b64, ed25519_public
from bidding.models import CentreKey, ReservePrice
from bidding.submission import (
    ENVELOPES,
    RESERVE_PARTY,
    _ensure_open,
    _signing_key_of,
    decode_head,
    lock_open_section,
)
from trading.accounts.models import Organisation
from trading.accounts.services import require_staff
from trading.audit.services import record
from trading.blobs import BlobStore
from trading.context import Act, Actor
from trading.errors import Conflict, Forbidden, InvalidInput
from trading.log import entries as log_entries

KINDS: dict[str, tuple[str, str]] = {
    "reserve": ("标底", "reserve price"),
    "ceiling": ("最高投标限价", "control price (ceiling)"),
}
#: A reserve price's ciphertexts travel in one JSON request: the opening form and (usually) an empty archive.
MAX_CIPHERTEXT_BYTES = 256 * 1024


def _staff(act: Act) -> Actor:
    return require_staff(act, "密封标底", "seal reserve prices")


# --- centre keys -------------------------------------------------------------------------------------------


async def register_centre_key(session: AsyncSession, act: Act, data: schemas.CentreKeyIn) -> CentreKey:
    actor = _staff(act)
    if actor.centre_id is None:
        raise Forbidden("您不属于任何交易中心", "You do not belong to a trading centre", code="no_centre")
    raw = decode_b64(data.public_key, "签名公钥", "public_key", size=32)
    ed25519_public(raw)
    if await session.scalar(select(CentreKey.id).where(CentreKey.public_key == raw)) is not None:
        raise Conflict("该公钥已经登记", "This key is already registered", code="duplicate_key")
    key = CentreKey(
        centre_id=actor.centre_id, public_key=raw, label=data.label, registered_by=actor.person_id, created_at=act.at
    )
    session.add(key)
    await session.flush()
    await directory.log_centre_key(session, key, "registered", act.at)
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="centre_key.register",
        subject_type="centre",
        subject_id=actor.centre_id,
        details={"key_id": key.id, "public_key_sha256": hashlib.sha256(raw).hexdigest()},
    )
    return key


async def centre_keys(session: AsyncSession, act: Act) -> list[CentreKey]:
    actor = _staff(act)
    return list(
        await session.scalars(select(CentreKey).where(CentreKey.centre_id == actor.centre_id).order_by(CentreKey.id))
    )


# --- sealing context and submission ---------------------------------------------------------------------


async def tenderer_credit_code(session: AsyncSession, sc: SectionCommittee) -> str:
    tenderer = await session.get(Organisation, sc.project.tenderer_id)
    assert tenderer is not None
    return tenderer.credit_code


async def reserve_context(session: AsyncSession, sc: SectionCommittee) -> BidContext:
    assert sc.committee is not None
    return BidContext(
        section_id=sc.section.id,
        trade_code=sc.project.trade_code,
        section_code=sc.section.code,
        bidder_credit_code=await tenderer_credit_code(session, sc),
        suite=sc.committee["suite"],
        k=sc.committee["k"],
        n=sc.committee["n"],
        opener_keys=sc.public_keys,
        role=ROLE_RESERVE,
    )


def _decode_ciphertexts(data: schemas.ReserveIn) -> dict[str, bytes]:
    out = {}
    for envelope in ENVELOPES:
        value = data.ciphertexts.get(envelope)
        if value is None:
            raise InvalidInput(
                f"缺少「{envelope}」密文", f"The {envelope} ciphertext is missing", code="missing_ciphertext"
            )
        try:
            out[envelope] = base64.b64decode(value, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise InvalidInput("密文不是有效的 base64", "A ciphertext is not valid base64", code="bad_base64") from exc
        if len(out[envelope]) > MAX_CIPHERTEXT_BYTES:
            raise InvalidInput(
                f"密文过大（上限 {MAX_CIPHERTEXT_BYTES} 字节）：标底只含开标一览表",
                f"The ciphertext is too large (limit {MAX_CIPHERTEXT_BYTES} bytes): a reserve price holds only a form",
                code="too_large",
            )
    return out


async def submit(
    session: AsyncSession, act: Act, section_id: int, data: schemas.ReserveIn, blobs: BlobStore
) -> ReservePrice:
    """Accept a sealed reserve or control price before the deadline (replacing an earlier one). The caller
    commits. A replayed request returns the same row."""
    actor = _staff(act)
    if data.kind not in KINDS:
        raise InvalidInput(
            "类型须为 reserve（标底）或 ceiling（最高投标限价）", "kind must be reserve or ceiling", code="bad_kind"
        )
    sc = await section_committee(session, section_id)
    require_staff_of(actor, sc)
    _ensure_open(sc, act.at)
    manifest, signature, sealed = decode_head(data)
    ciphertexts = _decode_ciphertexts(data)
    digest = manifest_hash(manifest)
    existing = await session.scalar(select(ReservePrice).where(ReservePrice.manifest_sha256 == digest))
    if existing is not None:
        if existing.section_id != section_id:
            raise Conflict("该清单属于另一标段", "This manifest belongs to another section", code="other_section")
        return existing
    signing_key = _signing_key_of(manifest)
    key_row = await session.scalar(
        select(CentreKey).where(
            CentreKey.public_key == signing_key,
            CentreKey.centre_id == sc.project.centre_id,
            CentreKey.revoked_at.is_(None),
        )
    )
    if key_row is None:
        raise Forbidden(
            "清单的签名公钥未登记为本交易中心的密钥（请先 bidding reserve register）",
            "The manifest is signed with a key not registered to this trading centre (run bidding reserve register)",
            code="unregistered_key",
        )
    context = await reserve_context(session, sc)
    parsed = check_submission(manifest, signature, sealed, context, ed25519_public(signing_key))
    for envelope in ENVELOPES:
        body = ciphertexts[envelope]
        try:
            check_ciphertext(parsed, envelope, hashlib.sha256(body).hexdigest(), len(body))
        except EnvelopeError as exc:
            raise BadEnvelope(
                f"「{envelope}」密文与签名清单不符",
                f"The {envelope} ciphertext does not match the signed manifest",
                code="ciphertext_mismatch",
            ) from exc
    await lock_open_section(
        session,
        section_id,
        act.at,
        ("此标段当前不接受标底", "This section takes no reserve price now"),
        party=RESERVE_PARTY,
    )
    stored = {}
    for envelope in ENVELOPES:
        blob = await blobs.put_stream(_one(ciphertexts[envelope]), max_bytes=MAX_CIPHERTEXT_BYTES)
        stored[envelope] = {"sha256": blob.sha256, "size": blob.size}
    previous = await session.scalar(
        select(ReservePrice).where(ReservePrice.section_id == section_id, ReservePrice.state == "active")
    )
    if previous is not None:
        previous.state, previous.ended_at = "replaced", act.at
    row = ReservePrice(
        section_id=section_id,
        kind=data.kind,
        person_id=actor.person_id,
        signing_key_id=key_row.id,
        manifest=manifest,
        signature=signature,
        manifest_sha256=digest,
        sealed_shares={e: [base64.b64encode(s).decode() for s in sealed[e]] for e in ENVELOPES},
        blobs=stored,
        state="active",
        received_at=act.at,
        event_details={
            "event": "reserve_submission",
            "section_id": section_id,
            "kind": data.kind,
            "sealer_credit_code": context.bidder_credit_code,
            "manifest_sha256": digest,
            "at": log_entries.instant(act.at),
            **({"replaces": previous.manifest_sha256} if previous is not None else {}),
        },
        event_salt=events.new_salt(),
    )
    session.add(row)
    await session.flush()
    from trading.log import services as log

    await log.append(
        session,
        event_key=f"reserve:{digest}",
        kind="bid_event",
        document=events.log_document(row.event_details, row.event_salt, await events.section_key(session, section_id)),
        at=act.at,
    )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="reserve.submit",
        subject_type="section",
        subject_id=section_id,
        details={"reserve_id": row.id, "kind": data.kind},
    )
    return row


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def for_section(session: AsyncSession, act: Act, section_id: int) -> list[ReservePrice]:
    """Staff of the section's centre (and supervisors): what has been sealed, never the figure."""
    actor = act.actor
    if actor is None or not any(actor.has_role(r) for r in ("staff", "admin", "supervisor")):
        raise Forbidden(
            "仅交易中心工作人员或监督人员可以查看", "Only staff or supervisors may see this", code="forbidden"
        )
    sc = await section_committee(session, section_id)
    require_staff_of(actor, sc)  # staff and supervisors of the section's own centre; the admin anywhere
    return list(
        await session.scalars(
            select(ReservePrice).where(ReservePrice.section_id == section_id).order_by(ReservePrice.id)
        )
    )


def read(row: ReservePrice) -> schemas.ReserveRead:
    return schemas.ReserveRead(
        id=row.id,
        section_id=row.section_id,
        kind=row.kind,
        kind_zh=KINDS[row.kind][0],
        manifest_sha256=row.manifest_sha256,
        state=row.state,
        received_at=row.received_at,
        outcome=row.outcome,
    )


# --- at the opening ----------------------------------------------------------------------------------------


async def active(session: AsyncSession, section_id: int) -> ReservePrice | None:
    return await session.scalar(
        select(ReservePrice).where(ReservePrice.section_id == section_id, ReservePrice.state == "active")
    )


def record_entry(row: ReservePrice) -> dict[str, Any]:
    """The reserve price as the opening record publishes it (the same checkable shape as a bid)."""
    entry: dict[str, Any] = {
        "kind": row.kind,
        "kind_zh": KINDS[row.kind][0],
        "sealer_credit_code": row.event_details.get("sealer_credit_code"),
        "manifest_sha256": row.manifest_sha256,
        "received_at": log_entries.instant(row.received_at),
        "state": row.state,
        "outcome": row.outcome or row.state,
        "ciphertexts": {e: row.blobs[e] for e in ENVELOPES},
        "event": {"details": row.event_details, "salt": base64.b64encode(row.event_salt).decode()},
        "signature": base64.b64encode(row.signature).decode(),
    }
    if row.outcome is not None:
        entry["form"] = row.form
        entry["price_key"] = base64.b64encode(row.data_key).decode() if row.data_key else None
        entry["reason"] = row.reason
        entry["fault"] = row.fault
    return entry
