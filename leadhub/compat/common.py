"""What every dialect shares: reading a JSON body, validating vendor shapes, vendor timestamps, and
renaming canonical field paths in errors to the vendor's names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from leadhub.contacts.schemas import ContactIn
from leadhub.core.errors import DomainError, FieldError, Invalid
from leadhub.http.context import serialize
from leadhub.http.errors import pydantic_errors

M = TypeVar("M", bound=BaseModel)
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class InvalidJson(DomainError):
    status = 400
    code = "invalid_json"
    title = "Invalid JSON"


def bearer_token(request: Request) -> str | None:
    """The key of ``Authorization: Bearer …`` (scheme case-insensitive), or None."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is ``{}``); kept on ``request.state`` so an
    error renderer can quote the offending value where the vendor's error body does."""
    raw = await request.body()
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InvalidJson("The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidJson("The request body must be a JSON object")
    request.state.compat_body = data
    return data


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    """Validate ``data`` as ``model``; Invalid (with field paths) when it does not fit."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(pydantic_errors(list(exc.errors()))) from None


def canonical(data: dict[str, Any]) -> ContactIn:
    """A canonical contact from mapped fields; only the keys present count as given."""
    return parse(ContactIn, data)


def value_at(data: Any, path: str) -> Any:
    """The value at ``a.b[0].c`` in parsed JSON, or None when the path does not lead anywhere."""
    current = data
    for name, index in _SEGMENT.findall(path):
        if name and isinstance(current, dict):
            current = current.get(name)
        elif index and isinstance(current, list) and int(index) < len(current):
            current = current[int(index)]
        else:
            return None
    return current


def rename_path(path: str, renames: Mapping[str, str]) -> str:
    """Rename a canonical field path to the vendor's: the longest renamed prefix wins."""
    for canonical_prefix in sorted(renames, key=len, reverse=True):
        if path == canonical_prefix or path.startswith((canonical_prefix + ".", canonical_prefix + "[")):
            return renames[canonical_prefix] + path[len(canonical_prefix) :]
    return path


def renamed(errors: list[FieldError], renames: Mapping[str, str]) -> list[FieldError]:
    return [FieldError(rename_path(e.field, renames), e.rule, e.message, e.kind) for e in errors]


def sentence(error: FieldError) -> str:
    """``phone is not a phone number …`` — our normalizers' messages read on from the field name."""
    message = error.message
    if message[:1].islower():
        return f"{error.field} {message}"
    return f"{error.field}: {message}"


def iso_ms(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and ``Z``: ``2024-06-15T10:00:00.000Z``."""
    if value is None:
        return None
    at = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def unix_seconds(value: datetime | None) -> int | None:
    if value is None:
        return None
    at = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(at.timestamp())


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(serialize(content), status_code=status, headers=headers, media_type="application/json")
