"""Native /v1/pipelines routes. Reading a workspace's pipelines creates its default one first if this
workspace has never had it (one small write, once)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS
from leadhub.pipelines import service
from leadhub.pipelines.schemas import PipelineIn, PipelineList, PipelineOut

router = APIRouter(prefix="/v1/pipelines", tags=["pipelines"], responses=ERRORS)
read = ctx_for("deals.read")
write = ctx_for("deals.write")


def _json(content: object, status: int = 200) -> Response:
    return Response(serialize(content), status_code=status, media_type="application/json")


async def _ensure_default(ctx: Ctx) -> None:
    async with ctx.read() as session:
        present = await service.has_default(session, ctx.workspace.id)
    if not present:
        async with ctx.write() as tx:
            await service.ensure_default(tx.session, ctx.workspace, ctx.actor)


@router.post("", status_code=201, response_model=PipelineOut, summary="Create a pipeline")
async def create_pipeline(body: PipelineIn, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        pipeline = await service.create(tx.session, ctx.workspace, ctx.actor, body)
        return tx.respond(service.to_out(pipeline), 201)


@router.get("", response_model=PipelineList, summary="List pipelines (the default one first)")
async def list_pipelines(ctx: Ctx = Depends(read)) -> Response:
    await _ensure_default(ctx)
    async with ctx.read() as session:
        rows = await service.list_pipelines(session, ctx.workspace)
        return _json(PipelineList(data=[service.to_out(p) for p in rows]))


@router.get("/{pipeline_id}", response_model=PipelineOut, summary="Get a pipeline (`default` names the default one)")
async def get_pipeline(pipeline_id: str, ctx: Ctx = Depends(read)) -> Response:
    if pipeline_id == service.DEFAULT_KEY:
        await _ensure_default(ctx)
    async with ctx.read() as session:
        return _json(service.to_out(await service.get(session, ctx.workspace, pipeline_id)))


@router.patch("/{pipeline_id}", response_model=PipelineOut, summary="Rename or restage a pipeline")
async def patch_pipeline(pipeline_id: str, body: PipelineIn, ctx: Ctx = Depends(write)) -> Response:
    """A given `stages` list replaces the stages; removing a stage that holds deals is a 409."""
    async with ctx.write() as tx:
        pipeline = await service.patch(tx.session, ctx.workspace, ctx.actor, pipeline_id, body)
        return tx.respond(service.to_out(pipeline))


@router.delete("/{pipeline_id}", status_code=204, summary="Delete a pipeline without deals (not the default)")
async def delete_pipeline(pipeline_id: str, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        await service.delete(tx.session, ctx.workspace, ctx.actor, pipeline_id)
        return tx.respond(None, 204)
