"""Rendering errors. Each door registers a renderer for its path prefix; the native one (RFC 9457
problem+json) answers everything else. Never a stack trace, never a 500 for bad input."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from leadhub.core.errors import Conflict, DomainError, FieldError, IdempotencyReplay, Invalid, Unauthenticated
from leadhub.core.validation import kind_of

log = logging.getLogger("leadhub.errors")
PROBLEM_JSON = "application/problem+json"

Renderer = Callable[[Request, DomainError], Response]
_renderers: list[tuple[str, Renderer]] = []


def register_renderer(prefix: str, renderer: Renderer) -> None:
    """Render domain errors raised under ``prefix`` in that door's own format."""
    _renderers.append((prefix, renderer))
    _renderers.sort(key=lambda item: len(item[0]), reverse=True)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "emails", 0, "address")`` → ``emails[0].address``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def pydantic_errors(errors: list[Any]) -> list[FieldError]:
    """Pydantic's error list as FieldErrors (the rule is pydantic's or our normalizer's error type)."""
    result = []
    for err in errors:
        loc = err.get("loc", ())
        # Union members and function-wrapped validators add noise to the location.
        loc = [p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
        message = str(err.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        result.append(FieldError(field_path(loc), str(err.get("type", "invalid")), message, kind_of(err.get("input"))))
    return result


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    body = {
        "type": f"urn:leadhub:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON)


def native_renderer(request: Request, exc: DomainError) -> Response:
    extra: dict[str, Any] = {}
    if isinstance(exc, Invalid):
        extra["errors"] = [
            {"field": e.field, "rule": e.rule, "message": e.message, **({"kind": e.kind} if e.kind else {})}
            for e in exc.errors
        ]
    if isinstance(exc, Conflict):
        extra["field"] = exc.field
        extra["existing_id"] = exc.existing_id
    extra.update(exc.extra)
    return problem(exc.status, exc.code, exc.title, exc.detail, instance=request.url.path, **extra)


def _render(request: Request, exc: DomainError) -> Response:
    path = request.url.path
    renderer = next((r for prefix, r in _renderers if path.startswith(prefix)), native_renderer)
    response = renderer(request, exc)
    if isinstance(exc, Unauthenticated) and "www-authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = 'Bearer realm="leadhub"'
    return response


def render_error(request: Request, exc: DomainError) -> Response:
    """Render a domain error raised outside the routes (by middleware) in the format of the door it hit."""
    return _render(request, exc)


def _error(status: int, code: str, title: str, detail: str) -> DomainError:
    err = DomainError(detail)
    err.status, err.code, err.title = status, code, title
    return err


def install(app: FastAPI) -> None:
    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return _render(request, exc)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return _render(request, _error(400, "invalid_json", "Invalid JSON", "The request body is not valid JSON"))
        return _render(request, Invalid(pydantic_errors(errors)))

    async def on_replay(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IdempotencyReplay)
        headers = {**exc.headers, "Idempotent-Replayed": "true"}
        media_type = headers.pop("content-type", "application/json")
        return Response(exc.body, status_code=exc.status, headers=headers, media_type=media_type)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, f"http_{exc.status_code}")
        response = _render(request, _error(exc.status_code, code, str(exc.detail), str(exc.detail)))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    async def on_integrity_error(request: Request, exc: Exception) -> Response:
        # Services turn the races they expect into Conflict; one that still reaches here is a concurrent
        # write the caller can simply retry.
        log.warning("integrity error on %s %s", request.method, request.url.path)
        return _render(request, _error(409, "conflict", "Conflict", "A concurrent change conflicted; retry"))

    async def on_operational_error(request: Request, exc: Exception) -> Response:
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            response = _render(request, _error(503, "busy", "Service busy", "The database is busy; retry shortly"))
            response.headers["Retry-After"] = "1"
            return response
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.scope.get("route_path", "?"), exc_info=exc)
        return _render(
            request,
            _error(500, "internal_error", "Internal server error", "An unexpected error occurred; it has been logged"),
        )

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(IdempotencyReplay, on_replay)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(IntegrityError, on_integrity_error)
    app.add_exception_handler(OperationalError, on_operational_error)
    app.add_exception_handler(Exception, on_unexpected)
