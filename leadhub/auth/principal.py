"""Who is acting: the authenticated key (principal) and the actor recorded on events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    key_id: uuid.UUID
    organization_id: uuid.UUID
    # Set for a workspace key; None for an organization key.
    workspace_id: uuid.UUID | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Actor:
    """Recorded on every event: what kind of actor, which one, and through which door."""

    type: str  # "api_key" | "system" | "user"
    id: str | None
    door: str  # "api", "cli", "compat:leadconnector", ...

    @classmethod
    def system(cls, door: str = "system") -> Actor:
        return cls(type="system", id=None, door=door)
