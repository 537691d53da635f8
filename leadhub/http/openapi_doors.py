"""Document the client errors every dialect door can answer. A dialect renders domain errors in its
vendor's body (leadhub.http.errors.register_renderer), and any of its routes can meet a bad request,
a missing or wrong key, a missing scope, an unknown id or invalid data; its routes document some of
these, this fills in the rest with the same body the route already documents for its errors."""

from __future__ import annotations

import copy
from typing import Any

from leadhub.http import errors

_CLIENT_ERRORS = {
    "400": "Malformed request",
    "401": "Missing or invalid API key",
    "403": "The key lacks the scope",
    "404": "No such resource in this workspace",
    "422": "Validation failed",
}
_ANY_JSON = {"application/json": {"schema": {"type": "object"}}}


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the missing client-error answers to every operation under a dialect prefix (in place)."""
    prefixes = tuple(prefix for prefix, _ in errors._renderers)
    if not prefixes:
        return spec
    for path, item in spec.get("paths", {}).items():
        if not path.startswith(prefixes):
            continue
        for method, operation in item.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            documented = [r for code, r in sorted(responses.items()) if code.startswith("4") and r.get("content")]
            # Else the media type the door answers with (a vendor may use its own, like JSON:API's).
            answers = [r for code, r in sorted(responses.items()) if code.startswith("2") and r.get("content")]
            fallback = (
                {media: {"schema": {"type": "object"}} for media in answers[0]["content"]} if answers else _ANY_JSON
            )
            content = copy.deepcopy(documented[0]["content"] if documented else fallback)
            for code, description in _CLIENT_ERRORS.items():
                responses.setdefault(code, {"description": description, "content": copy.deepcopy(content)})
    return spec
