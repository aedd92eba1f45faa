"""Payments and instalments collected (fund usage), and the alerts they raise for supervisors.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 20:50:33.135161
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trading.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", trading.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["people.id"], name=op.f("fk_supervision_alerts_acknowledged_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_supervision_alerts_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_alerts")),
    )
    op.create_index(op.f("ix_supervision_alerts_created_at"), "supervision_alerts", ["created_at"], unique=False)
    op.create_index(op.f("ix_supervision_alerts_project_id"), "supervision_alerts", ["project_id"], unique=False)
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contract_notice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payer", sa.String(length=200), nullable=False),
        sa.Column("payee", sa.String(length=200), nullable=False),
        sa.Column("payee_credit_code", sa.String(length=18), nullable=False),
        sa.Column("purpose", sa.String(length=300), nullable=False),
        sa.Column("milestone", sa.String(length=200), nullable=False),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "flags", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recorded_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_notice_id"], ["notices.id"], name=op.f("fk_payments_contract_notice_id_notices")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_payments_project_id_projects")),
        sa.ForeignKeyConstraint(["recorded_by"], ["people.id"], name=op.f("fk_payments_recorded_by_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_project_id"), "payments", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_payments_project_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_supervision_alerts_project_id"), table_name="supervision_alerts")
    op.drop_index(op.f("ix_supervision_alerts_created_at"), table_name="supervision_alerts")
    op.drop_table("supervision_alerts")
