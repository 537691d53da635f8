"""Optional OpenTelemetry tracing, switched on with ``LEADHUB_OTEL_ENABLED=true``: every request becomes a
server span (named by method and route template) exported over OTLP/HTTP to ``LEADHUB_OTEL_ENDPOINT``
(or the standard ``OTEL_EXPORTER_OTLP_*`` variables). Needs the ``otel`` extra:
``pip install 'leadhub[otel]'``; without it, enabling tracing logs a warning and the service runs untraced."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadhub.config import Settings
from leadhub.observability.logs import route_template

log = logging.getLogger("leadhub.tracing")


def install(app: FastAPI, settings: Settings, exporter: Any = None) -> bool:
    """Wrap ``app`` in the OpenTelemetry ASGI middleware; True when tracing is on. ``exporter`` replaces
    the OTLP exporter (tests pass an in-memory one)."""
    if not settings.otel_enabled:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        log.warning("LEADHUB_OTEL_ENABLED is set but the otel extra is not installed; tracing is off")
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": "leadhub"}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_endpoint or None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)

    # Inside the OpenTelemetry middleware (added first, so it runs within the span): once routing has
    # happened, name the span by the route template, never the raw path (ids would explode cardinality).
    app.add_middleware(_RouteSpanName)
    app.add_middleware(
        OpenTelemetryMiddleware,
        tracer_provider=provider,
        default_span_details=lambda scope: (f"{scope.get('method', 'HTTP')} unmatched", {}),
        exclude_spans=["receive", "send"],
    )
    return True


class _RouteSpanName:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def naming_send(message: Message) -> None:
            # Named as the answer starts: the span ends with the last body chunk, and routing is done by then.
            if message["type"] == "http.response.start":
                from opentelemetry import trace

                template = route_template(scope)
                span = trace.get_current_span()
                span.update_name(f"{scope['method']} {template}")
                span.set_attribute("http.route", template)
            await send(message)

        await self.app(scope, receive, naming_send)
