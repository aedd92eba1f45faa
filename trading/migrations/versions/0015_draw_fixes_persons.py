"""A drawn panel names the accounts it seated (result["persons"]), so that relinking an expert later cannot
change who sits. Draws already run get the accounts their experts are linked to now.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    draws = sa.table("expert_draws", sa.column("section_id", sa.BigInteger()), sa.column("result", JSON))
    experts = sa.table("experts", sa.column("id", sa.BigInteger()), sa.column("person_id", sa.BigInteger()))
    connection = op.get_bind()
    linked = dict(connection.execute(sa.select(experts.c.id, experts.c.person_id)).all())
    for section_id, result in connection.execute(sa.select(draws.c.section_id, draws.c.result)).all():
        if not result or "persons" in result:
            continue
        result = dict(result, persons={str(e): linked.get(int(e)) for e in result["drawn"]})
        connection.execute(draws.update().where(draws.c.section_id == section_id).values(result=result))


def downgrade() -> None:
    pass  # the extra key is harmless to the code before it
