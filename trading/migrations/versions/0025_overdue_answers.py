"""Partial indexes for the scheduler's look, every tick, for objection replies and complaint decisions that are
overdue (evaluation.overdue): only the answers still awaited are indexed, by their due time, so the look stays
one short index range however many objections and complaints a province's history holds.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_objections_unanswered_due", "objections", "reply_due_at", "replied_at IS NULL"),
    ("ix_complaints_filed_due", "complaints", "accept_due_at", "state = 'filed'"),
    ("ix_complaints_accepted_due", "complaints", "ruling_due_at", "state = 'accepted'"),
)


def upgrade() -> None:
    for name, table, column, where in _INDEXES:
        op.create_index(name, table, [column], sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, table, _column, _where in _INDEXES:
        op.drop_index(name, table_name=table)
