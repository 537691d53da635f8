"""Alembic environment: runs on a connection handed over by ``leadhub.db.migrate``."""

from __future__ import annotations

from alembic import context

from leadhub.db.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `leadhub` itself drives migrations
    raise RuntimeError("run migrations through `leadhub init` or leadhub.db.migrate.upgrade()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
