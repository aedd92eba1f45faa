"""The arithmetic of an opening batch (开标解密计算), pure: no database, no store, no HTTP.

Given each bid's signed manifest, its price ciphertext and the shares the openers uploaded in the window (read from
their signed uploads, :func:`uploaded_shares`), it gives
the rows the opening stores — the outcome, the reason and whose fault it is, the opening form, the price key and
the rebuilt documents key — exactly as opening the bids one by one with :mod:`bidding.envelope` would. It imports
nothing but the envelope code (and trading.parent, to end with the worker), so the opening job
(bidding.opening_job) can run it in a process of its own beside the worker, on another core, while the worker reads
the next batch and writes the last.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import msgspec

from bidding.envelope import BidContext, combine_and_open, rebuild_key
from bidding.envelope.manifest import read_stored_manifest
from bidding.envelope.opening import checked_context_bytes
from trading.parent import when_parent_gone

#: (shared by every bid they describe: never changed)
NO_SHARES: Mapping[str, Mapping[int, bytes]] = {"price": {}, "documents": {}}
NOT_DISPUTED: Mapping[str, Collection[int]] = {"price": frozenset(), "documents": frozenset()}


class BidToOpen(NamedTuple):
    """Everything one bid's opening needs, read from the database and the blob store beforehand (a tuple: a batch of
    thousands goes to another process and back)."""

    bid_id: int
    manifest: bytes
    bidder_credit_code: str
    price_ciphertext: bytes
    #: envelope → the openers' shares by position (none: no opener uploaded one)
    shares: Mapping[str, Mapping[int, bytes]] = NO_SHARES
    #: envelope → the positions of openers who showed their share was sealed wrongly
    disputed: Mapping[str, Collection[int]] = NOT_DISPUTED


class _UploadedItem(msgspec.Struct):
    """One item of an opener's signed shares document (bidding.opening.shares_document), as far as the opening
    reads it: a bid's share (base64 in the document; msgspec decodes it), or a reserve price's, or a dispute."""

    bid_id: int | None = None
    envelope: str = ""
    share: bytes = b""
    reserve_id: int | None = None
    dispute_key: str | None = None


class _SharesDocument(msgspec.Struct):
    shares: list[_UploadedItem]


_SHARES_DOCUMENT = msgspec.json.Decoder(_SharesDocument)


def uploaded_shares(documents: Mapping[int, bytes]) -> dict[int, dict[str, dict[int, bytes]]]:
    """The bids' shares in the openers' signed uploads (each opener's position → the exact bytes it signed), by bid,
    envelope and position: every item that is neither a reserve price's share nor a dispute, as the upload took it
    (bidding.opening.upload_shares checked each item, and refused the document if one was wrong)."""
    shares: dict[int, dict[str, dict[int, bytes]]] = {}
    for position, document in documents.items():
        for item in _SHARES_DOCUMENT.decode(document).shares:
            if item.reserve_id is not None or item.dispute_key is not None or item.bid_id is None:
                continue
            by_envelope = shares.get(item.bid_id)
            if by_envelope is None:
                by_envelope = shares[item.bid_id] = {"price": {}, "documents": {}}
            by_envelope[item.envelope][position] = item.share
    return shares


def open_batch(
    bids: Sequence[BidToOpen], context: dict[str, Any], price_fields: tuple[str, ...], section_id: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of ``opening_results`` and ``document_keys`` for *bids* — the same outcome, reason and fault as
    opening them one by one: every share uploaded in the window is used, what cannot open fails with whose fault
    it is, or is disputed. *context* is the section's part of each bid's :class:`BidContext`. (The keys' time,
    ``rebuilt_at``, is the writer's: the batch commits at that moment.)"""
    results: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    for bid in bids:
        manifest = read_stored_manifest(bid.manifest)
        bid_context = BidContext(bidder_credit_code=bid.bidder_credit_code, **context)
        checked = checked_context_bytes(manifest, bid_context)  # once for both envelopes
        result = combine_and_open(
            manifest,
            bid_context,
            "price",
            bid.shares["price"],
            (bid.price_ciphertext,),
            final=True,
            disputed=bid.disputed["price"],
            price_fields=price_fields,
            checked_context=checked,
        )
        if result.ok:
            # Checked against the bidder's commitment now, so that a bad documents envelope is found and blamed at
            # the opening; the ciphertext is decrypted only as the panel reads it.
            documents = rebuild_key(
                manifest,
                bid_context,
                "documents",
                bid.shares["documents"],
                final=True,
                disputed=bid.disputed["documents"],
                checked_context=checked,
            )
            keys.append(
                {
                    "bid_id": bid.bid_id,
                    "section_id": section_id,
                    "outcome": documents.outcome,
                    "data_key": documents.data_key if documents.ok else None,
                    "reason": documents.reason,
                    "fault": documents.fault,
                }
            )
        results.append(
            {
                "section_id": section_id,
                "bid_id": bid.bid_id,
                "outcome": result.outcome,
                "form": result.form if result.ok else None,
                "data_key": result.data_key if result.ok else None,
                "reason": result.reason,
                "fault": result.fault,
            }
        )
    return results, keys


def started() -> int:
    """Nothing: a task that starts the processes (and their imports) before the first batch is ready for them."""
    return os.getpid()


def watch_parent(parent: int) -> None:
    """In a process started to compute batches: exit as soon as the worker that started it is gone (killed, say),
    rather than live on orphaned, holding the worker's output open."""
    when_parent_gone(parent, lambda: os._exit(0))
