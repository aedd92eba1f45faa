"""The evaluation on the platform: plans, score sheets and reports; the candidate publicity with its objections
and complaints; the award and result letters.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21 22:17:45.403697
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trading.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candidate_publicities",
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("notice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("starts_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paused_at", trading.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_seconds", sa.BigInteger(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_candidate_publicities_notice_id_notices")),
        sa.ForeignKeyConstraint(
            ["section_id"], ["sections.id"], name=op.f("fk_candidate_publicities_section_id_sections")
        ),
        sa.PrimaryKeyConstraint("section_id", name=op.f("pk_candidate_publicities")),
    )
    op.create_table(
        "evaluation_plans",
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column(
            "plan", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("plan_sha256", sa.String(length=64), nullable=False),
        sa.Column("set_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_evaluation_plans_section_id_sections")),
        sa.ForeignKeyConstraint(["set_by"], ["people.id"], name=op.f("fk_evaluation_plans_set_by_people")),
        sa.PrimaryKeyConstraint("section_id", name=op.f("pk_evaluation_plans")),
    )
    op.create_table(
        "evaluation_reports",
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "report", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("report_sha256", sa.String(length=64), nullable=False),
        sa.Column("void", sa.Boolean(), nullable=False),
        sa.Column("produced_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("produced_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["produced_by"], ["people.id"], name=op.f("fk_evaluation_reports_produced_by_people")),
        sa.ForeignKeyConstraint(
            ["section_id"], ["sections.id"], name=op.f("fk_evaluation_reports_section_id_sections")
        ),
        sa.PrimaryKeyConstraint("section_id", name=op.f("pk_evaluation_reports")),
    )
    op.create_table(
        "objections",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("filed_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reply_due_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("replied_at", trading.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("replied_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reply_notice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_objections_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_objections_person_id_people")),
        sa.ForeignKeyConstraint(["replied_by"], ["people.id"], name=op.f("fk_objections_replied_by_people")),
        sa.ForeignKeyConstraint(
            ["reply_notice_id"], ["notices.id"], name=op.f("fk_objections_reply_notice_id_notices")
        ),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_objections_section_id_sections")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objections")),
    )
    op.create_index(op.f("ix_objections_section_id"), "objections", ["section_id"], unique=False)
    op.create_table(
        "result_letters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column(
            "content", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("issued_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_result_letters_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_result_letters_section_id_sections")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_letters")),
        sa.UniqueConstraint("section_id", "organisation_id", name=op.f("uq_result_letters_section_id_organisation_id")),
    )
    op.create_index(op.f("ix_result_letters_organisation_id"), "result_letters", ["organisation_id"], unique=False)
    op.create_index(op.f("ix_result_letters_section_id"), "result_letters", ["section_id"], unique=False)
    op.create_table(
        "score_sheets",
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("expert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "entries", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("updated_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", trading.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sheet_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"], name=op.f("fk_score_sheets_expert_id_experts")),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_score_sheets_section_id_sections")),
        sa.PrimaryKeyConstraint("section_id", "expert_id", name=op.f("pk_score_sheets")),
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("section_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("objection_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("filed_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accept_due_at", trading.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("decided_at", trading.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("ruling_due_at", trading.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ruling", sa.Text(), nullable=True),
        sa.Column("ruled_at", trading.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["decided_by"], ["people.id"], name=op.f("fk_complaints_decided_by_people")),
        sa.ForeignKeyConstraint(
            ["objection_id"], ["objections.id"], name=op.f("fk_complaints_objection_id_objections")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_complaints_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_complaints_person_id_people")),
        sa.ForeignKeyConstraint(["section_id"], ["sections.id"], name=op.f("fk_complaints_section_id_sections")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    op.create_index(op.f("ix_complaints_section_id"), "complaints", ["section_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_complaints_section_id"), table_name="complaints")
    op.drop_table("complaints")
    op.drop_table("score_sheets")
    op.drop_index(op.f("ix_result_letters_section_id"), table_name="result_letters")
    op.drop_index(op.f("ix_result_letters_organisation_id"), table_name="result_letters")
    op.drop_table("result_letters")
    op.drop_index(op.f("ix_objections_section_id"), table_name="objections")
    op.drop_table("objections")
    op.drop_table("evaluation_reports")
    op.drop_table("evaluation_plans")
    op.drop_table("candidate_publicities")
