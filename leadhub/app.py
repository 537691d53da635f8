"""create_app(): assemble the doors, middleware and error renderers over one database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from leadhub import __version__
from leadhub.auth.api import router as admin_router
from leadhub.campaigns.api import router as campaigns_router
from leadhub.companies.api import router as companies_router
from leadhub.compat import blocks23, leadconnector, leads_v1, magicblocks, magnetite
from leadhub.config import Settings
from leadhub.contacts.api import router as contacts_router
from leadhub.contacts.duplicates_api import router as duplicates_router
from leadhub.custom_fields.api import router as custom_fields_router
from leadhub.db import statistics
from leadhub.db.engine import Database
from leadhub.deals.api import router as deals_router
from leadhub.events.api import router as events_router
from leadhub.exports.api import router as exports_router
from leadhub.http import errors
from leadhub.http.limits import JsonLimits, RequestLimits
from leadhub.http.middleware import BodySizeLimit, RequestId
from leadhub.http.query import single_valued_query
from leadhub.idempotency import service as idempotency
from leadhub.imports import background as import_background
from leadhub.imports import resume as import_resume
from leadhub.imports.api import router as imports_router
from leadhub.observability import tracing
from leadhub.observability.api import router as metrics_router
from leadhub.observability.logs import RequestLog
from leadhub.ops.api import router as ops_router
from leadhub.ops.api import swagger_static
from leadhub.pipelines.api import router as pipelines_router
from leadhub.privacy.api import router as privacy_router
from leadhub.ratelimit import openapi as ratelimit_openapi
from leadhub.ratelimit.api import router as ratelimit_router
from leadhub.ratelimit.limiter import Limiter
from leadhub.ratelimit.middleware import RateLimitHeaders
from leadhub.tasks.api import router as tasks_router
from leadhub.web import install as install_web
from leadhub.webhooks.api import router as webhooks_router
from leadhub.webhooks.dispatcher import Dispatcher, Options

log = logging.getLogger("leadhub")
_MAINTENANCE_EVERY_SECONDS = 600

DESCRIPTION = """Lead and contact management: one canonical model, many API dialects.

Authenticate with `Authorization: Bearer lh_…`. An organization key acts in the workspace named by the
`LeadHub-Workspace` header (default: the organization's first workspace). Writes accept an
`Idempotency-Key` header. Errors are RFC 9457 `application/problem+json`."""


async def _maintenance(db: Database) -> None:
    """Periodic housekeeping inside `serve`: purge expired idempotency keys; refresh SQLite planner statistics."""
    while True:
        try:
            async with db.session() as session:
                await idempotency.purge_expired(session)
            if db.is_sqlite:
                # SQLite's planner picks list/search indexes from these statistics (db.statistics).
                await statistics.refresh_sqlite(db)
        except Exception:  # keep housekeeping alive across transient database errors
            log.exception("maintenance pass failed")
        await asyncio.sleep(_MAINTENANCE_EVERY_SECONDS)


def create_app(settings: Settings | None = None, db: Database | None = None, *, background: bool = True) -> FastAPI:
    """The ASGI app. ``db`` defaults to one built from settings; ``background`` runs housekeeping."""
    settings = settings or Settings.from_env()
    database = db or Database(
        settings.resolved_database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_maintenance(database)) if background else None
        # On SQLite (one machine) the webhook dispatcher runs inside `serve`; on PostgreSQL `leadhub worker` does.
        stop = asyncio.Event()
        dispatcher = (
            asyncio.create_task(
                Dispatcher(
                    database,
                    Options(
                        lease=settings.webhook_lease,
                        timeout_seconds=settings.webhook_timeout_seconds,
                        allow_private=settings.webhook_allow_private,
                    ),
                ).run(stop)
            )
            if background and database.is_sqlite
            else None
        )
        # Import jobs whose runner died resume here (lease-safe: one process runs a job).
        resumer = asyncio.create_task(import_resume.watch(database, stop)) if background else None
        # A young database's statistics refreshed as its tables outgrow them (db.statistics).
        statistician = asyncio.create_task(statistics.watch(database, stop)) if background else None
        try:
            yield
        finally:
            stop.set()
            await import_background.stop()  # each running import gives its lease back for the next process
            if resumer is not None:
                resumer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await resumer
            if dispatcher is not None:
                await dispatcher
            if statistician is not None:
                await statistician
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await limiter.close()
            if db is None:
                await database.dispose()

    app = FastAPI(
        title="leadhub",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(single_valued_query)],
    )
    app.state.settings = settings
    app.state.db = database
    limiter = Limiter(settings, database)
    app.state.limiter = limiter
    errors.install(app)
    json_limits = JsonLimits(settings.max_json_depth, settings.max_json_items, settings.max_json_string)
    app.add_middleware(RequestLimits, limits=json_limits, body_timeout=settings.body_timeout_seconds)
    app.add_middleware(BodySizeLimit, upload_max_bytes=settings.upload_max_bytes)
    app.add_middleware(blocks23.SlashTolerance)
    app.add_middleware(RateLimitHeaders, limiter=limiter)
    app.add_middleware(RequestId)
    app.add_middleware(RequestLog)
    tracing.install(app, settings)
    for router in (ops_router, contacts_router, custom_fields_router, events_router, webhooks_router, admin_router):
        app.include_router(router)
    for router in (companies_router, pipelines_router, deals_router, tasks_router):
        app.include_router(router)
    for router in (privacy_router, ratelimit_router, metrics_router):
        app.include_router(router)
    app.include_router(duplicates_router)
    app.include_router(campaigns_router)
    app.include_router(imports_router)
    app.include_router(exports_router)
    app.include_router(magnetite.router)
    for dialect in (magicblocks, leads_v1, leadconnector, blocks23):
        app.include_router(dialect.router)
    install_web(app)
    app.mount("/docs/assets", swagger_static, name="docs-assets")
    ratelimit_openapi.install(app)
    return app
