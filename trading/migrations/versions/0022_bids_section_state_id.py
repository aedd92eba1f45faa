"""A section's bids in a state are indexed in bid order (``ix_bids_section_state_id``, which replaces
``ix_bids_section_state``): the opening job reads the active bids a batch at a time after the last one
(``section_id = … AND state = 'active' AND id > … ORDER BY id LIMIT …``), and each batch is then one index
range, however many bids the section and the table hold.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_bids_section_state_id", "bids", ["section_id", "state", "id"])
    op.drop_index("ix_bids_section_state", table_name="bids")


def downgrade() -> None:
    op.create_index("ix_bids_section_state", "bids", ["section_id", "state"])
    op.drop_index("ix_bids_section_state_id", table_name="bids")
