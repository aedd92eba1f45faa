"""Contracts recorded by staff and published by the platform; one supervision alert of a kind per subject.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 11:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trading.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("result_notice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("notice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "parties", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("award_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("variation_reason", sa.Text(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("term", sa.String(length=300), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("performance_place", sa.String(length=300), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("days_after_award", sa.Integer(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recorded_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_contracts_notice_id_notices")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_contracts_project_id_projects")),
        sa.ForeignKeyConstraint(["recorded_by"], ["people.id"], name=op.f("fk_contracts_recorded_by_people")),
        sa.ForeignKeyConstraint(
            ["result_notice_id"], ["notices.id"], name=op.f("fk_contracts_result_notice_id_notices")
        ),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_contracts_section_id_sections")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        # One contract per section: two staff recording at once, one of them is refused.
        sa.UniqueConstraint("section_id", name=op.f("uq_contracts_section_id")),
        sa.UniqueConstraint("notice_id", name=op.f("uq_contracts_notice_id")),
    )
    op.create_index(op.f("ix_contracts_project_id"), "contracts", ["project_id"], unique=False)
    # Payments raise at most one alert of each kind, so existing rows already satisfy it.
    op.create_index(
        "uq_supervision_alerts_kind_subject",
        "supervision_alerts",
        ["kind", "subject_type", "subject_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_supervision_alerts_kind_subject", table_name="supervision_alerts")
    op.drop_index(op.f("ix_contracts_project_id"), table_name="contracts")
    op.drop_table("contracts")
