"""The openers' shares are kept once, in their signed uploads (``opening_uploads.document``): the opening job reads
them from there (bidding.opening_batch.uploaded_shares), and ``opening_shares`` — one row per share, a copy of what
the documents hold, tens of thousands of rows written by the upload that completes the committee — goes. An opening
under way when this runs reads the same shares from the same documents. The downgrade fills the rows back from them.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 12:00:00.000000
"""

from __future__ import annotations

import base64
import json

import sqlalchemy as sa
from alembic import op

import trading.db

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

UPLOADS = sa.table(
    "opening_uploads",
    sa.column("section_id", sa.BigInteger()),
    sa.column("position", sa.SmallInteger()),
    sa.column("document", sa.LargeBinary()),
    sa.column("uploaded_at", trading.db.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    op.drop_table("opening_shares")


def downgrade() -> None:
    shares = op.create_table(
        "opening_shares",
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bid_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("envelope", sa.String(length=20), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("share", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bid_id"], ["bids.id"], name=op.f("fk_opening_shares_bid_id_bids")),
        sa.ForeignKeyConstraint(
            ["section_id"], ["openings.section_id"], name=op.f("fk_opening_shares_section_id_openings")
        ),
        sa.PrimaryKeyConstraint("section_id", "bid_id", "envelope", "position", name=op.f("pk_opening_shares")),
    )
    bind = op.get_bind()
    for section_id, position, document, uploaded_at in bind.execute(sa.select(UPLOADS)).all():
        rows = [
            {
                "section_id": section_id,
                "bid_id": item["bid_id"],
                "envelope": item["envelope"],
                "position": position,
                "share": base64.b64decode(item.get("share", ""), validate=True),
                "uploaded_at": uploaded_at,
            }
            for item in json.loads(bytes(document))["shares"]
            if "reserve_id" not in item and "dispute_key" not in item
        ]
        if rows:
            bind.execute(shares.insert(), rows)
