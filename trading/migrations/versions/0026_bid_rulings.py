"""The supervisors' rulings on bids the opening left disputed (``bid_rulings``, bidding.rulings): one per bid,
with how it counts (revoked or withdrawn, 20号令 §31), why, who ruled and when, and the notice that publishes it;
and the disputed results indexed, for the scheduler's look for those awaiting a ruling (it alerts the supervisors
to them, those of openings published before this revision too).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trading.db

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bid_rulings",
        sa.Column("bid_id", _ID, nullable=False),
        sa.Column("section_id", _ID, nullable=False),
        sa.Column("treated_as", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ruled_by", _ID, nullable=False),
        sa.Column("ruled_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notice_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(["bid_id"], ["bids.id"], name=op.f("fk_bid_rulings_bid_id_bids")),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_bid_rulings_section_id_sections")),
        sa.ForeignKeyConstraint(["ruled_by"], ["people.id"], name=op.f("fk_bid_rulings_ruled_by_people")),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_bid_rulings_notice_id_notices")),
        sa.PrimaryKeyConstraint("bid_id", name=op.f("pk_bid_rulings")),
    )
    op.create_index(op.f("ix_bid_rulings_section_id"), "bid_rulings", ["section_id"], unique=False)
    op.create_index(
        "ix_opening_results_disputed",
        "opening_results",
        ["bid_id"],
        sqlite_where=sa.text("outcome = 'disputed'"),
        postgresql_where=sa.text("outcome = 'disputed'"),
    )


def downgrade() -> None:
    op.drop_index("ix_opening_results_disputed", table_name="opening_results")
    op.drop_index(op.f("ix_bid_rulings_section_id"), table_name="bid_rulings")
    op.drop_table("bid_rulings")
