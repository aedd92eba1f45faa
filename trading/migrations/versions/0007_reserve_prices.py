"""Reserve and control prices (标底/最高投标限价) sealed by staff and opened with the bids, and the centre
signing keys they are signed with.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 20:20:23.509418
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trading.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "centre_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("centre_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("registered_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", trading.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["trading_centres.id"], name=op.f("fk_centre_keys_centre_id_trading_centres")
        ),
        sa.ForeignKeyConstraint(["registered_by"], ["people.id"], name=op.f("fk_centre_keys_registered_by_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_centre_keys")),
        sa.UniqueConstraint("public_key", name=op.f("uq_centre_keys_public_key")),
    )
    op.create_index(op.f("ix_centre_keys_centre_id"), "centre_keys", ["centre_id"], unique=False)
    op.create_table(
        "reserve_prices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("signing_key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("manifest", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "sealed_shares",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "blobs", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("received_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", trading.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "event_details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("event_salt", sa.LargeBinary(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("form", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True),
        sa.Column("data_key", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("fault", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_reserve_prices_person_id_people")),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_reserve_prices_section_id_sections")),
        sa.ForeignKeyConstraint(
            ["signing_key_id"], ["centre_keys.id"], name=op.f("fk_reserve_prices_signing_key_id_centre_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reserve_prices")),
        sa.UniqueConstraint("manifest_sha256", name=op.f("uq_reserve_prices_manifest_sha256")),
    )
    op.create_index(op.f("ix_reserve_prices_section_id"), "reserve_prices", ["section_id"], unique=False)
    op.create_table(
        "reserve_shares",
        sa.Column("reserve_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("share", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reserve_id"], ["reserve_prices.id"], name=op.f("fk_reserve_shares_reserve_id_reserve_prices")
        ),
        sa.PrimaryKeyConstraint("reserve_id", "position", name=op.f("pk_reserve_shares")),
    )


def downgrade() -> None:
    op.drop_table("reserve_shares")
    op.drop_index(op.f("ix_reserve_prices_section_id"), table_name="reserve_prices")
    op.drop_table("reserve_prices")
    op.drop_index(op.f("ix_centre_keys_centre_id"), table_name="centre_keys")
    op.drop_table("centre_keys")
