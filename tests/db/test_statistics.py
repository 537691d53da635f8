"""Planner statistics kept fresh while tables grow (db.statistics): a table changed by more rows than its
statistics count is analyzed, by a call or by `serve`'s watch; one that has not is left alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from leadhub import uow
from leadhub.app import create_app
from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.config import Settings
from leadhub.contacts import service as contacts
from leadhub.contacts.schemas import ContactIn
from leadhub.db import migrate, statistics
from leadhub.db.engine import Database
from tests.conftest import ENGINE, new_tenant, pg_statements

PROBE = "statistics_probe"
ACTOR = Actor(type="system", id="test", door="test")


async def _known(db: Database) -> float:
    """The probe's row count as the planner's statistics have it (-1: never analyzed)."""
    async with db.read_session() as session:
        value = await session.scalar(text(f"SELECT reltuples FROM pg_class WHERE oid = '{PROBE}'::regclass"))
    return float(value)


async def _grow(db: Database, rows: int) -> None:
    """``rows`` more probe rows, then wait until the activity counts show them."""
    await pg_statements(db, f"INSERT INTO {PROBE} SELECT generate_series(1, {rows})")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        async with db.read_session() as session:
            changed = await session.scalar(
                text(f"SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relid = '{PROBE}'::regclass")
            )
        if changed >= rows:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the inserted rows never reached the activity counts")


@pytest.fixture
async def probe(database: Database) -> AsyncIterator[Database]:
    if ENGINE != "postgres":
        pytest.skip("PostgreSQL's activity counts and statistics")
    # Autovacuum's own analysis would race the refresh this test watches for.
    await pg_statements(database, f"CREATE TABLE {PROBE} (n int) WITH (autovacuum_enabled = false)")
    yield database
    await pg_statements(database, f"DROP TABLE {PROBE}")


async def test_a_table_that_outgrew_its_statistics_is_analyzed_and_only_then(probe: Database) -> None:
    await _grow(probe, statistics.MIN_ROWS - 1)
    assert PROBE not in await statistics.refresh(probe)  # too few rows to be worth it
    assert await _known(probe) == -1

    await _grow(probe, 2)
    assert PROBE in await statistics.refresh(probe)
    assert await _known(probe) == statistics.MIN_ROWS + 1

    assert PROBE not in await statistics.refresh(probe)  # fresh: nothing to do
    await _grow(probe, statistics.MIN_ROWS + 1)  # as many changes as it counts rows: not more
    assert PROBE not in await statistics.refresh(probe)
    await _grow(probe, 1)
    assert PROBE in await statistics.refresh(probe)
    assert await _known(probe) == 2 * statistics.MIN_ROWS + 3


async def test_serve_analyzes_a_growing_table_within_seconds(probe: Database, settings: Settings) -> None:
    await _grow(probe, 5000)
    application = create_app(settings, probe, background=True)
    async with application.router.lifespan_context(application):
        deadline = time.monotonic() + 3 * statistics.WATCH_EVERY_SECONDS + 5
        while await _known(probe) != 5000:
            assert time.monotonic() < deadline, "serve never analyzed the table"
            await asyncio.sleep(0.1)


async def _schema_version(db: Database) -> int:
    async with db.read_session() as session:
        return int(await session.scalar(text("PRAGMA schema_version")) or 0)


async def test_a_sqlite_refresh_makes_every_connection_read_the_statistics_again(tmp_path: Path) -> None:
    if ENGINE != "sqlite":
        pytest.skip("SQLite's statistics")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'stats.db'}")
    try:
        await migrate.upgrade(db)
        tenant = await new_tenant(db)
        async with uow.unit_of_work(db) as session:
            ws = await session.get(Workspace, tenant.ws_id)
            assert ws is not None
            for n in range(statistics.MIN_ROWS):
                await contacts.create(session, ws, ACTOR, ContactIn(email=f"p{n}@example.com"))
        # ANALYZE alone leaves the schema as it is: other connections would keep what they read at open.
        before = await _schema_version(db)
        stop = asyncio.Event()
        watching = asyncio.create_task(statistics.watch(db, stop, every=0.05))
        deadline = time.monotonic() + 10
        while await _schema_version(db) == before:
            assert time.monotonic() < deadline, "the watch never refreshed a doubled contacts table"
            await asyncio.sleep(0.05)
        stop.set()
        await watching
        async with db.read_session() as session:
            known = await session.scalar(statistics._SQLITE_KNOWN)
            leftover = await session.scalar(
                text("SELECT count(*) FROM sqlite_master WHERE name = 'leadhub_statistics_epoch'")
            )
        assert known == statistics.MIN_ROWS and leftover == 0
        after = await _schema_version(db)
        assert not await statistics._sqlite_outgrown(db)  # fresh: the next look does nothing
        await statistics.refresh_sqlite(db)
        assert await _schema_version(db) > after
    finally:
        await db.dispose()
