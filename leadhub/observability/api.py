"""GET /metrics: the Prometheus exposition (no key needed, like /healthz; keep it off the public internet
or behind the proxy's own auth — it holds counts and timings, never personal data)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from leadhub.db.engine import Database
from leadhub.observability import metrics

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format"},
        404: {"description": "Metrics are switched off (LEADHUB_METRICS_ENABLED=false)"},
    },
)
async def metrics_endpoint(request: Request) -> Response:
    if not request.app.state.settings.metrics_enabled:
        return Response(status_code=404)
    db: Database = request.app.state.db
    return Response(await metrics.render(db), media_type=metrics.CONTENT_TYPE)
