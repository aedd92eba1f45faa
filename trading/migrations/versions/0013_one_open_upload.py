"""One open upload per bidder and section: older open uploads of the same bidder become superseded.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE uploads SET state = 'superseded' WHERE state = 'open' AND EXISTS ("
        " SELECT 1 FROM uploads AS later WHERE later.section_id = uploads.section_id"
        " AND later.organisation_id = uploads.organisation_id AND later.state = 'open'"
        " AND (later.created_at > uploads.created_at OR (later.created_at = uploads.created_at AND later.id > uploads.id)))"
    )
    op.create_index(
        "uq_uploads_open",
        "uploads",
        ["section_id", "organisation_id"],
        unique=True,
        sqlite_where=sa.text("state = 'open'"),
        postgresql_where=sa.text("state = 'open'"),
    )


def downgrade() -> None:
    op.drop_index("uq_uploads_open", table_name="uploads")
