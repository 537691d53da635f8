"""Backups of the embedded SQLite database with SQLite's online backup API: a consistent copy taken while
`serve` keeps writing (WAL readers never block writers). PostgreSQL is backed up with its own tools
(``pg_dump -Fc`` / ``pg_restore``; see docs/operations.md)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

_PAGES_PER_STEP = 4096  # copy in steps so a large database does not hold the read snapshot in one go


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    bytes: int
    schema_revision: str


def sqlite_path(database_url: str) -> Path:
    """The file of a ``sqlite+aiosqlite:///…`` URL; BackupError for any other engine."""
    if not database_url.startswith("sqlite"):
        raise BackupError(
            "leadhub backup/restore handle the embedded SQLite database; back PostgreSQL up with "
            "`pg_dump -Fc` and restore with `pg_restore` (see docs/operations.md)"
        )
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    return Path(database)


def _check(conn: sqlite3.Connection, what: Path) -> str:
    """The schema revision of a healthy leadhub database; BackupError otherwise."""
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not a leadhub SQLite database ({exc})") from None
    if verdict is None or verdict[0] != "ok":
        raise BackupError(f"{what} failed SQLite's integrity check: {verdict}")
    if revision is None:
        raise BackupError(f"{what} has no schema revision: not a leadhub database")
    return str(revision[0])


def backup(database_url: str, destination: Path) -> BackupInfo:
    """Copy the live database to ``destination`` (which must not exist) and verify the copy."""
    source = sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    if destination.exists():
        raise BackupError(f"{destination} exists; choose a new file")
    destination.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(destination)
    try:
        src.backup(dst, pages=_PAGES_PER_STEP)
        revision = _check(dst, destination)
    finally:
        dst.close()
        src.close()
    return BackupInfo(destination, destination.stat().st_size, revision)


def restore(database_url: str, source: Path, *, force: bool = False) -> BackupInfo:
    """Replace the database with the backup at ``source``. Stop `serve` and workers first; ``force`` is
    needed to overwrite an existing database."""
    target = sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"no backup at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        revision = _check(src, source)
        if target.exists() and not force:
            raise BackupError(f"{target} exists; pass --force to replace it with the backup")
        target.parent.mkdir(parents=True, exist_ok=True)
        # The backup API writes through SQLite (locks, WAL and all), never a raw file copy over a live file.
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=_PAGES_PER_STEP)
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dst.close()
    finally:
        src.close()
    return BackupInfo(target, target.stat().st_size, revision)
