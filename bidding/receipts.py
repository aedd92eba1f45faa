"""Receipts (投标回执): signed by the platform's key for a bid that is durable.

A receipt (``trading-receipt/v2``, docs/receipts.md) names the section, the bidder, the manifest hash and the
time received, and carries the bid's log entry: the event details and salt behind the public commitment, the
entry's exact bytes and leaf hash. It does not wait for the log: like a Certificate Transparency SCT, it is
the platform's signed promise that the entry will be in a signed checkpoint by ``merge_by`` (the time received
plus the log's maximum merge delay, settings.log_max_merge_delay). The receipt is signed in the bid's own
transaction and handed out only after that transaction commits, so there is never a receipt for a bid that is
not durable, and the storm at a deadline costs no log round per bid. `bidding verify-receipt` and `trading
verify --receipt` fetch the inclusion proof later; a receipt whose entry is missing after ``merge_by`` is a
broken promise, and they say so.

Receipts signed before v2 (``trading-receipt/v1``) waited for an integration round and carry the leaf index,
a checkpoint and the audit path; the verifiers still accept them.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from litestar.datastructures import State
from sqlalchemy import update

from bidding import events
from bidding.models import Bid
from trading import metrics
from trading.canonical import canonical_bytes
from trading.log import merkle

FORMAT = "trading-receipt/v2"
#: Every receipt format the verifiers accept (v1: the inclusion proof inside, from before the promise).
FORMATS = ("trading-receipt/v1", FORMAT)

logger = logging.getLogger("bidding.receipts")


@dataclass(frozen=True)
class ReceiptSigner:
    """What signs receipts: the platform's key, the log's verifier key it names, and the promised delay."""

    key: Ed25519PrivateKey
    log_key: str
    max_merge_delay: timedelta

    @classmethod
    def of(cls, state: State) -> ReceiptSigner:
        """The app's signer (made once per app: every bid's receipt asks for it)."""
        signer = getattr(state, "receipt_signer", None)
        wanted = (state.platform_key, state.log_signer.vkey, timedelta(seconds=state.settings.log_max_merge_delay))
        if signer is None or (signer.key, signer.log_key, signer.max_merge_delay) != wanted:
            signer = state.receipt_signer = cls(*wanted)
        return signer


def receipt_document(bid: Bid, *, section_key: bytes, log_key: str, max_merge_delay: timedelta) -> dict[str, Any]:
    entry = canonical_bytes(events.log_document(bid.event_details, bid.event_salt, section_key))
    return {
        "format": FORMAT,
        "kind": "bid_receipt",
        "section_id": bid.section_id,
        "bidder_credit_code": bid.event_details["bidder_credit_code"],
        "manifest_sha256": bid.manifest_sha256,
        "received_at": bid.received_at.isoformat(),
        "event": bid.event_details,
        "salt": base64.b64encode(bid.event_salt).decode(),
        "log_entry": base64.b64encode(entry).decode(),
        "leaf_hash": merkle.leaf_hash(entry).hex(),
        "log_key": log_key,
        # The promise: the entry is in a checkpoint signed with log_key by then.
        "max_merge_delay_seconds": int(max_merge_delay.total_seconds()),
        "merge_by": (bid.received_at + max_merge_delay).isoformat(),
    }


def sign_into(bid: Bid, signer: ReceiptSigner, section_key: bytes) -> None:
    """Sign *bid*'s receipt into its row, in the transaction that stores the bid: the receipt becomes durable
    with the bid, and the caller hands it out only after the commit."""
    document = receipt_document(
        bid, section_key=section_key, log_key=signer.log_key, max_merge_delay=signer.max_merge_delay
    )
    bid.receipt, bid.receipt_signature = sign_receipt(document, signer.key)


def sign_receipt(document: dict[str, Any], key: Ed25519PrivateKey) -> tuple[bytes, bytes]:
    data = canonical_bytes(document)
    return data, key.sign(data)


def verify_receipt_signature(data: bytes, signature: bytes, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(signature, data)
    except Exception:
        return False
    return True


async def issue(state: State, bid_id: int) -> Bid:
    """The receipt of a committed bid that has none (a bid stored before receipts were signed with the bid):
    sign and store it — once: a concurrent call gets the same receipt.

    It reads the bid in a session of its own, so it can only ever sign for a bid that has committed."""
    signer = ReceiptSigner.of(state)
    try:
        async with state.sessionmaker() as session:
            bid = await session.get(Bid, bid_id)
            assert bid is not None
            if bid.receipt is not None:
                return bid
            document = receipt_document(
                bid,
                section_key=await events.section_key(session, bid.section_id),
                log_key=signer.log_key,
                max_merge_delay=signer.max_merge_delay,
            )
            data, signature = sign_receipt(document, signer.key)
            signed = await session.execute(
                update(Bid)
                .where(Bid.id == bid_id, Bid.receipt.is_(None))
                .values(receipt=data, receipt_signature=signature)
            )
            await session.commit()
            if signed.rowcount == 1:  # (a concurrent call's receipt is the same bid's: counted once)
                metrics.BIDS_RECEIPTED.inc()
            await session.refresh(bid)
    except Exception as exc:
        # The type only: a database error's message can quote what it was sending.
        logger.warning(
            "receipt for bid %s not signed (%s); the bid stays committed, and a retry signs it",
            bid_id,
            type(exc).__name__,
        )
        raise
    return bid
