"""On PostgreSQL, the large signed documents — a published notice version's (an opening record is megabytes) and
an opener's upload of shares — are compressed with lz4 rather than the default pglz when they are stored: several
times less CPU to store and to read back, for about the same space. The bytes kept are the same. A server built
without lz4 (or older than 14) refuses the setting, and keeps pglz.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

DOCUMENTS = (("notice_versions", "document"), ("opening_uploads", "document"))


def upgrade() -> None:
    _compress_with("lz4")


def downgrade() -> None:
    _compress_with("pglz")


def _compress_with(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            for table, column in DOCUMENTS:
                op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")
    except sa.exc.DBAPIError:
        pass  # (the server cannot: the documents are compressed as before)
