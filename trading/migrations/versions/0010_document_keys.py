"""The documents envelopes' data keys, rebuilt at the opening for the evaluation panel (never published).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 10:12:04.512310
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trading.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_keys",
        sa.Column("bid_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("data_key", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("fault", sa.String(length=20), nullable=False),
        sa.Column("rebuilt_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bid_id"], ["bids.id"], name=op.f("fk_document_keys_bid_id_bids")),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_document_keys_section_id_sections")),
        sa.PrimaryKeyConstraint("bid_id", name=op.f("pk_document_keys")),
    )
    op.create_index(op.f("ix_document_keys_section_id"), "document_keys", ["section_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_document_keys_section_id"), table_name="document_keys")
    op.drop_table("document_keys")
