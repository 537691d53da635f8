"""Optional OpenTelemetry tracing, switched on with ``LEADHUB_OTEL_ENABLED=true``: every request becomes a
server span (named by method and route template) exported over OTLP/HTTP to ``LEADHUB_OTEL_ENDPOINT``
(or the standard ``OTEL_EXPORTER_OTLP_*`` variables). Needs the ``otel`` extra:
``pip install 'leadhub[otel]'``; without it, enabling tracing logs a warning and the service runs untraced."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI

from leadhub.config import Settings

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

    def span_name(scope: dict[str, Any]) -> str:
        # Route template, not the raw path: ids in span names would explode cardinality.
        route = scope.get("route")
        return f"{scope.get('method', 'HTTP')} {getattr(route, 'path', 'unmatched')}"

    app.add_middleware(
        OpenTelemetryMiddleware,
        tracer_provider=provider,
        default_span_details=lambda scope: (span_name(scope), {}),
        exclude_spans=["receive", "send"],
    )
    return True
