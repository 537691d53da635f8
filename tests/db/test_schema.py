"""The storage rules of the house, checked on the migrated database itself."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from leadhub.db.engine import Database
from leadhub.db.models import metadata

# Tables above the tenants: a workspace row *is* a tenant, and keys may span an organization's workspaces.
CONTROL_PLANE = {"organizations", "workspaces", "api_keys", "users", "web_sessions", "alembic_version"}


def _tables_and_keys(sync_conn: Any) -> dict[str, dict[str, Any]]:
    inspector = inspect(sync_conn)
    result = {}
    for table in inspector.get_table_names():
        result[table] = {
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": [u["column_names"] for u in inspector.get_unique_constraints(table)],
            "unique_indexes": [i["column_names"] for i in inspector.get_indexes(table) if i["unique"]],
        }
    return result


async def test_every_tenant_table_keys_on_workspace_id_first(database: Database) -> None:
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(_tables_and_keys)
    tenant_tables = {name: keys for name, keys in tables.items() if name not in CONTROL_PLANE}
    assert "contacts" in tenant_tables and "events" in tenant_tables
    for name, keys in tenant_tables.items():
        assert keys["pk"][0] == "workspace_id", f"{name} primary key {keys['pk']}"
        for columns in keys["unique"] + keys["unique_indexes"]:
            assert columns[0] == "workspace_id", f"{name} unique key {columns}"


async def test_migrations_build_exactly_the_models_schema(database: Database) -> None:
    def diff(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": False})
        return list(compare_metadata(context, metadata))

    async with database.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite pragmas")
    async with database.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
