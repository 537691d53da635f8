"""The web app: a server-rendered door (Jinja2 + HTMX) over the same services as the API."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from leadhub.web import errors as _errors  # noqa: F401  (registers the HTML renderer for /app/)
from leadhub.web.render import STATIC


def install(app: FastAPI) -> None:
    """Serve the web app under /app from this process, assets included (no CDN)."""
    from leadhub.web.pages import auth, campaigns, contact, dashboard, exports, imports, leads, pipeline, settings

    app.mount("/app/static", StaticFiles(directory=STATIC), name="web-static")
    for module in (auth, leads, exports, contact, settings, pipeline, campaigns, imports, dashboard):
        app.include_router(module.router)
