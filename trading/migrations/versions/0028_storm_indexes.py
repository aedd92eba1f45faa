"""Indexes a deadline storm's bids wrote for nothing. The log's pending and leaf-hash indexes made partial:
``ix_log_entries_pending`` holds only the entries still waiting for the integrator (it held every entry the log
ever took, ordered by a leaf index that is null until then), and ``ix_log_entries_leaf_hash`` only integrated
entries; a queued entry — one per bid — then writes no leaf-hash entry, and its integration no new pending one.
And ``ix_audit_entries_at`` dropped: the audit trail is read by centre, by subject and by id, never by time.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_audit_entries_at", table_name="audit_entries")
    op.drop_index("ix_log_entries_pending", table_name="log_entries")
    op.drop_index("ix_log_entries_leaf_hash", table_name="log_entries")
    op.create_index(
        "ix_log_entries_pending",
        "log_entries",
        ["id"],
        unique=False,
        sqlite_where=sa.text("leaf_index IS NULL"),
        postgresql_where=sa.text("leaf_index IS NULL"),
    )
    op.create_index(
        "ix_log_entries_leaf_hash",
        "log_entries",
        ["leaf_hash"],
        unique=False,
        sqlite_where=sa.text("leaf_hash IS NOT NULL"),
        postgresql_where=sa.text("leaf_hash IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_log_entries_leaf_hash", table_name="log_entries")
    op.drop_index("ix_log_entries_pending", table_name="log_entries")
    op.create_index("ix_log_entries_leaf_hash", "log_entries", ["leaf_hash"], unique=False)
    op.create_index("ix_log_entries_pending", "log_entries", ["leaf_index", "id"], unique=False)
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"], unique=False)
