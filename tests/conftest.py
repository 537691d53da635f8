"""Fixtures: one real database per test session and engine (a SQLite file, or a PostgreSQL schema), the
real ASGI app over it, and a fresh organization + workspace + key per test (tenants are walls, so tests
never see each other's rows)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from leadhub.app import create_app
from leadhub.auth import service as auth
from leadhub.config import Settings
from leadhub.db import migrate
from leadhub.db.engine import Database
from leadhub.uow import unit_of_work

ENGINE = os.environ.get("LEADHUB_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get("LEADHUB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def pytest_report_header() -> str:
    return f"leadhub test database engine: {ENGINE}"


async def _pg_admin(sql: str) -> None:
    await pg_statements(None, sql)


async def pg_statements(db: Database | None, *statements: str) -> None:
    """Statements on a PostgreSQL connection of their own, in ``db``'s schema (its activity counts reach
    pg_stat_user_tables when it closes)."""
    server_settings = {"search_path": db.schema} if db is not None and db.schema else None
    conn = await asyncpg.connect(
        POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"), server_settings=server_settings
    )
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    if ENGINE == "postgres":
        schema = f"lh_test_{uuid.uuid4().hex[:12]}"
        await _pg_admin(f'CREATE SCHEMA "{schema}"')
        db = Database(POSTGRES_URL, schema=schema, pool_size=20)
    else:
        path: Path = tmp_path_factory.mktemp("db") / "leadhub.db"
        schema = None
        db = Database(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(db)
    yield db
    await db.dispose()
    if schema:
        await _pg_admin(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("data"), public_url="http://leadhub.test")


@pytest.fixture(scope="session")
async def app(database: Database, settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings, database, background=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://leadhub.test") as c:
        yield c


@dataclass
class Tenant:
    """An organization with one workspace and an admin organization key."""

    db: Database
    org_id: uuid.UUID
    ws_id: uuid.UUID
    ws_public_id: str
    key: str
    region: str | None = "US"
    extra_keys: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def make_key(self, scopes: list[str], *, workspace: bool = False) -> str:
        """A new key of this tenant: bound to its workspace, or an organization key."""
        async with unit_of_work(self.db) as session:
            _, raw = await auth.create_api_key(
                session, self.org_id, workspace_id=self.ws_id if workspace else None, name="test", scopes=scopes
            )
        return raw

    async def add_workspace(self, name: str = "second") -> str:
        async with unit_of_work(self.db) as session:
            ws = await auth.create_workspace(session, self.org_id, name, self.region)
        return ws.public_id


async def new_tenant(db: Database, region: str | None = "US") -> Tenant:
    async with unit_of_work(db) as session:
        org = await auth.create_organization(session, f"org {uuid.uuid4().hex[:6]}")
        ws = await auth.create_workspace(session, org.id, "main", region)
        _, raw = await auth.create_api_key(session, org.id, workspace_id=None, name="admin", scopes=["admin"])
    return Tenant(db=db, org_id=org.id, ws_id=ws.id, ws_public_id=ws.public_id, key=raw, region=region)


@pytest.fixture
async def tenant(database: Database) -> Tenant:
    return await new_tenant(database)


@pytest.fixture
async def other_tenant(database: Database) -> Tenant:
    return await new_tenant(database)
