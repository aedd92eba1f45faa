"""How bid events enter the transparency log without revealing anything before the opening.

A bid's submission, replacement or withdrawal is logged at once, but only as a commitment: SHA-256 over a
label, a random 32-byte salt and the event's details (section, bidder, manifest hash, time). Other
bidders — anyone reading the public log — learn neither who bid where nor how many bid in a section. The
bidder's receipt carries the details and the salt, so the bidder can check its own entry; the opening
record publishes them for every bid, so anyone can then match every entry to a bid and check that each
one was logged before the deadline checkpoint.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from trading.canonical import canonical_bytes

LABEL = b"trading-bid/v1 event-commitment\x00"


def new_salt() -> bytes:
    return os.urandom(32)


def commitment(details: dict[str, Any], salt: bytes) -> str:
    return hashlib.sha256(LABEL + salt + canonical_bytes(details)).hexdigest()


def log_document(details: dict[str, Any], salt: bytes) -> dict[str, Any]:
    """The public log entry: its kind and the commitment, nothing else."""
    return {"kind": "bid_event", "commitment": commitment(details, salt)}
