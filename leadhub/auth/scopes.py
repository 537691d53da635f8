"""API key scopes. A key holds exact scopes, ``resource.*`` wildcards, or ``admin`` (everything)."""

from __future__ import annotations

from collections.abc import Iterable

RESOURCES = ("contacts", "companies", "deals", "tasks", "campaigns", "webhooks", "events", "imports")
ADMIN = "admin"
SCOPES: tuple[str, ...] = (
    *(f"{r}.{verb}" for r in RESOURCES for verb in ("read", "write")),
    ADMIN,
)
_WILDCARDS = {f"{r}.*" for r in RESOURCES}


def is_known(scope: str) -> bool:
    return scope in SCOPES or scope in _WILDCARDS


def grants(held: Iterable[str], needed: str) -> bool:
    """Whether a key holding ``held`` may do what ``needed`` names."""
    held_set = set(held)
    if ADMIN in held_set or needed in held_set:
        return True
    resource = needed.split(".", 1)[0]
    return f"{resource}.*" in held_set
