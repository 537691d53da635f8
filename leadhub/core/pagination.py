"""Cursor pagination: opaque cursors over the sort key of the last row seen (keyset, so a walk has no
gaps or repeats while rows are inserted)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from leadhub.core.errors import FieldError, Invalid

T = TypeVar("T")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    has_more: bool


def encode_cursor(kind: str, values: list[Any]) -> str:
    raw = orjson.dumps({"k": kind, "v": values})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> list[Any] | None:
    """The values of a cursor made by ``encode_cursor`` for the same listing; 422 for anything else."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("k") != kind or not isinstance(data.get("v"), list):
        raise Invalid(
            [FieldError("cursor", "cursor", "is not a cursor of this listing (use next_cursor as given)", "string")]
        )
    values: list[Any] = data["v"]
    return values
