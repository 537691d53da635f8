"""Form helpers for the web door: read HTML forms into the services' input schemas, and turn the domain's
field errors back into per-input messages (the same messages the API answers with)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from leadhub.core.errors import Conflict, DomainError, FieldError, Invalid
from leadhub.core.validation import has_nul
from leadhub.http.errors import pydantic_errors

M = TypeVar("M", bound=BaseModel)


def text(form: FormData, name: str, limit: int = 20_000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def blank_to_none(value: str) -> str | None:
    return value or None


def parse(model: type[M], data: dict[str, Any]) -> M:
    """``model`` from ``data``; Invalid (with pydantic's messages, as the API gives them) when it does not fit."""
    if has_nul(data):
        raise Invalid([FieldError("form", "nul_character", "must not contain the NUL character (U+0000)", "string")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(pydantic_errors(list(exc.errors()))) from None


@dataclass
class Problems:
    """Errors of one form: by input name where one matches, and the whole list for the summary."""

    by_input: dict[str, str] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    conflict_id: str | None = None

    def __bool__(self) -> bool:
        return bool(self.summary)

    def of(self, name: str) -> str | None:
        return self.by_input.get(name)


def problems(exc: DomainError, inputs: dict[str, str] | None = None) -> Problems:
    """``inputs`` maps a service field path (``phones[0].number``) to the input that holds it."""
    inputs = inputs or {}
    found = Problems()
    errors: list[FieldError] = []
    if isinstance(exc, Invalid):
        errors = exc.errors
    elif isinstance(exc, Conflict):
        errors = [FieldError(exc.field, exc.code, exc.detail)]
        found.conflict_id = exc.existing_id or None
    else:
        found.summary.append(exc.detail)
        return found
    for error in errors:
        name = inputs.get(error.field, error.field)
        found.by_input.setdefault(name, error.message)
        found.summary.append(f"{error.field}: {error.message}")
    return found
