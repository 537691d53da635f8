"""Native /v1/custom-fields: definitions that type contact custom-field values."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from leadhub.custom_fields import service
from leadhub.custom_fields.schemas import CustomFieldCreate, CustomFieldList, CustomFieldOut, CustomFieldPatch
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS

router = APIRouter(prefix="/v1/custom-fields", tags=["custom fields"], responses=ERRORS)
read = ctx_for("contacts.read")
write = ctx_for("contacts.write")


@router.post("", status_code=201, response_model=CustomFieldOut, summary="Define a custom field")
async def create_field(body: CustomFieldCreate, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        definition = await service.create(tx.session, ctx.workspace.id, ctx.actor, body)
        return tx.respond(service.to_out(definition), 201)


@router.get("", response_model=CustomFieldList, summary="List custom fields")
async def list_fields(ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        rows = await service.list_all(session, ctx.workspace.id)
        return Response(
            serialize(CustomFieldList(data=[service.to_out(d) for d in rows])), media_type="application/json"
        )


@router.get("/{field_id}", response_model=CustomFieldOut, summary="Get a custom field")
async def get_field(field_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        definition = await service.get(session, ctx.workspace.id, field_id)
        return Response(serialize(service.to_out(definition)), media_type="application/json")


@router.patch("/{field_id}", response_model=CustomFieldOut, summary="Change a custom field")
async def patch_field(field_id: str, body: CustomFieldPatch, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        definition = await service.patch(tx.session, ctx.workspace.id, ctx.actor, field_id, body)
        return tx.respond(service.to_out(definition))


@router.delete("/{field_id}", status_code=204, summary="Delete a custom field (values stay, untyped)")
async def delete_field(field_id: str, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        await service.delete(tx.session, ctx.workspace.id, ctx.actor, field_id)
        return tx.respond(None, 204)
