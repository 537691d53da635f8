"""The storage rules of the house, checked on the migrated database itself."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from leadhub.db.engine import Database
from leadhub.db.models import metadata
from tests.conftest import Tenant
from tests.contacts.support import create_contact

# Tables above the tenants: a workspace row *is* a tenant, and keys may span an organization's workspaces.
CONTROL_PLANE = {"organizations", "workspaces", "api_keys", "users", "web_sessions", "alembic_version"}
# SQLite's FTS5 index for `q` (migration 0011) and the shadow tables FTS5 creates for it. A virtual table has
# no primary key to check and no model (alembic cannot describe it), and the shadow tables are FTS5's own
# storage keyed by its segment and row ids; the tenant wall is the `workspace_id` column the index carries,
# which test_sqlite_search_index_carries_workspace_id_and_stays_in_step checks instead.
FTS_TABLES = {"contacts_fts"}
FTS_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")
FTS_TRIGGERS = {"contacts_fts_ai", "contacts_fts_ad", "contacts_fts_au"}


def _is_fts(table: str) -> bool:
    return table in FTS_TABLES or any(table == f"{t}{s}" for t in FTS_TABLES for s in FTS_SHADOW_SUFFIXES)


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
    tenant_tables = {name: keys for name, keys in tables.items() if name not in CONTROL_PLANE and not _is_fts(name)}
    assert "contacts" in tenant_tables and "events" in tenant_tables
    for name, keys in tenant_tables.items():
        assert keys["pk"][0] == "workspace_id", f"{name} primary key {keys['pk']}"
        for columns in keys["unique"] + keys["unique_indexes"]:
            assert columns[0] == "workspace_id", f"{name} unique key {columns}"


async def test_migrations_build_exactly_the_models_schema(database: Database) -> None:
    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return not (type_ == "table" and name is not None and _is_fts(name))

    def diff(sync_conn: Any) -> list[Any]:
        def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
            # An index the models declare for one dialect only (Index.ddl_if) exists on that dialect only.
            ddl_if = getattr(obj, "_ddl_if", None) if type_ == "index" and not reflected else None
            if ddl_if is not None and ddl_if.dialect is not None:
                return bool(sync_conn.dialect.name == ddl_if.dialect)
            return True

        opts = {"compare_type": False, "include_name": include_name, "include_object": include_object}
        context = MigrationContext.configure(sync_conn, opts=opts)
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


async def test_sqlite_search_index_carries_workspace_id_and_stays_in_step(
    database: Database, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    if not database.is_sqlite:
        pytest.skip("FTS5 is SQLite's; PostgreSQL searches through its trigram index")
    async with database.engine.connect() as conn:
        names = set((await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))).scalars())
        triggers = set((await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))).scalars())
        columns = [r[1] for r in (await conn.execute(text("PRAGMA table_info(contacts_fts)"))).all()]
    # The exemption above names exactly the tables FTS5 made, nothing a later migration adds.
    assert {n for n in names if _is_fts(n)} == {"contacts_fts", "contacts_fts_data", "contacts_fts_idx"} | {
        "contacts_fts_docsize",
        "contacts_fts_config",
    }
    assert columns == ["workspace_id", "search_text"]
    assert triggers >= FTS_TRIGGERS, "a rebuild of contacts dropped the triggers that keep contacts_fts in step"

    h = tenant.headers
    made = [
        await create_contact(client, tenant, {"first_name": f"Schema{i}", "email": f"s{i}@acme.io"}) for i in range(3)
    ]
    patched = await client.patch(f"/v1/contacts/{made[0]['id']}", json={"last_name": "Renamed"}, headers=h)
    assert patched.status_code == 200, patched.text
    assert (await client.delete(f"/v1/contacts/{made[1]['id']}", headers=h)).status_code in (200, 204)
    async with database.engine.connect() as conn:
        # Compares the index with the content table row by row; raises SQLITE_CORRUPT_VTAB when out of step.
        await conn.execute(text("INSERT INTO contacts_fts(contacts_fts, rank) VALUES ('integrity-check', 1)"))
