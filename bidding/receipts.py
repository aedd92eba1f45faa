"""Receipts (投标回执): signed by the platform's key once a bid is durable.

A receipt names the section, the bidder, the manifest hash and the time received, and carries the bid's
log entry: the event details and salt behind the public commitment, the entry's exact bytes and leaf
hash, and its leaf index with a signed checkpoint that contains it. The receipt waits for the next
integration round, which it shares with every other bid arriving at the same moment
(trading.log.integrator). With these the bidder can check, offline and later, that its bid is in the log;
`bidding verify-receipt` and `trading verify --receipt` do exactly that.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from litestar.datastructures import State
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding import events
from bidding.models import Bid
from trading import metrics
from trading.canonical import canonical_bytes
from trading.log import merkle
from trading.log import services as log
from trading.log.integrator import pump_of

FORMAT = "trading-receipt/v1"

logger = logging.getLogger("bidding.receipts")


def receipt_document(
    bid: Bid,
    *,
    section_key: bytes,
    leaf_index: int | None,
    checkpoint: str | None,
    log_key: str,
    inclusion_proof: list[bytes] | None = None,
) -> dict[str, Any]:
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
        "leaf_index": leaf_index,
        "checkpoint": checkpoint,
        # The audit path from the leaf to the checkpoint's root, so the receipt verifies offline.
        "inclusion_proof": [p.hex() for p in inclusion_proof or []],
        "log_key": log_key,
    }


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
    """After the bid has committed: wait for an integration round (so the receipt can name its leaf and a
    checkpoint), then sign and store the receipt — once: a concurrent retry gets the same receipt.

    It reads the bid in a session of its own, so it can only ever sign for a bid that has committed. A
    failure here leaves the bid as it was, durable and without a receipt; the next call (a retried
    completion, the bidder's ``GET …/bids/mine``) signs it."""
    round_failed: str | None = None
    try:
        await pump_of(state).round()
    except Exception as exc:  # the bid is durable; the receipt may then name no leaf yet (verify-receipt says so)
        round_failed = type(exc).__name__
    try:
        async with state.sessionmaker() as session:
            bid = await session.get(Bid, bid_id)
            assert bid is not None
            if bid.receipt is not None:
                return bid
            data, signature = await _signed(session, state, bid)
            signed = await session.execute(
                update(Bid)
                .where(Bid.id == bid_id, Bid.receipt.is_(None))
                .values(receipt=data, receipt_signature=signature)
            )
            await session.commit()
            if signed.rowcount == 1:  # (a concurrent retry's receipt is the same bid's: counted once)
                metrics.BIDS_RECEIPTED.inc()
            await session.refresh(bid)
    except Exception as exc:
        # The type only: a database error's message can quote what it was sending.
        logger.warning(
            "receipt for bid %s not signed (%s%s); the bid stays committed, and a retry signs it",
            bid_id,
            type(exc).__name__,
            f", after the integration round failed: {round_failed}" if round_failed else "",
        )
        raise
    if round_failed is not None:
        if _leaf_index(bid.receipt) is None:
            logger.warning(
                "receipt for bid %s signed without a leaf: the integration round failed (%s)", bid_id, round_failed
            )
        else:  # another round (this worker's loop, another worker) had integrated the bid already
            logger.warning(
                "receipt for bid %s signed with its leaf, though this integration round failed (%s)",
                bid_id,
                round_failed,
            )
    return bid


def _leaf_index(receipt: bytes | None) -> int | None:
    import json

    return json.loads(receipt)["leaf_index"] if receipt is not None else None


async def _signed(session: AsyncSession, state: State, bid: Bid) -> tuple[bytes, bytes]:
    index = await log.index_for_event(session, f"bid:{bid.manifest_sha256}")
    checkpoint = await log.latest_checkpoint(session)
    note = None
    proof: list[bytes] = []
    if index is not None and checkpoint is not None and checkpoint.size > index:
        note = checkpoint.note
        proof = await log.inclusion_proof(session, index, checkpoint.size)
    document = receipt_document(
        bid,
        section_key=await events.section_key(session, bid.section_id),
        leaf_index=index if note else None,
        checkpoint=note,
        log_key=state.log_signer.vkey,
        inclusion_proof=proof,
    )
    return sign_receipt(document, state.platform_key)
