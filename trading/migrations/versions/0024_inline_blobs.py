"""Blobs kept in the database (``inline_blobs``): a small bid's ciphertexts, written by the statement that accepts
the bid (trading/blobs/inline.py). Ciphertext does not compress: on PostgreSQL the column is stored out of line
without compression (``STORAGE EXTERNAL``), so that no bid pays for an attempt.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trading.db

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inline_blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_inline_blobs")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE inline_blobs ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("inline_blobs")
