"""Organizations, workspaces and API keys: creation, authentication, workspace resolution."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from leadhub.auth import scopes as scope_rules
from leadhub.auth.models import ApiKey, Organization, Workspace
from leadhub.auth.principal import Principal
from leadhub.core import clock, ids
from leadhub.core.errors import FieldError, Forbidden, Invalid, NotFound, Unauthenticated

KEY_PREFIX = "lh_"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SECRET_LENGTH = 32
_CHECKSUM_LENGTH = 6
# How stale last_used_at may get before a request refreshes it: one write a minute per key, not per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)
_BOOTSTRAP_LOCK = 7_243_002
# How long a process trusts an authentication it already did (key -> principal and workspace) without
# reading the key again. Revocation is immediate in the revoking process and takes at most this long in
# the others (see docs/operations.md).
AUTH_CACHE_SECONDS = 5.0
_AUTH_CACHE_MAX = 10_000
_monotonic = time.monotonic  # the cache's clock (tests move it instead of waiting)


def _base62(n: int, width: int) -> str:
    chars = []
    for _ in range(width):
        n, r = divmod(n, 62)
        chars.append(_BASE62[r])
    return "".join(reversed(chars))


def generate_key() -> str:
    """``lh_`` + 32 random base62 characters + a 6-character CRC32 checksum, so secret scanners can
    recognize a leaked key and tell it from a random string without asking us."""
    body = "".join(secrets.choice(_BASE62) for _ in range(_SECRET_LENGTH))
    return f"{KEY_PREFIX}{body}{_base62(zlib.crc32(body.encode()), _CHECKSUM_LENGTH)}"


def key_checksum_ok(raw: str) -> bool:
    if not raw.startswith(KEY_PREFIX) or len(raw) != len(KEY_PREFIX) + _SECRET_LENGTH + _CHECKSUM_LENGTH:
        return False
    body, check = raw[len(KEY_PREFIX) : -_CHECKSUM_LENGTH], raw[-_CHECKSUM_LENGTH:]
    return _base62(zlib.crc32(body.encode()), _CHECKSUM_LENGTH) == check


def hash_key(raw: str) -> str:
    # Keys are 190 random bits: a fast hash is safe here, and a slow one would tax every request.
    return hashlib.sha256(raw.encode()).hexdigest()


async def create_organization(session: AsyncSession, name: str) -> Organization:
    org = Organization(id=ids.new_uuid(), name=name, created_at=clock.now())
    session.add(org)
    await session.flush()
    return org


async def create_workspace(
    session: AsyncSession, organization_id: uuid.UUID, name: str, default_region: str | None = "US"
) -> Workspace:
    ws = Workspace(
        id=ids.new_uuid(),
        organization_id=organization_id,
        name=name,
        default_region=default_region,
        event_seq=0,
        created_at=clock.now(),
    )
    session.add(ws)
    await session.flush()
    return ws


async def list_workspaces(session: AsyncSession, organization_id: uuid.UUID | None = None) -> list[Workspace]:
    stmt = select(Workspace).order_by(Workspace.created_at, Workspace.id)
    if organization_id is not None:
        stmt = stmt.where(Workspace.organization_id == organization_id)
    return list((await session.scalars(stmt)).all())


def validate_scopes(scopes: list[str]) -> list[str]:
    bad = [s for s in scopes if not scope_rules.is_known(s)]
    if bad or not scopes:
        raise Invalid(
            [
                FieldError(
                    "scopes",
                    "scope",
                    f"unknown scope(s): {', '.join(bad) or '(none given)'}; "
                    f"known: {', '.join(scope_rules.SCOPES)} and resource.*",
                )
            ]
        )
    return sorted(set(scopes))


async def create_api_key(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    workspace_id: uuid.UUID | None,
    name: str,
    scopes: list[str],
) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned once and only its hash is kept."""
    scopes = validate_scopes(scopes)
    if workspace_id is not None:
        ws = await session.get(Workspace, workspace_id)
        if ws is None or ws.organization_id != organization_id:
            raise NotFound("workspace")
    raw = generate_key()
    key = ApiKey(
        id=ids.new_uuid(),
        organization_id=organization_id,
        workspace_id=workspace_id,
        name=name,
        prefix=raw[:12],
        key_hash=hash_key(raw),
        scopes=scopes,
        created_at=clock.now(),
    )
    session.add(key)
    await session.flush()
    return key, raw


async def list_api_keys(session: AsyncSession, organization_id: uuid.UUID) -> list[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.organization_id == organization_id).order_by(ApiKey.created_at)
    return list((await session.scalars(stmt)).all())


async def revoke_api_key(session: AsyncSession, organization_id: uuid.UUID, key_id: str) -> ApiKey:
    kid = ids.resolve(ids.API_KEY, key_id, "api key")
    key = await session.get(ApiKey, kid)
    if key is None or key.organization_id != organization_id:
        raise NotFound("api key")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
    await session.flush()
    forget_key(key.id)
    return key


@dataclass(frozen=True)
class Authenticated:
    principal: Principal
    needs_touch: bool
    last_used_at: datetime | None = None


async def authenticate(session: AsyncSession, raw: str | None) -> Authenticated:
    """Resolve a raw key to its principal; 401 for a missing, malformed, unknown or revoked key."""
    if not raw:
        raise Unauthenticated("Missing API key: send 'Authorization: Bearer lh_…'")
    if not key_checksum_ok(raw):
        raise Unauthenticated("Invalid API key")
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(raw)))
    if key is None or key.revoked_at is not None:
        raise Unauthenticated("Invalid API key")
    now = clock.now()
    stale = key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION
    principal = Principal(
        key_id=key.id,
        organization_id=key.organization_id,
        workspace_id=key.workspace_id,
        scopes=tuple(key.scopes),
    )
    return Authenticated(principal=principal, needs_touch=stale, last_used_at=key.last_used_at)


async def touch_api_key(session: AsyncSession, key_id: uuid.UUID) -> None:
    """Record that the key was used (at most once per LAST_USED_RESOLUTION). Requests of one key arriving
    together all find it stale: the condition makes every one but the first a no-op once the first
    commits, and the timestamp is advisory, so its commit does not wait for the disk."""
    now = clock.now()
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL synchronous_commit = off"))
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
    )


def require_scope(principal: Principal, scope: str) -> None:
    if not scope_rules.grants(principal.scopes, scope):
        raise Forbidden(f"This API key lacks the '{scope}' scope")


async def resolve_workspace(session: AsyncSession, principal: Principal, requested: str | None) -> Workspace:
    """The workspace a request acts in. A workspace key acts in its own; an organization key in the one
    it names, else the organization's first workspace. A workspace of another organization is 404."""
    if requested:
        wanted = ids.resolve(ids.WORKSPACE, requested.strip(), "workspace")
        if principal.workspace_id is not None and wanted != principal.workspace_id:
            raise NotFound("workspace")
        ws = await session.get(Workspace, wanted)
        if ws is None or ws.organization_id != principal.organization_id:
            raise NotFound("workspace")
        return ws
    if principal.workspace_id is not None:
        ws = await session.get(Workspace, principal.workspace_id)
    else:
        ws = await session.scalar(
            select(Workspace)
            .where(Workspace.organization_id == principal.organization_id)
            .order_by(Workspace.created_at, Workspace.id)
            .limit(1)
        )
    if ws is None:
        raise NotFound("workspace")
    return ws


@dataclass
class _Remembered:
    principal: Principal
    last_used_at: datetime | None
    expires: float
    # (id, organization_id, name, default_region, event_seq, created_at) of the workspace a request named
    # (None: the key's default one), copied into a fresh object per request so no two sessions share one.
    workspaces: dict[str | None, tuple[Any, ...]]


_WORKSPACE_FIELDS = ("id", "organization_id", "name", "default_region", "event_seq", "created_at")
_new_workspace: Callable[[], Workspace] = Workspace.__mapper__.class_manager.new_instance


class AuthCache:
    """Successful authentications (key -> principal and workspace) an app trusts for
    ``AUTH_CACHE_SECONDS`` without reading the key again. One per app; revoking a key in this process
    drops it from every cache at once."""

    def __init__(self) -> None:
        self._entries: dict[str, _Remembered] = {}
        self._touched: dict[uuid.UUID, float] = {}
        _caches.add(self)

    def claim_touch(self, key_id: uuid.UUID) -> bool:
        """True for one request of this key per LAST_USED_RESOLUTION in this process: the one that writes
        ``last_used_at`` (a burst of requests all finding it stale would otherwise all queue on its row)."""
        now = _monotonic()
        last = self._touched.get(key_id)
        if last is not None and now - last < LAST_USED_RESOLUTION.total_seconds():
            return False
        if len(self._touched) >= _AUTH_CACHE_MAX:
            self._touched.clear()
        self._touched[key_id] = now
        return True

    def get(self, raw: str | None, requested: str | None) -> tuple[Authenticated, Workspace] | None:
        """A recent authentication of this key acting in this workspace; None: ask the database."""
        if not raw:
            return None
        hashed = hash_key(raw)
        entry = self._entries.get(hashed)
        if entry is None:
            return None
        if entry.expires < _monotonic():
            self._entries.pop(hashed, None)
            return None
        values = entry.workspaces.get(requested)
        if values is None:
            return None
        now = clock.now()
        stale = entry.last_used_at is None or now - entry.last_used_at > LAST_USED_RESOLUTION
        if stale:
            entry.last_used_at = now  # this request touches the key; the next ones need not
        # Filled as a query's row fills one (straight into its dict): the constructor's six instrumented
        # sets cost a third of this lookup, and make_transient_to_detached commits whatever it holds.
        ws = _new_workspace()
        ws.__dict__.update(zip(_WORKSPACE_FIELDS, values, strict=True))
        make_transient_to_detached(ws)  # as if loaded by a session that has closed, like an uncached one
        return Authenticated(entry.principal, needs_touch=stale, last_used_at=entry.last_used_at), ws

    def put(self, raw: str, requested: str | None, authenticated: Authenticated, ws: Workspace) -> None:
        hashed = hash_key(raw)
        entry = self._entries.get(hashed)
        if entry is None or entry.expires < _monotonic():
            if len(self._entries) >= _AUTH_CACHE_MAX:
                self._entries.clear()
            last_used = clock.now() if authenticated.needs_touch else authenticated.last_used_at
            entry = _Remembered(authenticated.principal, last_used, _monotonic() + AUTH_CACHE_SECONDS, {})
            self._entries[hashed] = entry
        entry.workspaces[requested] = tuple(getattr(ws, name) for name in _WORKSPACE_FIELDS)

    def forget(self, key_id: uuid.UUID) -> None:
        for hashed, entry in list(self._entries.items()):
            if entry.principal.key_id == key_id:
                self._entries.pop(hashed, None)


_caches: weakref.WeakSet[AuthCache] = weakref.WeakSet()


def forget_key(key_id: uuid.UUID) -> None:
    """Drop a (revoked) key from every authentication cache of this process."""
    for cache in list(_caches):
        cache.forget(key_id)


@dataclass(frozen=True)
class Bootstrap:
    organization: Organization
    workspace: Workspace
    raw_key: str


async def bootstrap_if_empty(session: AsyncSession, default_region: str | None) -> Bootstrap | None:
    """On an empty database create the default organization, workspace and an admin organization key.
    Returns None when the database already has an organization."""
    if session.get_bind().dialect.name == "postgresql":
        # Several processes may start at once on one PostgreSQL: only one bootstraps.
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _BOOTSTRAP_LOCK})
    if await session.scalar(select(func.count()).select_from(Organization)):
        return None
    org = await create_organization(session, "Default organization")
    ws = await create_workspace(session, org.id, "Default workspace", default_region)
    _, raw = await create_api_key(session, org.id, workspace_id=None, name="admin (first start)", scopes=["admin"])
    return Bootstrap(organization=org, workspace=ws, raw_key=raw)
