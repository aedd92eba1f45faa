"""SQLite busy past its timeout is a 503 to retry, as a PostgreSQL outage is, not a 500."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from trading.db import is_database_outage


def test_a_locked_sqlite_database_counts_as_unavailable_and_a_refused_statement_does_not(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    waiter = sqlite3.connect(path, timeout=0)
    with pytest.raises(sqlite3.OperationalError) as locked:
        waiter.execute("INSERT INTO t VALUES (1)")
    assert is_database_outage(locked.value)
    with pytest.raises(sqlite3.OperationalError) as refused:
        holder.execute("INSERT INTO no_such_table VALUES (1)")
    assert not is_database_outage(refused.value)
    holder.close()
    waiter.close()
