"""Writing an accepted bid's rows: the bid, its upload when the bid came in one request, its log entry and its
audit record.

On PostgreSQL they go in one statement (data-modifying common table expressions; the audit record takes the
bid's id from the bid's own insert), a deadline storm's bid paying one round trip for them instead of four. On
SQLite, which has no data-modifying CTEs, they are four inserts in the same transaction. Either way they commit
together with the section's lock, or not at all.

A bid sent whole on PostgreSQL may go further (``gated``): the rows written only if a condition holds — the
section still open and share-locked, the signing key still live, the bidder's earlier bid replaced as read —
all in the one statement, which then commits on its own: no BEGIN, no COMMIT, no separate lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, Table, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bidding.models import Bid, Upload
from trading.audit import services as audit
from trading.audit.models import AuditEntry
from trading.blobs.inline import InlineBlob
from trading.db import Lean
from trading.log import services as log
from trading.log.models import LogEntry

_BIDS, _UPLOADS, _ENTRIES, _AUDIT, _INLINE = (m.__table__ for m in (Bid, Upload, LogEntry, AuditEntry, InlineBlob))
BID_COLUMNS = [c.key for c in _BIDS.columns if c.key != "id"]
UPLOAD_COLUMNS = [c.key for c in _UPLOADS.columns]
_ENTRY_COLUMNS = ["event_key", "kind", "data", "created_at"]
_AUDIT_COLUMNS = [c.key for c in _AUDIT.columns if c.key != "id"]

_INSERT_BID = insert(_BIDS).returning(_BIDS.c.id)
_INSERT_UPLOAD = insert(_UPLOADS)


def _params(table: Table, prefix: str, columns: list[str]) -> dict[str, Any]:
    return {c: bindparam(f"{prefix}{c}", type_=table.c[c].type) for c in columns}


def _rows(
    with_upload: bool, gate: ColumnElement[bool] | None = None, inline: Sequence[str] = ()
) -> tuple[CTE, list[CTE]]:
    """The inserts as common table expressions: the bid's (returning its id) and the others'. With a *gate*,
    the bid only where it holds, and the other rows only with the bid (none of them when it does not); with
    *inline* envelopes, their ciphertexts kept in the database (trading.blobs.inline) with the bid."""
    bid_values = _params(_BIDS, "bid_", BID_COLUMNS)
    if gate is None:
        bid = insert(_BIDS).values(bid_values).returning(_BIDS.c.id).cte("new_bid")
        entry_insert = pg_insert(_ENTRIES).values(_params(_ENTRIES, "entry_", _ENTRY_COLUMNS))
    else:
        gated = select(*bid_values.values()).where(gate)
        bid = insert(_BIDS).from_select(BID_COLUMNS, gated).returning(_BIDS.c.id).cte("new_bid")
        entry_row = select(*_params(_ENTRIES, "entry_", _ENTRY_COLUMNS).values()).select_from(bid)
        entry_insert = pg_insert(_ENTRIES).from_select(_ENTRY_COLUMNS, entry_row)
    entry = entry_insert.on_conflict_do_nothing(index_elements=["event_key"]).cte("new_entry")
    audit_params = _params(_AUDIT, "audit_", _AUDIT_COLUMNS)
    audit_params["details"] = func.jsonb_build_object("bid_id", bid.c.id)
    audit_row = select(*audit_params.values()).select_from(bid)
    record = insert(_AUDIT).from_select(_AUDIT_COLUMNS, audit_row).cte("new_record")
    ctes = [entry, record]
    if with_upload:
        upload_values = _params(_UPLOADS, "upload_", UPLOAD_COLUMNS)
        if gate is None:
            upload_insert = insert(_UPLOADS).values(upload_values)
        else:
            upload_row = select(*upload_values.values()).select_from(bid)
            upload_insert = insert(_UPLOADS).from_select(UPLOAD_COLUMNS, upload_row)
        ctes.append(upload_insert.cte("new_upload"))
    for envelope in inline:  # (a ciphertext kept already — the same bytes — is the same blob)
        values = [bindparam(f"inline_{envelope}_{c}", type_=_INLINE.c[c].type) for c in ("sha256", "data")]
        row = select(*values, bindparam("entry_created_at", type_=_INLINE.c.created_at.type)).select_from(bid)
        kept = pg_insert(_INLINE).from_select(["sha256", "data", "created_at"], row).on_conflict_do_nothing()
        ctes.append(kept.cte(f"new_inline_{envelope}"))
    return bid, ctes


def _one_statement(with_upload: bool) -> Select[Any]:
    bid, ctes = _rows(with_upload)
    return select(bid.c.id).add_cte(*ctes)


def gated(
    gate: ColumnElement[bool], *columns: ColumnElement[Any], inline: Sequence[str] = (), hot: bool = False
) -> Lean:
    """PostgreSQL: a bid sent whole, written only where *gate* holds, as one statement that returns *columns*
    (what decided the gate) and the bid's ``id`` (None when it did not hold), the *inline* envelopes'
    ciphertexts kept in the database with it. Its parameters are those of :func:`write_gated` and the gate's
    own. *hot*: as Lean's (the statement writes nothing when the gate's ids name no row)."""
    bid, ctes = _rows(True, gate, inline)
    return Lean(select(*columns, select(bid.c.id).scalar_subquery().label("id")).add_cte(*ctes), hot=hot)


async def write_gated(
    statement: Lean,
    conn: AsyncConnection,
    gate_values: dict[str, Any],
    *,
    bid: dict[str, Any],
    entry: dict[str, Any],
    record: dict[str, Any],
    upload: dict[str, Any],
    inline: Mapping[str, tuple[str, bytes]] | None = None,
) -> Mapping[str, Any]:
    """Run a :func:`gated` statement on *conn* (in autocommit: the statement is its own transaction); its row.
    *inline*: the ciphertexts kept in the database, (sha256, bytes) by envelope, as the statement names them."""
    params = _named(bid, entry, record, upload)
    params.update(gate_values)
    for envelope, (sha256, data) in (inline or {}).items():
        params[f"inline_{envelope}_sha256"], params[f"inline_{envelope}_data"] = sha256, data
    row = await statement.first(conn, params)
    assert row is not None
    return row


def _named(
    bid: dict[str, Any], entry: dict[str, Any], record: dict[str, Any], upload: dict[str, Any] | None
) -> dict[str, Any]:
    params = {f"bid_{c}": bid[c] for c in BID_COLUMNS}
    params.update({f"entry_{c}": entry[c] for c in _ENTRY_COLUMNS})
    params.update({f"audit_{c}": record[c] for c in _AUDIT_COLUMNS if c != "details"})
    if upload is not None:
        params.update({f"upload_{c}": upload[c] for c in UPLOAD_COLUMNS})
    return params


#: Built once each: with the bid's upload (a bid sent whole) and without it (the upload exists: complete()).
_ONE_STATEMENT = {True: Lean(_one_statement(True)), False: Lean(_one_statement(False))}


async def write(
    session: AsyncSession,
    *,
    bid: dict[str, Any],
    entry: dict[str, Any],
    record: dict[str, Any],
    upload: dict[str, Any] | None = None,
) -> int:
    """Write the rows (*entry* as log.queued gives it, *record* as audit.entry_values gives it, its details
    left to this function: the bid's id) and return the bid's id."""
    if session.bind.dialect.name == "postgresql":
        params = _named(bid, entry, record, upload)
        row = await _ONE_STATEMENT[upload is not None].first(await session.connection(), params)
        assert row is not None
        return int(row["id"])
    if upload is not None:
        await session.execute(_INSERT_UPLOAD, {c: upload[c] for c in UPLOAD_COLUMNS})
    bid_id: int = (await session.execute(_INSERT_BID, {c: bid[c] for c in BID_COLUMNS})).scalar_one()
    await session.execute(log.QUEUE[session.bind.dialect.name], entry)
    await session.execute(audit.INSERT, {**record, "details": {"bid_id": bid_id}})
    return bid_id
