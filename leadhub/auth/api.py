"""Native /v1/keys and /v1/workspaces: administration with an `admin` key."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from leadhub.auth import service
from leadhub.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    WorkspaceCreate,
    WorkspaceList,
    WorkspaceOut,
    key_out,
    workspace_out,
)
from leadhub.core import ids
from leadhub.core.errors import Forbidden
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS

router = APIRouter(prefix="/v1", tags=["administration"], responses=ERRORS)
admin = ctx_for("admin")


def _org_key_only(ctx: Ctx) -> None:
    # A workspace key must not mint keys for, or discover, its organization's other workspaces.
    if ctx.principal.workspace_id is not None:
        raise Forbidden("Only an organization key with the 'admin' scope can manage keys and workspaces")


@router.post("/keys", status_code=201, response_model=ApiKeyCreated, summary="Create an API key")
async def create_key(body: ApiKeyCreate, ctx: Ctx = Depends(admin)) -> Response:
    """The secret is in the answer once; only its hash is stored."""
    _org_key_only(ctx)
    workspace_id = None
    if body.workspace_id is not None:
        workspace_id = ids.resolve(ids.WORKSPACE, body.workspace_id, "workspace")
    async with ctx.write() as tx:
        key, raw = await service.create_api_key(
            tx.session, ctx.principal.organization_id, workspace_id=workspace_id, name=body.name, scopes=body.scopes
        )
        return tx.respond(ApiKeyCreated(**key_out(key).model_dump(), key=raw), 201)


@router.get("/keys", response_model=ApiKeyList, summary="List API keys (prefixes only)")
async def list_keys(ctx: Ctx = Depends(admin)) -> Response:
    _org_key_only(ctx)
    async with ctx.read() as session:
        keys = await service.list_api_keys(session, ctx.principal.organization_id)
        return Response(serialize(ApiKeyList(data=[key_out(k) for k in keys])), media_type="application/json")


@router.delete("/keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
async def revoke_key(key_id: str, ctx: Ctx = Depends(admin)) -> Response:
    _org_key_only(ctx)
    async with ctx.write() as tx:
        key = await service.revoke_api_key(tx.session, ctx.principal.organization_id, key_id)
        return tx.respond(key_out(key))


@router.post("/workspaces", status_code=201, response_model=WorkspaceOut, summary="Create a workspace")
async def create_workspace(body: WorkspaceCreate, ctx: Ctx = Depends(admin)) -> Response:
    _org_key_only(ctx)
    async with ctx.write() as tx:
        region = body.default_region.upper() if body.default_region else None
        ws = await service.create_workspace(tx.session, ctx.principal.organization_id, body.name, region)
        return tx.respond(workspace_out(ws), 201)


@router.get("/workspaces", response_model=WorkspaceList, summary="List the organization's workspaces")
async def list_workspaces(ctx: Ctx = Depends(admin)) -> Response:
    _org_key_only(ctx)
    async with ctx.read() as session:
        rows = await service.list_workspaces(session, ctx.principal.organization_id)
        return Response(serialize(WorkspaceList(data=[workspace_out(w) for w in rows])), media_type="application/json")
