"""`leadhub backup` and `leadhub restore` (registered on the main command line by ``register``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leadhub.config import Settings
from leadhub.ops import backup as backups

console = Console(stderr=True)


def _url(database_url: str | None, data_dir: Path | None) -> str:
    return Settings.from_env(database_url=database_url, data_dir=data_dir).resolved_database_url


def backup(
    destination: Annotated[Path, typer.Argument(help="New file to write the backup to")],
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="LEADHUB_DATABASE_URL")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", envvar="LEADHUB_DATA_DIR")] = None,
) -> None:
    """Back the SQLite database up while the service runs (SQLite online backup API)."""
    try:
        info = backups.backup(_url(database_url, data_dir), destination)
    except backups.BackupError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    print(f"leadhub: backup written to {info.path} ({info.bytes} bytes, schema {info.schema_revision})")


def restore(
    source: Annotated[Path, typer.Argument(help="Backup file written by `leadhub backup`")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing database")] = False,
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="LEADHUB_DATABASE_URL")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", envvar="LEADHUB_DATA_DIR")] = None,
) -> None:
    """Restore the SQLite database from a backup (stop `serve` first). Newer migrations apply on next start."""
    try:
        info = backups.restore(_url(database_url, data_dir), source, force=force)
    except backups.BackupError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    print(f"leadhub: restored {info.path} from {source} (schema {info.schema_revision})")


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)
