"""`leadhub backup` / `leadhub restore` round-trip the SQLite database: what was there at backup time
comes back, what was written later is gone, and the restored database serves again. On PostgreSQL the
commands point to pg_dump instead."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from leadhub.app import create_app
from leadhub.cli import app as cli
from leadhub.config import Settings
from leadhub.db import migrate
from leadhub.db.engine import Database
from tests.conftest import ENGINE, new_tenant

runner = CliRunner()


async def _names(url: str, data_dir: Path, headers: dict[str, str]) -> list[str]:
    db = Database(url)
    try:
        application = create_app(Settings(data_dir=data_dir, database_url=url), db, background=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as c:
            listed = await c.get("/v1/contacts", params={"sort": "created_at"}, headers=headers)
            assert listed.status_code == 200, listed.text
            return [item["first_name"] for item in listed.json()["data"]]
    finally:
        await db.dispose()


async def _add(url: str, data_dir: Path, headers: dict[str, str], name: str) -> None:
    db = Database(url)
    try:
        application = create_app(Settings(data_dir=data_dir, database_url=url), db, background=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as c:
            assert (await c.post("/v1/contacts", json={"first_name": name}, headers=headers)).status_code == 201
    finally:
        await db.dispose()


@pytest.mark.skipif(ENGINE != "sqlite", reason="engine-independent: runs once, in the SQLite run")
async def test_backup_and_restore_round_trip_the_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'live' / 'leadhub.db'}"
    db = Database(url)
    await migrate.upgrade(db)
    tenant = await new_tenant(db)
    await db.dispose()
    for name in ("Ada", "Grace"):
        await _add(url, tmp_path, tenant.headers, name)

    saved = tmp_path / "backups" / "monday.db"
    made = runner.invoke(cli, ["backup", str(saved), "--database-url", url])
    assert made.exit_code == 0, made.output
    assert "backup written" in made.output and saved.stat().st_size > 0
    again = runner.invoke(cli, ["backup", str(saved), "--database-url", url])
    assert again.exit_code == 2 and "exists" in again.output

    await _add(url, tmp_path, tenant.headers, "Later")
    assert await _names(url, tmp_path, tenant.headers) == ["Ada", "Grace", "Later"]

    refused = runner.invoke(cli, ["restore", str(saved), "--database-url", url])
    assert refused.exit_code == 2 and "--force" in refused.output
    restored = runner.invoke(cli, ["restore", str(saved), "--database-url", url, "--force"])
    assert restored.exit_code == 0, restored.output
    assert await _names(url, tmp_path, tenant.headers) == ["Ada", "Grace"]

    # A fresh location restores too (disaster recovery onto a new machine).
    elsewhere = f"sqlite+aiosqlite:///{tmp_path / 'new' / 'leadhub.db'}"
    assert runner.invoke(cli, ["restore", str(saved), "--database-url", elsewhere]).exit_code == 0
    assert await _names(elsewhere, tmp_path, tenant.headers) == ["Ada", "Grace"]


@pytest.mark.skipif(ENGINE != "sqlite", reason="engine-independent: runs once, in the SQLite run")
def test_restore_refuses_a_file_that_is_not_a_leadhub_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    url = f"sqlite+aiosqlite:///{tmp_path / 'leadhub.db'}"
    result = runner.invoke(cli, ["restore", str(junk), "--database-url", url])
    assert result.exit_code == 2 and "not a leadhub SQLite database" in result.output
    assert not (tmp_path / "leadhub.db").exists()


@pytest.mark.skipif(ENGINE != "sqlite", reason="engine-independent: runs once, in the SQLite run")
def test_backup_points_postgresql_users_to_pg_dump(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    result = runner.invoke(cli, ["backup", str(tmp_path / "x.db"), "--database-url", url])
    assert result.exit_code == 2 and "pg_dump" in result.output
