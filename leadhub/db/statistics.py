"""Planner statistics kept fresh while a young database grows fast (PostgreSQL, then SQLite below).

PostgreSQL plans the foreign-key checks of every row written (an email's, phone's, match key's or event's
contact) and the look-ups of stored emails and phones from each table's statistics, and a connection keeps
those plans until the statistics change. Planned while a table was empty or never analyzed, they read the
whole table instead of its key, so every write gets slower as the table grows. Autovacuum fixes that within a
minute or so (``autovacuum_naptime``), in time for a steady trickle, not for a new workspace taking its first
leads: on a fresh database, `POST /v1/contacts` under load cost 2.2 ms of server CPU per request after a few
seconds and 3.4 ms a few seconds later, against 0.5 ms with statistics.

So `serve` looks every few seconds (``watch``), and a batch before it writes (``contacts.batch``), for
tables changed by more rows than their statistics count (1,000 at least), and analyzes those. Each table is
then analyzed each time it doubles, sampling at most 30,000 rows: a few times in its life, cheap each time;
past that autovacuum's own thresholds come first. The import counts its own rows (``imports.fast``).

SQLite plans each statement when it is prepared, from the statistics its connection read when it loaded
the schema; ``ANALYZE`` does not change the schema, so the other connections of a pool kept the statistics
they opened with. A `serve` started on a small database answered `q` ten times slower once a big load had
landed (47 against 5 ms at 300,000 contacts), however often it analyzed since. So on SQLite a refresh
(``refresh_sqlite``: sampled ``ANALYZE``, then an empty schema change) makes every connection read the
schema and its statistics again; `serve` runs it when contacts has doubled since (``watch``, whoever wrote
them: `leadhub import` is another process) and in its periodic housekeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text

from leadhub.db.engine import Database

log = logging.getLogger(__name__)

# Below this many changed rows a table's plans cost too little to be worth an ANALYZE.
MIN_ROWS = 1000
WATCH_EVERY_SECONDS = 2.0

_OUTGROWN = text(
    "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
    " WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze > greatest(c.reltuples, :least)"
    " ORDER BY s.relname"
)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def refresh(db: Database, least: int = MIN_ROWS) -> list[str]:
    """Analyze the tables changed by more rows than their statistics count (and ``least`` at least);
    answers their names (none on SQLite). Concurrent callers don't queue behind one another: a table
    another ANALYZE holds is skipped (it is being refreshed)."""
    if not db.is_postgres:
        return []
    async with db.session() as session:
        names = list(await session.scalars(_OUTGROWN, {"least": least}))
        if names:
            await session.execute(text(f"ANALYZE (SKIP_LOCKED) {', '.join(map(_quoted, names))}"))
        await session.commit()
    return names


# Created and dropped in one transaction: nothing stays, but the schema has changed.
_SQLITE_EPOCH = "leadhub_statistics_epoch"
# contacts' row count as the statistics have it: the first number of its indexes' sqlite_stat1 rows.
_SQLITE_KNOWN = text(
    "SELECT coalesce(max(CAST(substr(stat, 1, instr(stat || ' ', ' ') - 1) AS INTEGER)), 0) FROM sqlite_stat1"
    " WHERE tbl = 'contacts'"
)
_SQLITE_ROWS = text("SELECT coalesce(max(rowid), 0) FROM contacts")  # a seek, not a count


async def refresh_sqlite(db: Database) -> None:
    """SQLite: sampled statistics (a bounded read per index: milliseconds at a million contacts), read again by
    every connection of every process at its next statement."""
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        await conn.exec_driver_sql("ANALYZE")
        await conn.exec_driver_sql(f"CREATE TABLE {_SQLITE_EPOCH} (x)")
        await conn.exec_driver_sql(f"DROP TABLE {_SQLITE_EPOCH}")


async def _sqlite_outgrown(db: Database) -> bool:
    async with db.read_session() as session:
        known = int(await session.scalar(_SQLITE_KNOWN) or 0)
        rows = int(await session.scalar(_SQLITE_ROWS) or 0)
    return rows >= MIN_ROWS and rows > 2 * known


async def watch(db: Database, stop: asyncio.Event, every: float = WATCH_EVERY_SECONDS) -> None:
    """Every ``every`` seconds until ``stop``: ``refresh`` (PostgreSQL); on SQLite ``refresh_sqlite`` when
    contacts has more than doubled since its statistics were taken."""
    while not stop.is_set():
        try:
            if db.is_postgres:
                analyzed = await refresh(db)
                if analyzed:
                    log.info("planner statistics refreshed", extra={"tables": analyzed})
            elif await _sqlite_outgrown(db):
                await refresh_sqlite(db)
                log.info("planner statistics refreshed", extra={"tables": ["*"]})
        except Exception:  # a transient database error must not end the watch
            log.exception("planner statistics refresh failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
