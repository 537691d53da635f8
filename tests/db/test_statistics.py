"""Planner statistics kept fresh while tables grow (db.statistics): a table changed by more rows than its
statistics count is analyzed, by a call or by `serve`'s watch; one that has not is left alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from leadhub.app import create_app
from leadhub.config import Settings
from leadhub.db import statistics
from leadhub.db.engine import Database
from tests.conftest import ENGINE, pg_statements

PROBE = "statistics_probe"


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
        pytest.skip("SQLite plans each statement as it is prepared")
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


async def test_sqlite_has_nothing_to_refresh(database: Database) -> None:
    if ENGINE != "sqlite":
        pytest.skip("the SQLite answer")
    assert await statistics.refresh(database) == []
    await asyncio.wait_for(statistics.watch(database, asyncio.Event()), 1)  # returns at once
