"""Withdrawing a bid before the deadline (撤回), signed by the key that signed the bid."""

from __future__ import annotations

import base64
import json

from cryptography.exceptions import InvalidSignature
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import events, schemas
from bidding.errors import BadEnvelope
from bidding.keys import decode_b64, ed25519_public
from bidding.models import Bid, BidderKey
from bidding.submission import _bidder, lock_open_section
from trading.accounts.models import Organisation
from trading.audit.services import record
from trading.canonical import canonical_bytes
from trading.context import Act
from trading.errors import NotFound
from trading.log import entries as log_entries
from trading.log import services as log

NOT_TAKING_WITHDRAWALS = ("此标段当前不接受撤回", "This section no longer accepts withdrawals")


def withdrawal_document(section_id: int, manifest_sha256: str) -> bytes:
    """The exact bytes a bidder signs to withdraw a bid."""
    return canonical_bytes(
        {
            "kind": "bid_withdrawal",
            "format": "trading-bid/v1",
            "section_id": section_id,
            "manifest_sha256": manifest_sha256,
        }
    )


async def withdraw(session: AsyncSession, act: Act, section_id: int, data: schemas.WithdrawalIn) -> Bid:
    actor = _bidder(act)
    # The section's lock first (refused after the deadline, whatever else is wrong), then the bid it holds: a
    # replacement of this bidder's own committed while the withdrawal came in is what the read sees — it took
    # the same lock — so a withdrawal signed for the bid it replaced is refused, not applied to a replaced bid.
    await lock_open_section(session, section_id, act.at, NOT_TAKING_WITHDRAWALS, party=actor.organisation_id)
    bid = await session.scalar(
        select(Bid).where(
            Bid.section_id == section_id, Bid.organisation_id == actor.organisation_id, Bid.state == "active"
        )
    )
    if bid is None:
        raise NotFound(
            "贵单位在此标段没有有效投标", "Your organisation has no active bid in this section", code="no_bid"
        )
    document = decode_b64(data.withdrawal, "撤回文件", "withdrawal")
    signature = decode_b64(data.signature, "签名", "signature", size=64)
    if document != withdrawal_document(section_id, bid.manifest_sha256):
        try:
            claimed = json.loads(document)
        except ValueError:
            claimed = {}
        raise BadEnvelope(
            "撤回文件与此投标不符",
            "The withdrawal does not name this bid",
            code="bad_withdrawal",
            details={
                "expected_manifest_sha256": bid.manifest_sha256,
                "got": claimed.get("manifest_sha256") if isinstance(claimed, dict) else None,
            },
        )
    key = await session.get(BidderKey, bid.signing_key_id)
    assert key is not None
    try:
        ed25519_public(key.public_key).verify(signature, document)
    except InvalidSignature as exc:
        raise BadEnvelope(
            "撤回文件的签名无效（须由签署投标的同一密钥签名）",
            "The withdrawal's signature is not valid (sign it with the key that signed the bid)",
            code="bad_signature",
        ) from exc
    organisation = await session.get(Organisation, bid.organisation_id)
    assert organisation is not None
    bid.state = "withdrawn"
    bid.ended_at = act.at
    bid.withdrawal = document
    bid.withdrawal_signature = signature
    details = {
        "event": "withdrawal",
        "section_id": section_id,
        "bidder_credit_code": organisation.credit_code,
        "manifest_sha256": bid.manifest_sha256,
        "at": log_entries.instant(act.at),
    }
    salt = events.new_salt()
    bid.withdrawal_event = {"details": details, "salt": base64.b64encode(salt).decode()}
    await log.append(
        session,
        event_key=f"withdraw:{bid.manifest_sha256}",
        kind="bid_event",
        document=events.log_document(details, salt, await events.section_key(session, section_id)),
        at=act.at,
    )
    await record(
        session,
        actor=actor,
        address=act.address,
        at=act.at,
        action="bid.withdraw",
        subject_type="section",
        subject_id=section_id,
        details={"bid_id": bid.id},
    )
    return bid
