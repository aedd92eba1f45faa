"""Deadline cuts are signed and kept (log_deadline_checkpoints.cut_note, cut_at); a bidder's signing key
carries the salt of its logged owner commitment (bidder_keys.owner_salt), so the key directory can show
who owns a key once a section it signed a bid in has opened. Rows made before have neither: their cuts
and keys were never logged, and the verifier says so.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trading.db

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("log_deadline_checkpoints") as batch:
        batch.add_column(sa.Column("cut_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("cut_at", trading.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("bidder_keys") as batch:
        batch.add_column(sa.Column("owner_salt", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bidder_keys") as batch:
        batch.drop_column("owner_salt")
    with op.batch_alter_table("log_deadline_checkpoints") as batch:
        batch.drop_column("cut_at")
        batch.drop_column("cut_note")
