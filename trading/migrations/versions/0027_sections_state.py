"""Sections indexed by state (``ix_sections_state``): the scheduler looks on every tick, on every worker, for the
awarded sections still without a contract (trading.funds.contracts) — without the index, a scan of every section
a province has ever traded, four times a second per worker.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 23:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_sections_state"), "sections", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sections_state"), table_name="sections")
