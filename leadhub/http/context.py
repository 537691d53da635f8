"""The request context every door's handlers receive: who acts, in which workspace, and the unit of
work (with idempotency) to act in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from leadhub import uow
from leadhub.auth import service as auth
from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor, Principal
from leadhub.config import Settings
from leadhub.core import ids
from leadhub.core.errors import FieldError, Invalid
from leadhub.db.engine import Database
from leadhub.idempotency import service as idempotency

WORKSPACE_HEADER = "LeadHub-Workspace"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENT_METHODS = {"POST", "PUT", "PATCH"}

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer lh_…`")


def serialize(content: Any) -> bytes:
    """JSON bytes of a pydantic model (its own fast serializer) or of plain data (orjson)."""
    if isinstance(content, BaseModel):
        return content.__pydantic_serializer__.to_json(content, by_alias=True)
    return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


@dataclass
class Tx:
    """One writing transaction. ``respond`` builds the answer that an idempotent retry will replay."""

    session: AsyncSession
    response: tuple[int, bytes, dict[str, str]] | None = field(default=None)

    def respond(
        self,
        content: Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str = "application/json",
    ) -> Response:
        body = b"" if content is None else serialize(content)
        stored = {"content-type": media_type, **(headers or {})}
        self.response = (status, body, stored)
        return Response(body if status != 204 else None, status_code=status, headers=headers, media_type=media_type)


@dataclass
class Ctx:
    request: Request
    db: Database
    settings: Settings
    principal: Principal
    workspace: Workspace
    actor: Actor

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.db.read_session() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """Run one unit of work; honours ``Idempotency-Key`` on POST/PUT/PATCH."""
        key = await self._claim_idempotency_key()
        async with self.db.session() as session:
            tx = Tx(session)
            try:
                yield tx
                if key is not None and tx.response is not None:
                    status, body, headers = tx.response
                    await idempotency.complete(session, self.workspace.id, key, status, body, headers)
                await uow.commit(session)
            except BaseException:
                await session.rollback()
                if key is not None:
                    async with self.db.session() as cleanup:
                        await idempotency.release(cleanup, self.workspace.id, key)
                raise

    async def _claim_idempotency_key(self) -> str | None:
        key = self.request.headers.get(IDEMPOTENCY_HEADER)
        if key is None or self.request.method not in _IDEMPOTENT_METHODS:
            return None
        key = key.strip()
        if not key or len(key) > idempotency.MAX_KEY_LENGTH:
            raise Invalid(
                [
                    FieldError(
                        IDEMPOTENCY_HEADER,
                        "max_length",
                        f"must be 1 to {idempotency.MAX_KEY_LENGTH} characters",
                        "string",
                    )
                ]
            )
        body = await self.request.body()
        try:
            canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
        except orjson.JSONDecodeError:
            canonical = body
        target = self.request.url.path + ("?" + self.request.url.query if self.request.url.query else "")
        fingerprint = idempotency.request_fingerprint(self.request.method, target, canonical)
        ttl = timedelta(hours=self.settings.idempotency_ttl_hours)
        async with self.db.session() as session:
            await idempotency.claim(session, self.workspace.id, key, fingerprint, ttl, self.settings.idempotency_lease)
        return key


async def authenticate_request(
    request: Request, raw_key: str | None, requested_workspace: str | None, scope: str, door: str
) -> Ctx:
    """Authenticate a key, check its scope and pick the workspace: the shared front of every door."""
    db: Database = request.app.state.db
    cache: auth.AuthCache | None = getattr(request.app.state, "auth_cache", None)
    if cache is None:
        cache = request.app.state.auth_cache = auth.AuthCache()
    hit = cache.get(raw_key, requested_workspace)
    # When a key's cached authentication runs out, every request of it in flight would read the key again at
    # once (a worker serving 32 at a time: 32 reads every AUTH_CACHE_SECONDS). The first reads it; the others
    # wait for it and take its answer from the cache, or read it themselves when it put none (each gets its
    # own error, for its own scope).
    flights: dict[tuple[str, str | None], asyncio.Future[None]] | None = None
    ident = (raw_key or "", requested_workspace)
    if hit is None and raw_key:
        flights = getattr(request.app.state, "auth_flights", None)
        if flights is None:
            flights = request.app.state.auth_flights = {}
        leader = flights.get(ident)
        if leader is not None and leader.get_loop() is asyncio.get_running_loop():
            await asyncio.shield(leader)
            hit = cache.get(raw_key, requested_workspace)
    if hit is not None:
        authenticated, workspace = hit
        auth.require_scope(authenticated.principal, scope)
    else:
        flight: asyncio.Future[None] | None = None
        if flights is not None and ident not in flights:
            flight = flights[ident] = asyncio.get_running_loop().create_future()
        try:
            async with db.read_session() as session:
                authenticated = await auth.authenticate(session, raw_key)
                auth.require_scope(authenticated.principal, scope)
                workspace = await auth.resolve_workspace(session, authenticated.principal, requested_workspace)
            cache.put(raw_key or "", requested_workspace, authenticated, workspace)
        finally:
            if flight is not None and flights is not None:
                del flights[ident]
                flight.set_result(None)
    if authenticated.needs_touch and cache.claim_touch(authenticated.principal.key_id):
        async with db.session() as session, session.begin():
            await auth.touch_api_key(session, authenticated.principal.key_id)
    principal = authenticated.principal
    request.state.workspace_id = workspace.public_id
    request.state.key_id = principal.key_id
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:  # rate limits (leadhub.ratelimit): charged once the key and workspace are known
        await limiter.enforce(request, principal, workspace)
    return Ctx(
        request=request,
        db=db,
        settings=request.app.state.settings,
        principal=principal,
        workspace=workspace,
        actor=Actor(type="api_key", id=ids.encode(ids.API_KEY, principal.key_id), door=door),
    )


def ctx_for(scope: str, door: str = "api") -> Callable[..., Awaitable[Ctx]]:
    """Dependency for a native route needing ``scope``."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        workspace: str | None = Header(
            None,
            alias=WORKSPACE_HEADER,
            description="Workspace to act in (`ws_…`), for organization keys; default: the organization's first",
        ),
    ) -> Ctx:
        return await authenticate_request(
            request, credentials.credentials if credentials else None, workspace, scope, door
        )

    return dependency
