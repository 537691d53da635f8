"""Command line: serve, worker, init, keys, workspaces."""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth import service as auth
from leadhub.auth.models import Organization
from leadhub.config import WEBHOOK_LEASE_MARGIN_SECONDS, Settings, SettingsError
from leadhub.core import ids
from leadhub.core.errors import DomainError
from leadhub.db import migrate
from leadhub.db.engine import Database
from leadhub.imports import commands as import_commands
from leadhub.ops import commands as ops_commands

app = typer.Typer(help="leadhub: lead and contact management service.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
workspaces_app = typer.Typer(help="Create and list workspaces.", no_args_is_help=True)
users_app = typer.Typer(help="Create and list web-app users.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(workspaces_app, name="workspaces")
ops_commands.register(app)  # backup, restore
import_commands.register(app)  # import, export
app.add_typer(users_app, name="users")
console = Console()
T = TypeVar("T")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="LEADHUB_DATABASE_URL", help="SQLAlchemy URL (default: SQLite file in the data dir)"
    ),
]
DataDir = Annotated[Path | None, typer.Option("--data-dir", envvar="LEADHUB_DATA_DIR", help="Data directory")]
OrgOption = Annotated[str | None, typer.Option("--org", help="Organization id (default: the first one)")]


def _settings(database_url: str | None = None, data_dir: Path | None = None, **extra: object) -> Settings:
    try:
        return Settings.from_env(database_url=database_url, data_dir=data_dir, **extra)
    except SettingsError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Migrate, then run ``work`` in one committed transaction."""

    async def main() -> T:
        db = Database(settings.resolved_database_url)
        try:
            await migrate.upgrade(db)
            async with db.session() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from None


async def _organization(session: AsyncSession, org: str | None) -> Organization:
    if org:
        try:
            found = await session.get(Organization, ids.decode(ids.ORGANIZATION, org))
        except ids.InvalidId:
            found = None
    else:
        found = await session.scalar(select(Organization).order_by(Organization.created_at).limit(1))
    if found is None:
        console.print("[red]error:[/red] no such organization (run `leadhub init` first)")
        raise typer.Exit(2)
    return found


def _announce(settings: Settings, boot: auth.Bootstrap) -> None:
    base = settings.resolved_public_url
    print("leadhub: first start — created the default organization and workspace", flush=True)
    print(f"  organization: {boot.organization.public_id}", flush=True)
    print(f"  workspace:    {boot.workspace.public_id}", flush=True)
    print("  admin API key (shown once, store it now):", flush=True)
    print(f"    {boot.raw_key}", flush=True)
    print("  use it:", flush=True)
    print(f"    curl -H 'Authorization: Bearer {boot.raw_key}' {base}/v1/contacts", flush=True)
    print(f"  web app: {base}/app/ (sign in after creating your account:", flush=True)
    print("    leadhub users create you@example.com --role owner)", flush=True)


async def _prepare(settings: Settings) -> auth.Bootstrap | None:
    db = Database(settings.resolved_database_url)
    try:
        await migrate.upgrade(db)
        async with db.session() as session:
            boot = await auth.bootstrap_if_empty(session, settings.default_region)
            await session.commit()
            return boot
    finally:
        await db.dispose()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(envvar="LEADHUB_HOST", help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(envvar="LEADHUB_PORT", help="Port")] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    public_url: Annotated[
        str | None, typer.Option(envvar="LEADHUB_PUBLIC_URL", help="Web address used in links")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    workers: Annotated[
        int, typer.Option(min=1, envvar="LEADHUB_WORKERS", help="Server processes (PostgreSQL only past 1)")
    ] = 1,
) -> None:
    """Run the API (migrating the database first; on an empty one, print a new admin key)."""
    import uvicorn

    from leadhub.app import create_app

    settings = _settings(database_url, data_dir, host=host, port=port, public_url=public_url)
    if workers > 1 and not settings.resolved_database_url.startswith("postgresql"):
        # SQLite serves from one process: it has one writer at a time anyway, and `serve` runs the webhook
        # dispatcher in-process there, which must exist exactly once.
        console.print("[red]error:[/red] --workers above 1 needs PostgreSQL (SQLite runs one server process)")
        raise typer.Exit(2)
    boot = asyncio.run(_prepare(settings))
    if boot is not None:
        _announce(settings, boot)
    print(f"leadhub: serving on http://{settings.host}:{settings.port} (docs: /docs)", flush=True)
    from leadhub.observability import logs

    # JSON lines without personal data; uvicorn's access log (raw paths and queries) is replaced by ours.
    logs.configure(log_level, settings.log_format)
    if workers > 1:
        # Each worker process builds its own app (and engine) from the environment.
        os.environ.update(
            LEADHUB_DATABASE_URL=settings.resolved_database_url,
            LEADHUB_DATA_DIR=str(settings.data_dir),
            LEADHUB_HOST=settings.host,
            LEADHUB_PORT=str(settings.port),
            LEADHUB_PUBLIC_URL=settings.resolved_public_url,
            LEADHUB_SERVE_LOG_LEVEL=log_level,
        )
    uvicorn.run(
        "leadhub.cli:worker_app" if workers > 1 else _settled(create_app(settings)),
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        proxy_headers=True,
        log_config=None,
        access_log=False,
        timeout_keep_alive=settings.keepalive_seconds,
        # SIGTERM: stop accepting, let in-flight requests finish (up to this long), then run shutdown.
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )


def worker_app() -> FastAPI:
    """The app of one `serve --workers N` process, configured from the environment `serve` set."""
    from leadhub.app import create_app
    from leadhub.observability import logs

    settings = Settings.from_env()
    logs.configure(os.environ.get("LEADHUB_SERVE_LOG_LEVEL", "info"), settings.log_format)
    return _settled(create_app(settings))


def _settled(application: FastAPI) -> FastAPI:
    """``application`` with the objects made so far (~200,000: modules, routes, schemas, validators) moved out
    of the garbage collector's reach: they live as long as the process, yet each full collection walked them
    all, 120-180 ms on a loaded 2-core machine in which the process answered nothing (in-process, a 1,000-item
    batch took 70-100 ms less with them frozen). Only what requests make is traced from here on."""
    gc.collect()
    gc.freeze()
    return application


@app.command()
def worker(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="Deliveries claimed per pass")] = 50,
    lease_seconds: Annotated[
        float | None,
        typer.Option(
            min=1,
            help="Seconds a claim holds before another worker may take it over (default LEADHUB_WEBHOOK_LEASE_SECONDS)",
        ),
    ] = None,
    poll_interval: Annotated[float, typer.Option(min=0.01, help="Seconds to wait when nothing is due")] = 0.25,
    timeout: Annotated[
        float | None,
        typer.Option(min=0.1, help="HTTP timeout per attempt, seconds (default: LEADHUB_WEBHOOK_TIMEOUT_SECONDS)"),
    ] = None,
) -> None:
    """Deliver webhooks: claim due deliveries, sign, post, retry. Run any number side by side on PostgreSQL."""
    import signal
    from datetime import timedelta

    from leadhub.webhooks.dispatcher import Dispatcher, Options

    settings = _settings(database_url, data_dir)
    lease_seconds = settings.webhook_lease_seconds if lease_seconds is None else lease_seconds
    timeout = settings.webhook_timeout_seconds if timeout is None else timeout
    if lease_seconds < timeout + WEBHOOK_LEASE_MARGIN_SECONDS:
        console.print(
            f"[red]error:[/red] the lease ({lease_seconds:g} s, --lease-seconds or LEADHUB_WEBHOOK_LEASE_SECONDS) "
            f"must exceed the timeout ({timeout:g} s, --timeout or LEADHUB_WEBHOOK_TIMEOUT_SECONDS) by at least "
            f"{WEBHOOK_LEASE_MARGIN_SECONDS:g} s"
        )
        raise typer.Exit(2)
    options = Options(
        batch_size=batch_size,
        lease=timedelta(seconds=lease_seconds),
        timeout_seconds=timeout,
        poll_interval_seconds=poll_interval,
        allow_private=settings.webhook_allow_private,
    )

    async def main() -> None:
        db = Database(
            settings.resolved_database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
        )
        try:
            await migrate.upgrade(db)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            dispatcher = Dispatcher(db, options)
            import contextlib

            from leadhub.imports import resume

            # Import jobs whose runner died resume here too (lease-safe: one process runs a job).
            resumer = asyncio.create_task(resume.watch(db, stop))
            print(f"leadhub worker {dispatcher.name}: ready", flush=True)
            await dispatcher.run(stop)
            resumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await resumer
            print(f"leadhub worker {dispatcher.name}: stopped", flush=True)
        finally:
            await db.dispose()

    asyncio.run(main())


@app.command()
def init(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Create the schema and, on an empty database, the default organization, workspace and admin key."""
    settings = _settings(database_url, data_dir)
    boot = asyncio.run(_prepare(settings))
    if boot is None:
        print("leadhub: already initialized; create more keys with `leadhub keys create`")
    else:
        _announce(settings, boot)


@workspaces_app.command("create")
def workspaces_create(
    name: str,
    region: Annotated[str, typer.Option(help="Default region for national phone numbers")] = "US",
    org: OrgOption = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Create a workspace; prints its ws_… id."""

    async def work(session: AsyncSession) -> str:
        organization = await _organization(session, org)
        return (await auth.create_workspace(session, organization.id, name, region.upper())).public_id

    print(_run(_settings(database_url, data_dir), work))


@workspaces_app.command("list")
def workspaces_list(org: OrgOption = None, database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Print the id and name of each workspace."""

    async def work(session: AsyncSession) -> list[tuple[str, str]]:
        organization = await _organization(session, org)
        return [(w.public_id, w.name) for w in await auth.list_workspaces(session, organization.id)]

    for public_id, name in _run(_settings(database_url, data_dir), work):
        print(f"{public_id}\t{name}")


@keys_app.command("create")
def keys_create(
    workspace: Annotated[
        str | None, typer.Option(help="Bind to this workspace (ws_…); omit for an organization key")
    ] = None,
    scopes: Annotated[str, typer.Option(help="Comma-separated scopes, e.g. contacts.read,contacts.write")] = "admin",
    name: Annotated[str, typer.Option(help="A name to recognize the key by")] = "cli key",
    org: OrgOption = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Create an API key and print it once."""

    async def work(session: AsyncSession) -> str:
        organization = await _organization(session, org)
        workspace_id: uuid.UUID | None = None
        if workspace:
            try:
                workspace_id = ids.decode(ids.WORKSPACE, workspace)
            except ids.InvalidId:
                console.print("[red]error:[/red] no such workspace")
                raise typer.Exit(2) from None
        _, raw = await auth.create_api_key(
            session,
            organization.id,
            workspace_id=workspace_id,
            name=name,
            scopes=[s.strip() for s in scopes.split(",") if s.strip()],
        )
        return raw

    print(_run(_settings(database_url, data_dir), work))


@keys_app.command("list")
def keys_list(org: OrgOption = None, database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """List keys by prefix (the secret is never stored)."""

    async def work(session: AsyncSession) -> list[list[str]]:
        organization = await _organization(session, org)
        return [
            [
                k.public_id,
                k.prefix + "…",
                k.name,
                ",".join(k.scopes),
                ids.encode(ids.WORKSPACE, k.workspace_id) if k.workspace_id else "(organization)",
                k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else "never",
                "revoked" if k.revoked_at else "active",
            ]
            for k in await auth.list_api_keys(session, organization.id)
        ]

    header = ["id", "prefix", "name", "scopes", "workspace", "last used", "state"]
    rows = _run(_settings(database_url, data_dir), work)
    if not console.is_terminal:
        # A pipe or a script: whole ids one row per line (a table narrowed to 80 columns would cut them).
        for row in [header, *rows]:
            print("\t".join(row))
        return
    table = Table(*header)
    for row in rows:
        table.add_row(*row)
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str, org: OrgOption = None, database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Revoke a key by its key_… id; it stops working at once."""

    async def work(session: AsyncSession) -> str:
        organization = await _organization(session, org)
        return (await auth.revoke_api_key(session, organization.id, key_id)).public_id

    print(f"revoked {_run(_settings(database_url, data_dir), work)}")


@users_app.command("create")
def users_create(
    email: str,
    role: Annotated[str, typer.Option(help="owner, admin, member or read_only")] = "member",
    workspace: Annotated[
        list[str] | None,
        typer.Option(help="A workspace (ws_…) a member or read-only user works in; repeat for several"),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="LEADHUB_USER_PASSWORD", help="Password (default: asked for, or generated and printed)"),
    ] = None,
    org: OrgOption = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Create a user who signs in to the web app at /app/."""
    import secrets
    import sys

    from leadhub.users import service as users

    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password, generated = secrets.token_urlsafe(15), True

    async def work(session: AsyncSession) -> str:
        organization = await _organization(session, org)
        user = await users.create_user(
            session, organization.id, email=email, password=password or "", role=role, workspaces=workspace, name=name
        )
        return f"{user.public_id}\t{user.email}\t{user.role}"

    print(_run(_settings(database_url, data_dir), work))
    if generated:
        print(f"password (shown once): {password}")


@users_app.command("list")
def users_list(org: OrgOption = None, database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Print the id, email and role of each user."""
    from leadhub.users import service as users

    async def work(session: AsyncSession) -> list[tuple[str, str, str]]:
        organization = await _organization(session, org)
        return [(u.public_id, u.email, u.role) for u in await users.list_users(session, organization.id)]

    for public_id, email, role in _run(_settings(database_url, data_dir), work):
        print(f"{public_id}\t{email}\t{role}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
