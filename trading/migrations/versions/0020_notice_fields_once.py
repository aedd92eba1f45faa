"""A notice's fields are stored once. A published version's are in its document — the exact bytes published, hashed
and logged — so ``notice_versions.fields``, a second copy of them, goes. The opening record, which the platform
writes whole from its own tables and publishes at once, keeps its fields (megabytes for thousands of bids) only in
its document: its ``notices.fields`` holds the JSON value null, and reads take the fields from its current version.

``notice_versions`` is append-only (0003): on SQLite the table is rebuilt to drop the column, and its triggers are
made again afterwards; the downgrade, which fills the column back from the documents, lifts them meanwhile.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
NOTICES = sa.table("notices", sa.column("id", sa.BigInteger()), sa.column("fields", JSON_TYPE))
VERSIONS = sa.table(
    "notice_versions",
    sa.column("id", sa.BigInteger()),
    sa.column("notice_id", sa.BigInteger()),
    sa.column("version", sa.Integer()),
    sa.column("document", sa.LargeBinary()),
    sa.column("fields", JSON_TYPE),
)
#: The opening records published so far: their fields stay in their documents only.
PUBLISHED_RECORDS = "kind = 'opening_record' AND status = 'published'"


def upgrade() -> None:
    null = "'null'::jsonb" if op.get_bind().dialect.name == "postgresql" else "'null'"
    op.execute(sa.text(f"UPDATE notices SET fields = {null} WHERE {PUBLISHED_RECORDS}"))
    _without_append_only_triggers(_drop_version_fields)


def _drop_version_fields() -> None:
    with op.batch_alter_table("notice_versions") as batch:
        batch.drop_column("fields")


def downgrade() -> None:
    _without_append_only_triggers(_restore_version_fields)


def _restore_version_fields() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("notice_versions") as batch:
        batch.add_column(sa.Column("fields", JSON_TYPE, nullable=True))
    current: dict[int, dict] = {}
    for row_id, notice_id, document in bind.execute(
        sa.select(VERSIONS.c.id, VERSIONS.c.notice_id, VERSIONS.c.document).order_by(VERSIONS.c.version)
    ).all():
        fields = json.loads(bytes(document))["fields"]
        bind.execute(VERSIONS.update().where(VERSIONS.c.id == row_id).values(fields=fields))
        current[notice_id] = fields  # (in version order: the last one is the current version's)
    with op.batch_alter_table("notice_versions") as batch:
        batch.alter_column("fields", existing_type=JSON_TYPE, nullable=False)
    for (notice_id,) in bind.execute(sa.text(f"SELECT id FROM notices WHERE {PUBLISHED_RECORDS}")).all():
        bind.execute(NOTICES.update().where(NOTICES.c.id == notice_id).values(fields=current.get(notice_id, {})))


def _without_append_only_triggers(change: Callable[[], None]) -> None:
    """Run *change* on notice_versions with its append-only triggers (0003) lifted, then put them back."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE notice_versions DISABLE TRIGGER notice_versions_append_only")
        change()
        op.execute("ALTER TABLE notice_versions ENABLE TRIGGER notice_versions_append_only")
        return
    for event in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS notice_versions_no_{event}")
    change()
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER notice_versions_no_{event.lower()} BEFORE {event} ON notice_versions "
            "BEGIN SELECT RAISE(ABORT, 'rows of notice_versions are append-only'); END"
        )
