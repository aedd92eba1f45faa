"""Each audit entry names the centre whose business it was, so that a supervisor reads its own centre's
trail and no other; existing entries get the centre of what they are about, else of who acted.

The trail is append-only (triggers, revision 0003): they are lifted for the one UPDATE that fills the new
column, and put back as they were.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

#: subject type → (table, how it reaches the project)
SUBJECTS = {
    "section": "sections",
    "payment": "payments",
    "contract": "contracts",
    "alert": "supervision_alerts",
}


def _fill() -> None:
    op.execute(
        "UPDATE audit_entries SET centre_id = (SELECT p.centre_id FROM projects p "
        "WHERE CAST(p.id AS VARCHAR(64)) = audit_entries.subject_id) WHERE subject_type = 'project'"
    )
    for subject, table in SUBJECTS.items():
        op.execute(
            f"UPDATE audit_entries SET centre_id = (SELECT p.centre_id FROM {table} t JOIN projects p "
            f"ON p.id = t.project_id WHERE CAST(t.id AS VARCHAR(64)) = audit_entries.subject_id) "
            f"WHERE subject_type = '{subject}'"
        )
    op.execute(
        "UPDATE audit_entries SET centre_id = (SELECT centre_id FROM people WHERE people.id = audit_entries.actor_id) "
        "WHERE centre_id IS NULL"
    )


def upgrade() -> None:
    op.add_column("audit_entries", sa.Column("centre_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_audit_entries_centre", "audit_entries", ["centre_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
        _fill()
        op.execute("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only")
    else:
        op.execute("DROP TRIGGER audit_entries_no_update")
        _fill()
        op.execute(
            "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'rows of audit_entries are append-only'); END"
        )


def downgrade() -> None:
    op.drop_index("ix_audit_entries_centre", table_name="audit_entries")
    # Not batch mode: on SQLite it would rebuild the table without its append-only triggers.
    op.execute("ALTER TABLE audit_entries DROP COLUMN centre_id")
