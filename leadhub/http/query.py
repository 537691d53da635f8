"""A query parameter documented as one value may not be sent twice: the framework would silently keep
the last one (``?q=a&q=b`` searching for ``b``); every door refuses it instead, naming the parameter."""

from __future__ import annotations

import types
import typing
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant

from leadhub.core.errors import FieldError, Invalid

_SEQUENCES = (list, set, tuple, frozenset)


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        return True
    if origin in (typing.Union, types.UnionType) or origin is typing.Annotated:
        return any(_is_sequence(arg) for arg in typing.get_args(annotation))
    return False


def _scalar_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params if not _is_sequence(p.field_info.annotation)}
    for sub in dependant.dependencies:
        names |= _scalar_names(sub)
    return names


async def single_valued_query(request: Request) -> None:
    """App-wide dependency: 422 when a single-valued query parameter is repeated."""
    if not request.scope.get("query_string"):
        return  # nothing repeated (most writes): skip walking the route's parameters on every request
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    repeated = [n for n in sorted(_scalar_names(dependant)) if len(request.query_params.getlist(n)) > 1]
    if repeated:
        raise Invalid([FieldError(n, "single_value", "give this parameter once", "array") for n in repeated])
