"""Error responses every native route documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ProblemFieldError(BaseModel):
    field: str
    rule: str
    message: str
    kind: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[ProblemFieldError] | None = None
    field: str | None = None
    existing_id: str | None = None


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {"application/problem+json": {}}}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _problem("Malformed request"),
    401: _problem("Missing or invalid API key"),
    403: _problem("The key lacks the scope"),
    404: _problem("No such resource in this workspace"),
    409: _problem("Conflict: duplicate email/phone, or Idempotency-Key in flight"),
    422: _problem("Validation failed: one entry per bad field"),
}
