"""Seed the working-day calendar for 2026 (State Council notice of 4 November 2025) and a provisional 2027.

The rows are written out here, not imported, so that this migration means the same thing forever. Staff
edit the calendar through the API (PUT /api/calendar/{day}); the 2027 rows must be corrected when the
State Council publishes its 2027 arrangement (see trading/rules/holidays.py).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ROWS = [
    ("2026-01-01", "holiday", "元旦"),
    ("2026-01-02", "holiday", "元旦"),
    ("2026-01-03", "holiday", "元旦"),
    ("2026-01-04", "workday", "元旦"),
    ("2026-02-14", "workday", "春节"),
    ("2026-02-15", "holiday", "春节"),
    ("2026-02-16", "holiday", "春节"),
    ("2026-02-17", "holiday", "春节"),
    ("2026-02-18", "holiday", "春节"),
    ("2026-02-19", "holiday", "春节"),
    ("2026-02-20", "holiday", "春节"),
    ("2026-02-21", "holiday", "春节"),
    ("2026-02-22", "holiday", "春节"),
    ("2026-02-23", "holiday", "春节"),
    ("2026-02-28", "workday", "春节"),
    ("2026-04-04", "holiday", "清明节"),
    ("2026-04-05", "holiday", "清明节"),
    ("2026-04-06", "holiday", "清明节"),
    ("2026-05-01", "holiday", "劳动节"),
    ("2026-05-02", "holiday", "劳动节"),
    ("2026-05-03", "holiday", "劳动节"),
    ("2026-05-04", "holiday", "劳动节"),
    ("2026-05-05", "holiday", "劳动节"),
    ("2026-05-09", "workday", "劳动节"),
    ("2026-06-19", "holiday", "端午节"),
    ("2026-06-20", "holiday", "端午节"),
    ("2026-06-21", "holiday", "端午节"),
    ("2026-09-20", "workday", "国庆节"),
    ("2026-09-25", "holiday", "中秋节"),
    ("2026-09-26", "holiday", "中秋节"),
    ("2026-09-27", "holiday", "中秋节"),
    ("2026-10-01", "holiday", "国庆节"),
    ("2026-10-02", "holiday", "国庆节"),
    ("2026-10-03", "holiday", "国庆节"),
    ("2026-10-04", "holiday", "国庆节"),
    ("2026-10-05", "holiday", "国庆节"),
    ("2026-10-06", "holiday", "国庆节"),
    ("2026-10-07", "holiday", "国庆节"),
    ("2026-10-10", "workday", "国庆节"),
    ("2027-01-01", "holiday", "元旦"),
    ("2027-01-02", "holiday", "元旦"),
    ("2027-01-03", "holiday", "元旦"),
    ("2027-02-05", "holiday", "春节"),
    ("2027-02-06", "holiday", "春节"),
    ("2027-02-07", "holiday", "春节"),
    ("2027-02-08", "holiday", "春节"),
    ("2027-02-09", "holiday", "春节"),
    ("2027-02-10", "holiday", "春节"),
    ("2027-02-11", "holiday", "春节"),
    ("2027-02-12", "holiday", "春节"),
    ("2027-04-03", "holiday", "清明节"),
    ("2027-04-04", "holiday", "清明节"),
    ("2027-04-05", "holiday", "清明节"),
    ("2027-05-01", "holiday", "劳动节"),
    ("2027-05-02", "holiday", "劳动节"),
    ("2027-05-03", "holiday", "劳动节"),
    ("2027-05-04", "holiday", "劳动节"),
    ("2027-05-05", "holiday", "劳动节"),
    ("2027-06-09", "holiday", "端午节"),
    ("2027-09-15", "holiday", "中秋节"),
    ("2027-10-01", "holiday", "国庆节"),
    ("2027-10-02", "holiday", "国庆节"),
    ("2027-10-03", "holiday", "国庆节"),
    ("2027-10-04", "holiday", "国庆节"),
    ("2027-10-05", "holiday", "国庆节"),
    ("2027-10-06", "holiday", "国庆节"),
    ("2027-10-07", "holiday", "国庆节"),
]

calendar_days = sa.table(
    "calendar_days",
    sa.column("day", sa.Date),
    sa.column("kind", sa.String),
    sa.column("name", sa.String),
)


def upgrade() -> None:
    op.bulk_insert(calendar_days, [{"day": date.fromisoformat(d), "kind": k, "name": n} for d, k, n in ROWS])


def downgrade() -> None:
    op.execute(calendar_days.delete().where(calendar_days.c.day.in_([date.fromisoformat(d) for d, _, _ in ROWS])))
