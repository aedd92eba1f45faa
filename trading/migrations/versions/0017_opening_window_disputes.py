"""The opening's share window and openers' disputes (docs/envelope.md §10).

Shares count when uploaded within the ceremony's window (``openings.shares_close_at``), not merely the first k;
an opener who shows, by disclosing its key, that the bidder sealed it a bad share files a dispute
(``opening_disputes``). ``fault`` columns widen: ``opener:1,2,…`` names up to 64 openers, not 20 characters'
worth.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trading.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

FAULT_COLUMNS = ("opening_results", "document_keys", "reserve_prices")


def upgrade() -> None:
    with op.batch_alter_table("openings") as batch:
        batch.add_column(sa.Column("shares_close_at", trading.db.UTCDateTime(timezone=True), nullable=True))
    for table in FAULT_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("fault", existing_type=sa.String(length=20), type_=sa.String(length=200))
    op.create_table(
        "opening_disputes",
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bid_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("envelope", sa.String(length=20), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("private_key", sa.LargeBinary(), nullable=False),
        sa.Column("finding", sa.String(length=60), nullable=False),
        sa.Column("uploaded_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bid_id"], ["bids.id"], name=op.f("fk_opening_disputes_bid_id_bids")),
        sa.ForeignKeyConstraint(
            ["section_id"], ["openings.section_id"], name=op.f("fk_opening_disputes_section_id_openings")
        ),
        sa.PrimaryKeyConstraint("section_id", "bid_id", "envelope", "position", name=op.f("pk_opening_disputes")),
    )


def downgrade() -> None:
    op.drop_table("opening_disputes")
    for table in FAULT_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("fault", existing_type=sa.String(length=200), type_=sa.String(length=20))
    with op.batch_alter_table("openings") as batch:
        batch.drop_column("shares_close_at")
