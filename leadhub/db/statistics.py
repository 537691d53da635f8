"""Planner statistics kept fresh on PostgreSQL while a young database grows fast.

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
SQLite plans each statement as it is prepared, from its own ``ANALYZE`` (`serve`'s housekeeping).
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


async def watch(db: Database, stop: asyncio.Event, every: float = WATCH_EVERY_SECONDS) -> None:
    """``refresh`` every ``every`` seconds until ``stop`` (PostgreSQL; returns at once on SQLite)."""
    if not db.is_postgres:
        return
    while not stop.is_set():
        try:
            analyzed = await refresh(db)
            if analyzed:
                log.info("planner statistics refreshed", extra={"tables": analyzed})
        except Exception:  # a transient database error must not end the watch
            log.exception("planner statistics refresh failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
