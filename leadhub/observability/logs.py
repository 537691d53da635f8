"""Structured JSON logs with no personal data: one line per request (id, route template, status,
latency, workspace, key) and JSON lines for everything else logged. The route *template* is logged, never
the path or query (which can hold an email), and a last-resort scrubber masks anything shaped like an
email address or a phone number in messages and tracebacks."""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadhub.core import ids
from leadhub.observability import metrics

request_log = logging.getLogger("leadhub.request")
_EMAIL = re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+")
_PHONE = re.compile(r"(?<![\w])\+?\d[\d\s().-]{5,}\d(?![\w])")
_EXTRA_FIELDS = (
    "request_id",
    "method",
    "route",
    "status",
    "latency_ms",
    "workspace_id",
    "key_id",
    "response_bytes",
)


def scrub(text: str) -> str:
    """Mask email addresses and phone-number-like digit runs."""
    return _PHONE.sub("[number]", _EMAIL.sub("[email]", text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for name in _EXTRA_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            # The traceback's frames, and the exception's type; its message only scrubbed (database errors
            # quote the values they failed on).
            line["error"] = exc_type.__name__
            line["traceback"] = scrub("".join(traceback.format_exception(exc_type, exc, tb)))
        return orjson.dumps(line).decode()


def configure(level: str = "info", fmt: str = "json") -> None:
    """Route the root logger (and uvicorn's) to stderr as JSON lines (or scrubbed plain text)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # The access log prints raw paths and query strings: our request line replaces it.
    logging.getLogger("uvicorn.access").disabled = True


class _ScrubbingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    # Unmatched paths are one label: raw paths would leak ids into metrics and explode their cardinality.
    return path if isinstance(path, str) else "unmatched"


class RequestLog:
    """One log line and one metrics sample per request, after the answer is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sent = 0

        async def recording_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            elapsed = time.perf_counter() - started
            state = scope.get("state", {})
            route = route_template(scope)
            metrics.observe_request(scope["method"], route, status, elapsed)
            key_id = state.get("key_id")
            request_log.info(
                "request",
                extra={
                    "request_id": state.get("request_id"),
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "latency_ms": round(elapsed * 1000, 2),
                    "workspace_id": state.get("workspace_id"),
                    "key_id": ids.encode(ids.API_KEY, key_id) if key_id is not None else None,
                    "response_bytes": sent,
                },
            )
