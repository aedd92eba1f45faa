"""Writing an accepted bid's rows: the bid, its upload when the bid came in one request, its log entry and its
audit record.

On PostgreSQL they go in one statement (data-modifying common table expressions; the audit record takes the
bid's id from the bid's own insert), a deadline storm's bid paying one round trip for them instead of four. On
SQLite, which has no data-modifying CTEs, they are four inserts in the same transaction. Either way they commit
together with the section's lock, or not at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.models import Bid, Upload
from trading.audit import services as audit
from trading.audit.models import AuditEntry
from trading.db import Lean
from trading.log import services as log
from trading.log.models import LogEntry

_BIDS, _UPLOADS, _ENTRIES, _AUDIT = (m.__table__ for m in (Bid, Upload, LogEntry, AuditEntry))
BID_COLUMNS = [c.key for c in _BIDS.columns if c.key != "id"]
UPLOAD_COLUMNS = [c.key for c in _UPLOADS.columns]
_ENTRY_COLUMNS = ["event_key", "kind", "data", "created_at"]
_AUDIT_COLUMNS = [c.key for c in _AUDIT.columns if c.key != "id"]

_INSERT_BID = insert(_BIDS).returning(_BIDS.c.id)
_INSERT_UPLOAD = insert(_UPLOADS)


def _params(table: Table, prefix: str, columns: list[str]) -> dict[str, Any]:
    return {c: bindparam(f"{prefix}{c}", type_=table.c[c].type) for c in columns}


def _one_statement(with_upload: bool) -> Select[Any]:
    bid = insert(_BIDS).values(_params(_BIDS, "bid_", BID_COLUMNS)).returning(_BIDS.c.id).cte("new_bid")
    entry = (
        pg_insert(_ENTRIES)
        .values(_params(_ENTRIES, "entry_", _ENTRY_COLUMNS))
        .on_conflict_do_nothing(index_elements=["event_key"])
        .cte("new_entry")
    )
    audit_params = _params(_AUDIT, "audit_", _AUDIT_COLUMNS)
    audit_params["details"] = func.jsonb_build_object("bid_id", bid.c.id)
    audit_row = select(*audit_params.values()).select_from(bid)
    record = insert(_AUDIT).from_select(_AUDIT_COLUMNS, audit_row).cte("new_record")
    ctes = [entry, record]
    if with_upload:
        ctes.append(insert(_UPLOADS).values(_params(_UPLOADS, "upload_", UPLOAD_COLUMNS)).cte("new_upload"))
    return select(bid.c.id).add_cte(*ctes)


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
        params = {f"bid_{c}": bid[c] for c in BID_COLUMNS}
        params.update({f"entry_{c}": entry[c] for c in _ENTRY_COLUMNS})
        params.update({f"audit_{c}": record[c] for c in _AUDIT_COLUMNS if c != "details"})
        if upload is not None:
            params.update({f"upload_{c}": upload[c] for c in UPLOAD_COLUMNS})
        row = await _ONE_STATEMENT[upload is not None].first(await session.connection(), params)
        assert row is not None
        return int(row["id"])
    if upload is not None:
        await session.execute(_INSERT_UPLOAD, {c: upload[c] for c in UPLOAD_COLUMNS})
    bid_id: int = (await session.execute(_INSERT_BID, {c: bid[c] for c in BID_COLUMNS})).scalar_one()
    await session.execute(log.QUEUE[session.bind.dialect.name], entry)
    await session.execute(audit.INSERT, {**record, "details": {"bid_id": bid_id}})
    return bid_id
