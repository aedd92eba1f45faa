"""The expert pool, and the checkable expert draw of each section (committed before the deadline).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 20:32:35.388712
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trading.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "specialities",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("organisation_name", sa.String(length=200), nullable=False),
        sa.Column("organisation_credit_code", sa.String(length=18), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_experts_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experts")),
        sa.UniqueConstraint("person_id", name=op.f("uq_experts_person_id")),
    )
    op.create_table(
        "expert_conflicts",
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("expert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declared_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"], name=op.f("fk_expert_conflicts_expert_id_experts")),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_expert_conflicts_section_id_sections")),
        sa.PrimaryKeyConstraint("section_id", "expert_id", name=op.f("pk_expert_conflicts")),
    )
    op.create_table(
        "expert_draws",
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("count", sa.SmallInteger(), nullable=False),
        sa.Column(
            "specialities",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("seed", sa.LargeBinary(), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column(
            "pool", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("pool_hash", sa.String(length=64), nullable=False),
        sa.Column("committed_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("committed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("beacon", sa.LargeBinary(), nullable=True),
        sa.Column("beacon_tree_size", sa.BigInteger(), nullable=True),
        sa.Column("drawn_at", trading.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "result", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("revealed_at", trading.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["committed_by"], ["people.id"], name=op.f("fk_expert_draws_committed_by_people")),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_expert_draws_section_id_sections")),
        sa.PrimaryKeyConstraint("section_id", name=op.f("pk_expert_draws")),
    )


def downgrade() -> None:
    op.drop_table("expert_draws")
    op.drop_table("expert_conflicts")
    op.drop_table("experts")
