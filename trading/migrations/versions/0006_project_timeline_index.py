"""Index a project's notices in publication order, so a notice page's project timeline reads only the
rows it shows (at a million notices the old (project_id, id) index made it sort the whole project).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 19:25:46.261288
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f("ix_notices_project"), table_name="notices")
    op.create_index("ix_notices_project", "notices", ["project_id", "first_published_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_notices_project", table_name="notices")
    op.create_index(op.f("ix_notices_project"), "notices", ["project_id", "id"], unique=False)
