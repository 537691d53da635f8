"""Roles of web users, expressed as the API's scopes so one rule (``auth.scopes.grants``) decides for both doors."""

from __future__ import annotations

from leadhub.auth import scopes as scope_rules

OWNER = "owner"
ADMIN = "admin"
MEMBER = "member"
READ_ONLY = "read_only"
ROLES: tuple[str, ...] = (OWNER, ADMIN, MEMBER, READ_ONLY)

_SCOPES: dict[str, tuple[str, ...]] = {
    OWNER: (scope_rules.ADMIN,),
    ADMIN: (scope_rules.ADMIN,),
    # Members work the leads and pipeline; they see webhook health but change neither webhooks nor keys.
    MEMBER: (
        *(f"{r}.*" for r in ("contacts", "companies", "deals", "tasks", "campaigns", "imports")),
        "events.read",
        "webhooks.read",
    ),
    READ_ONLY: tuple(f"{r}.read" for r in scope_rules.RESOURCES),
}


def scopes_for(role: str) -> tuple[str, ...]:
    return _SCOPES.get(role, ())


def grants(role: str, scope: str) -> bool:
    """Whether a user of ``role`` may do what the API scope ``scope`` allows."""
    return scope_rules.grants(scopes_for(role), scope)


def sees_every_workspace(role: str) -> bool:
    """Owners and admins work in every workspace of their organization; others in those they are members of."""
    return role in (OWNER, ADMIN)
