"""Health, readiness and the interactive API docs (assets served locally: works with no internet)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from leadhub.db.engine import Database

router = APIRouter(tags=["operations"])
SWAGGER_ASSETS = Path(swagger_ui.__file__).parent / "static"
swagger_static = StaticFiles(directory=SWAGGER_ASSETS)

_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leadhub API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body></html>"""

# Served as a file (not inline) so a strict Content-Security-Policy can forbid inline scripts.
_DOCS_INIT = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout",
  persistAuthorization: true});"""


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the database answers", responses={503: {"description": "Not ready"}})
async def readyz(request: Request) -> Response:
    db: Database = request.app.state.db
    try:
        await db.ping()
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return HTMLResponse(_DOCS_PAGE)


@router.get("/docs/init.js", include_in_schema=False)
async def docs_init() -> Response:
    return Response(_DOCS_INIT, media_type="text/javascript")
