"""Document what the limiter adds to every operation: a 429 answer (in the door's own error format)
and the ``RateLimit`` / ``RateLimit-Policy`` response headers."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

from leadhub.http import openapi_doors

_HEADERS = {
    "RateLimit": {
        "description": "Remaining requests (r) and seconds to a full bucket (t) per policy (IETF draft form)",
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": "Quota (q) per window in seconds (w) of each policy charged",
        "schema": {"type": "string"},
    },
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "string"}}}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the 429 answer and the headers to every operation of an OpenAPI document (in place)."""
    for item in spec.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            if "429" not in responses:
                # Same body format as the operation's other client errors (dialects answer in theirs).
                like = responses.get("401") or responses.get("422") or {}
                content = copy.deepcopy(like.get("content")) or copy.deepcopy(_PROBLEM)
                responses["429"] = {"description": "Rate limit exceeded", "content": content}
            for code, response in responses.items():
                headers = response.setdefault("headers", {})
                headers.update(copy.deepcopy(_HEADERS))
                if code == "429":
                    headers.update(copy.deepcopy(_RETRY_AFTER))
    return spec


def install(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # Dialect doors' client errors first, so the 429 takes the same body they document.
            app.openapi_schema = document(openapi_doors.document(original()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
