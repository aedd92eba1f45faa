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
import hmac
import os
import weakref
from typing import Any

from trading.canonical import canonical_bytes
from trading.log import entries as log_entries

LABEL = b"trading-bid/v1 event-commitment\x00"


def new_salt() -> bytes:
    return os.urandom(32)


def commitment(details: dict[str, Any], salt: bytes) -> str:
    return hashlib.sha256(LABEL + salt + canonical_bytes(details)).hexdigest()


def section_tag(section_key: bytes, commitment_hex: str) -> str:
    return hmac.new(section_key, bytes.fromhex(commitment_hex), hashlib.sha256).hexdigest()


def log_document(details: dict[str, Any], salt: bytes, section_key: bytes) -> dict[str, Any]:
    """The public log entry: its kind, the commitment and the section tag, nothing else."""
    c = commitment(details, salt)
    return log_entries.bid_event(commitment=c, section_tag=section_tag(section_key, c))


#: Section tag keys read from each database (by engine), by section — a key never changes once made: every bid
#: in a section needs its section's key, and a deadline storm would otherwise read the same row for each.
_SECTION_KEYS: weakref.WeakKeyDictionary[Any, dict[int, bytes]] = weakref.WeakKeyDictionary()
_SECTION_KEYS_KEPT = 4096


async def make_section_keys(session: Any, limit: int = 100) -> list[int]:
    """Make the tag key of every section taking bids that has none yet (the scheduler's tick, in its session;
    the caller commits): a section has its key before its first bid, so that even that bid is accepted by one
    statement (bidding.submission._accept_whole). A bid that finds none makes it itself (``section_key``)."""
    from sqlalchemy import exists, select

    from bidding.models import SectionKey
    from trading.projects.models import Section

    keyless = (
        select(Section.id)
        .where(Section.state == "tendering", ~exists().where(SectionKey.section_id == Section.id))
        .limit(limit)
    )
    made = list(await session.scalars(keyless))
    for section_id in made:
        await _make_key(session, section_id)
    return made


async def _make_key(session: Any, section_id: int) -> None:
    """A new random tag key for the section, unless it has one (concurrent makers: the first one's stays)."""
    from sqlalchemy import text

    await session.execute(
        text("INSERT INTO bid_section_keys (section_id, key) VALUES (:s, :k) ON CONFLICT (section_id) DO NOTHING"),
        {"s": section_id, "k": os.urandom(32)},
    )


async def section_key(session: Any, section_id: int) -> bytes:
    """The section's tag key, made on first use (one statement, safe under concurrency on both engines)."""
    key = await section_key_made(session, section_id, make=True)
    assert key is not None
    return key


async def section_key_made(session: Any, section_id: int, *, make: bool = False) -> bytes | None:
    """The section's tag key if it has been made (None if not); with *make*, made now if it has not been, in
    the session's transaction."""
    from sqlalchemy import select

    from bidding.models import SectionKey

    known = _SECTION_KEYS.setdefault(session.get_bind(), {})
    if section_id in known:
        return known[section_id]
    query = select(SectionKey.key).where(SectionKey.section_id == section_id)
    key = await session.scalar(query)
    inserted = key is None
    if key is None:
        if not make:
            return None
        await _make_key(session, section_id)
        key = await session.scalar(query)
    # Kept only when read as committed: a key inserted by this transaction might yet be rolled back.
    if not inserted:
        if len(known) >= _SECTION_KEYS_KEPT:
            known.pop(next(iter(known)))
        known[section_id] = bytes(key)
    return bytes(key)
