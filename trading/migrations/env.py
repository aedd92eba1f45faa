"""Alembic environment. :mod:`trading.migrate` hands in a live connection (from the async engine, via
``run_sync``); batch mode is on for SQLite so that ALTERs work there too."""

from __future__ import annotations

from alembic import context

from trading.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
