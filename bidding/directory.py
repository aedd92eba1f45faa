"""The public key directory: whose key signed a bid or a reserve price, checkable by anyone after the opening.

A bidder's signing key is logged when it is registered and when it is revoked, as the key's hash and a
salted commitment to its owner (docs/log.md §7) — registering a key says nothing about where the owner
will bid. Once a section the key signed a bid in has opened, the directory shows the key, its owner
(credit code and name as registered), its validity and the salt, so a verifier can recompute the logged
commitment and know the key was the owner's before the deadline and not swapped after. A trading
centre's reserve-price keys are public bodies' keys: logged in the clear and listed at once.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import schemas
from bidding.models import Bid, BidderKey, CentreKey
from trading.accounts.models import Organisation, TradingCentre
from trading.audit.controllers import opened_section_ids
from trading.audit.services import record
from trading.canonical import canonical_bytes
from trading.context import Act
from trading.errors import Conflict, NotFound
from trading.log import entries as log_entries
from trading.log import services as log
from trading.projects.models import Section

OWNER_LABEL = b"trading-bid/v1 key-owner\x00"


def key_sha256(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()


def owner_details(*, credit_code: str, organisation: str, public_key: bytes, registered_at: datetime) -> dict[str, Any]:
    return {
        "credit_code": credit_code,
        "organisation": organisation,
        "key_sha256": key_sha256(public_key),
        "registered_at": log_entries.instant(registered_at),
    }


def owner_commitment(details: dict[str, Any], salt: bytes) -> str:
    """SHA-256(label ‖ 32-byte salt ‖ canonical JSON of the details), as for bid events."""
    return hashlib.sha256(OWNER_LABEL + salt + canonical_bytes(details)).hexdigest()


async def _details(session: AsyncSession, key: BidderKey) -> dict[str, Any]:
    org = await session.get(Organisation, key.organisation_id)
    assert org is not None
    return owner_details(
        credit_code=org.credit_code, organisation=org.name, public_key=key.public_key, registered_at=key.created_at
    )


async def log_bidder_key(session: AsyncSession, key: BidderKey, event: str, at: datetime) -> None:
    """Log a bidder key's registration (making its owner salt) or revocation, in the caller's transaction."""
    if key.owner_salt is None:
        key.owner_salt = os.urandom(32)
    commitment = owner_commitment(await _details(session, key), key.owner_salt)
    await log.append(
        session,
        event_key=f"bidder_key:{key.id}:{event}",
        kind="signing_key",
        document=log_entries.signing_key(
            event=event, key_sha256=key_sha256(key.public_key), owner_commitment=commitment, at=at
        ),
        at=at,
    )


async def revoke_bidder_key(session: AsyncSession, act: Act, key_id: int) -> BidderKey:
    actor = act.actor
    assert actor is not None
    key = await session.get(BidderKey, key_id)
    if key is None or key.organisation_id != actor.organisation_id:
        raise NotFound("签名公钥不存在", "No such signing key", code="key_not_found")
    if key.revoked_at is not None:
        raise Conflict("该公钥已经撤销", "This key is already revoked", code="key_revoked")
    key.revoked_at = act.at
    await log_bidder_key(session, key, "revoked", act.at)
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="bidder_key.revoke",
        subject_type="organisation",
        subject_id=key.organisation_id,
        details={"key_id": key.id},
    )
    return key


async def log_centre_key(session: AsyncSession, key: CentreKey, event: str, at: datetime) -> None:
    centre = await session.get(TradingCentre, key.centre_id)
    assert centre is not None
    await log.append(
        session,
        event_key=f"centre_key:{key.id}:{event}",
        kind="centre_key",
        document=log_entries.centre_key(
            event=event, centre_code=centre.code, public_key=base64.b64encode(key.public_key).decode(), at=at
        ),
        at=at,
    )


async def revoke_centre_key(session: AsyncSession, act: Act, key_id: int) -> CentreKey:
    actor = act.actor
    assert actor is not None
    key = await session.get(CentreKey, key_id)
    if key is None or (not actor.has_role("admin") and key.centre_id != actor.centre_id):
        raise NotFound("签名公钥不存在", "No such signing key", code="key_not_found")
    if key.revoked_at is not None:
        raise Conflict("该公钥已经撤销", "This key is already revoked", code="key_revoked")
    key.revoked_at = act.at
    await log_centre_key(session, key, "revoked", act.at)
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="centre_key.revoke",
        subject_type="centre",
        subject_id=key.centre_id,
        details={"key_id": key.id},
    )
    return key


# --- reading -----------------------------------------------------------------------------------------------


async def _bidder_entry(session: AsyncSession, key: BidderKey, sections: list[int]) -> schemas.DirectoryKey:
    details = await _details(session, key)
    return schemas.DirectoryKey(
        key_sha256=details["key_sha256"],
        public_key=base64.b64encode(key.public_key).decode(),
        credit_code=details["credit_code"],
        organisation=details["organisation"],
        registered_at=key.created_at,
        revoked_at=key.revoked_at,
        owner=details,
        owner_salt=base64.b64encode(key.owner_salt).decode() if key.owner_salt else None,
        opened_sections=sections,
    )


async def bidder_keys(session: AsyncSession, public_key: bytes | None = None) -> list[schemas.DirectoryKey]:
    """Every bidder key that has signed a bid in an opened section (or just *public_key*, if it has). A key
    whose sections are all still sealed is not listed: asking about it reveals nothing."""
    query = (
        select(BidderKey, Section.id)
        .join(Bid, Bid.signing_key_id == BidderKey.id)
        .join(Section, Section.id == Bid.section_id)
        .where(Section.id.in_(opened_section_ids()))
        .order_by(BidderKey.id, Section.id)
    )
    if public_key is not None:
        query = query.where(BidderKey.public_key == public_key)
    rows = await session.execute(query)
    grouped: dict[int, tuple[BidderKey, list[int]]] = {}
    for key, section_id in rows:
        entry = grouped.setdefault(key.id, (key, []))
        if section_id not in entry[1]:
            entry[1].append(section_id)
    return [await _bidder_entry(session, key, sections) for key, sections in grouped.values()]


async def centre_keys(session: AsyncSession) -> list[schemas.DirectoryCentreKey]:
    """Every trading centre's reserve-price keys, with the sections each sealed a price for once opened."""
    centres = {c.id: c for c in await session.scalars(select(TradingCentre))}
    out = []
    for key in await session.scalars(select(CentreKey).order_by(CentreKey.id)):
        centre = centres[key.centre_id]
        out.append(
            schemas.DirectoryCentreKey(
                key_sha256=key_sha256(key.public_key),
                public_key=base64.b64encode(key.public_key).decode(),
                centre_code=centre.code,
                centre=centre.name,
                registered_at=key.created_at,
                revoked_at=key.revoked_at,
            )
        )
    return out
