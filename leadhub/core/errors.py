"""Domain errors. Services raise these; each door renders them in its own wire format, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One broken rule: ``field`` is a path like ``emails[0].address``; ``kind`` is the JSON kind of the
    value seen (never the value itself, which may be personal data)."""

    field: str
    rule: str
    message: str
    kind: str | None = None


class DomainError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"

    def __init__(self, resource: str, detail: str | None = None) -> None:
        super().__init__(detail or f"{resource} not found")
        self.resource = resource


class Invalid(DomainError):
    status = 422
    code = "validation_error"
    title = "Validation failed"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class Conflict(DomainError):
    """A unique value (email, phone, key) already belongs to another record."""

    status = 409
    code = "conflict"
    title = "Conflict"

    def __init__(
        self, field: str, existing_id: str, detail: str | None = None, code: str = "conflict", value: str | None = None
    ) -> None:
        super().__init__(detail or f"{field} already belongs to {existing_id}")
        self.field = field
        self.existing_id = existing_id
        self.code = code
        self.value = value


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    title = "Unauthenticated"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


@dataclass
class IdempotencyReplay(Exception):
    """The request repeats a completed one: answer with the stored response, write nothing."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class IdempotencyInFlight(DomainError):
    status = 409
    code = "idempotency_key_in_use"
    title = "Request with this Idempotency-Key is still in progress"


class IdempotencyMismatch(DomainError):
    status = 422
    code = "idempotency_key_reused"
    title = "Idempotency-Key was used with a different request"
