"""Every kind of transparency-log entry, as the exact document whose canonical bytes are the leaf.

This module is the one place an entry's fields are chosen; docs/log.md specifies each kind from it, and
tests/vectors/log-v1.json pins the bytes (tests/log/test_log_vectors.py rebuilds them from these
functions). A leaf is ``SHA-256(0x00 ‖ canonical_bytes(document))`` (RFC 9162 §2.1.1).

Pure: no I/O. Times are written by :func:`instant`; hashes are lower-case hex.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from trading.canonical import canonical_bytes


def instant(at: datetime) -> str:
    """An instant as entries write it: UTC, ``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`` (the fraction only when
    it is not zero, then always six digits)."""
    if at.tzinfo is None:
        raise ValueError("an entry's instant must be timezone-aware")
    return at.astimezone(UTC).isoformat()


def leaf_bytes(document: Mapping[str, Any]) -> bytes:
    return canonical_bytes(document)


def leaf_hash(document: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_bytes(document)).digest()


def text_sha256(value: str) -> str:
    """How entries fix a private text without showing it: SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(value.encode()).hexdigest()


# --- notices and money ---------------------------------------------------------------------------------


def notice_version(
    *, trade_code: str, notice_id: int, notice_kind: str, version: int, content_sha256: str, published_at: datetime
) -> dict[str, Any]:
    return {
        "kind": "notice_version",
        "trade_code": trade_code,
        "notice_id": notice_id,
        "notice_kind": notice_kind,
        "version": version,
        "content_sha256": content_sha256,
        "published_at": instant(published_at),
    }


#: The payment's public fields that enter its entry, in the order docs/log.md lists them (its own kind —
#: payment or collection — goes in as ``payment_kind``: an entry has one ``kind``, the entry's).
PAYMENT_FIELDS = (
    "id",
    "contract_notice_id",
    "paid_on",
    "amount_fen",
    "currency",
    "payer",
    "payee",
    "purpose",
    "milestone",
    "evidence_sha256",
    "flags",
)


def payment(*, trade_code: str, public: Mapping[str, Any]) -> dict[str, Any]:
    """*public* is the payment as the API publishes it (``paid_on`` as ``YYYY-MM-DD``)."""
    return {
        "kind": "payment",
        "trade_code": trade_code,
        "payment_kind": public["kind"],
        **{k: public[k] for k in PAYMENT_FIELDS},
    }


# --- bidding -------------------------------------------------------------------------------------------


def bid_event(*, commitment: str, section_tag: str) -> dict[str, Any]:
    """A submission, replacement, withdrawal or reserve price: only a salted commitment and the section
    tag (bidding.events), so the log says nothing about who bid where until the opening record."""
    return {"kind": "bid_event", "commitment": commitment, "section_tag": section_tag}


def deadline_cut(*, note: str) -> dict[str, Any]:
    """The platform's signed statement of which checkpoint closed a section's bidding (trading.log.cuts)."""
    return {"kind": "deadline_cut", "note": note}


def signing_key(*, event: str, key_sha256: str, owner_commitment: str, at: datetime) -> dict[str, Any]:
    """A bidder's signing key registered or revoked. Who owns it stays behind a salted commitment until a
    section the owner bid in has opened (the key directory then shows the owner and the salt)."""
    return {
        "kind": "signing_key",
        "event": event,
        "key_sha256": key_sha256,
        "owner_commitment": owner_commitment,
        "at": instant(at),
    }


def centre_key(*, event: str, centre_code: str, public_key: str, at: datetime) -> dict[str, Any]:
    """A trading centre's reserve-price signing key registered or revoked: public at once (base64 key)."""
    return {
        "kind": "centre_key",
        "event": event,
        "centre_code": centre_code,
        "public_key": public_key,
        "at": instant(at),
    }


# --- evaluation and award ------------------------------------------------------------------------------


def evaluation_plan(*, trade_code: str, section_id: int, plan: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "kind": "evaluation_plan",
        "trade_code": trade_code,
        "section_id": section_id,
        "plan": plan,
        "at": instant(at),
    }


def expert_change(*, expert_id: int, action: str, record_sha256: str, active: bool, at: datetime) -> dict[str, Any]:
    return {
        "kind": "expert_change",
        "expert_id": expert_id,
        "action": action,
        "record_sha256": record_sha256,
        "active": active,
        "at": instant(at),
    }


def expert_draw_commitment(
    *,
    trade_code: str,
    section_id: int,
    seed_sha256: str,
    pool_sha256: str,
    pool_size: int,
    count: int,
    specialities: Sequence[str],
    committed_at: datetime,
) -> dict[str, Any]:
    return {
        "kind": "expert_draw_commitment",
        "trade_code": trade_code,
        "section_id": section_id,
        "seed_sha256": seed_sha256,
        "pool_sha256": pool_sha256,
        "pool_size": pool_size,
        "count": count,
        "specialities": list(specialities),
        "committed_at": instant(committed_at),
    }


def expert_draw_result(
    *,
    trade_code: str,
    section_id: int,
    version: int,
    result: Mapping[str, Any],
    beacon_tree_size: int | None,
    at: datetime,
) -> dict[str, Any]:
    return {
        "kind": "expert_draw_result",
        "trade_code": trade_code,
        "section_id": section_id,
        "version": version,
        "result_sha256": hashlib.sha256(canonical_bytes(result)).hexdigest(),
        "beacon_tree_size": beacon_tree_size,
        "at": instant(at),
    }


def evaluation_report(
    *, trade_code: str, section_id: int, report_sha256: str, void: bool, at: datetime
) -> dict[str, Any]:
    return {
        "kind": "evaluation_report",
        "trade_code": trade_code,
        "section_id": section_id,
        "report_sha256": report_sha256,
        "void": void,
        "at": instant(at),
    }


def objection(*, trade_code: str, section_id: int, objection_id: int, text: str, filed_at: datetime) -> dict[str, Any]:
    """The objector stays private: only a hash of what was filed, to show it was not changed later."""
    return {
        "kind": "objection",
        "trade_code": trade_code,
        "section_id": section_id,
        "objection_id": objection_id,
        "text_sha256": text_sha256(text),
        "filed_at": instant(filed_at),
    }


def complaint(*, trade_code: str, section_id: int, complaint_id: int, text: str, filed_at: datetime) -> dict[str, Any]:
    return {
        "kind": "complaint",
        "trade_code": trade_code,
        "section_id": section_id,
        "complaint_id": complaint_id,
        "text_sha256": text_sha256(text),
        "filed_at": instant(filed_at),
    }


def complaint_ruling(
    *, trade_code: str, section_id: int, complaint_id: int, ruling: str, ruled_at: datetime
) -> dict[str, Any]:
    return {
        "kind": "complaint_ruling",
        "trade_code": trade_code,
        "section_id": section_id,
        "complaint_id": complaint_id,
        "ruling_sha256": text_sha256(ruling),
        "ruled_at": instant(ruled_at),
    }


def result_letters(
    *, trade_code: str, section_id: int, result_notice_id: int, letters: Sequence[str], at: datetime
) -> dict[str, Any]:
    return {
        "kind": "result_letters",
        "trade_code": trade_code,
        "section_id": section_id,
        "result_notice_id": result_notice_id,
        "letters": sorted(letters),
        "at": instant(at),
    }


def _fields(*names: str) -> frozenset[str]:
    return frozenset(("kind", *names))


#: Each kind's exact field set (docs/log.md §4): a verifier names an entry of a known kind with a field more or
#: one less (``entry_fields``). Kinds not here are later ones, which a verifier accepts.
FIELDS: dict[str, frozenset[str]] = {
    "notice_version": _fields("trade_code", "notice_id", "notice_kind", "version", "content_sha256", "published_at"),
    "payment": _fields("trade_code", "payment_kind", *PAYMENT_FIELDS),
    "bid_event": _fields("commitment", "section_tag"),
    "deadline_cut": _fields("note"),
    "signing_key": _fields("event", "key_sha256", "owner_commitment", "at"),
    "centre_key": _fields("event", "centre_code", "public_key", "at"),
    "evaluation_plan": _fields("trade_code", "section_id", "plan", "at"),
    "expert_change": _fields("expert_id", "action", "record_sha256", "active", "at"),
    "expert_draw_commitment": _fields(
        "trade_code", "section_id", "seed_sha256", "pool_sha256", "pool_size", "count", "specialities", "committed_at"
    ),
    "expert_draw_result": _fields("trade_code", "section_id", "version", "result_sha256", "beacon_tree_size", "at"),
    "evaluation_report": _fields("trade_code", "section_id", "report_sha256", "void", "at"),
    "objection": _fields("trade_code", "section_id", "objection_id", "text_sha256", "filed_at"),
    "complaint": _fields("trade_code", "section_id", "complaint_id", "text_sha256", "filed_at"),
    "complaint_ruling": _fields("trade_code", "section_id", "complaint_id", "ruling_sha256", "ruled_at"),
    "result_letters": _fields("trade_code", "section_id", "result_notice_id", "letters", "at"),
}
