"""The opening runs as a background job owned by the database (bidding.opening_job): ``openings`` records when
the opening became due, which worker holds the job and until when (a lease that lapses if the worker dies), and
how many bids the committed batches have opened, for the opening hall's progress.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trading.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("openings") as batch:
        batch.add_column(sa.Column("due_at", trading.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("lease_until", trading.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("bids_total", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("bids_opened", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("openings") as batch:
        batch.drop_column("bids_opened")
        batch.drop_column("bids_total")
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
        batch.drop_column("due_at")
