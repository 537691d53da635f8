"""Native /v1/deals routes: parse → one service call → render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from leadhub.core.pagination import MAX_LIMIT, PageRequest
from leadhub.deals import service
from leadhub.deals.schemas import DealIn, DealList, DealOut, PipelineSummary, StageHistory, Status
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS

router = APIRouter(prefix="/v1/deals", tags=["deals"], responses=ERRORS)
read = ctx_for("deals.read")
write = ctx_for("deals.write")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]
Text = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
Amount = Annotated[str | None, Query(max_length=40, pattern=r"^\d{1,15}(\.\d{1,4})?$", description='e.g. "1000.50"')]


def _json(content: object, status: int = 200) -> Response:
    return Response(serialize(content), status_code=status, media_type="application/json")


@router.post("", status_code=201, response_model=DealOut, summary="Create a deal")
async def create_deal(body: DealIn, ctx: Ctx = Depends(write)) -> Response:
    """In the given pipeline (default: the workspace's default pipeline) and stage (default: its first);
    probability defaults to the stage's."""
    async with ctx.write() as tx:
        deal = await service.create(tx.session, ctx.workspace, ctx.actor, body)
        return tx.respond(service.to_out(deal), 201)


@router.get("", response_model=DealList, summary="List deals")
async def list_deals(
    ctx: Ctx = Depends(read),
    limit: Limit = 50,
    cursor: Cursor = None,
    stage: Annotated[list[str] | None, Query(description="Stage key; repeat for any of several")] = None,
    status: Annotated[list[Status] | None, Query(description="Repeat for any of several")] = None,
    pipeline_id: Text = None,
    source: Text = None,
    company_id: Text = None,
    contact_id: Text = None,
    owner: Text = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    value_min: Amount = None,
    value_max: Amount = None,
    q: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$", description="Search the name")] = None,
    deleted: Annotated[bool, Query(description="List deleted deals instead (the trash)")] = False,
) -> Response:
    filters = service.DealFilters(
        stage=[s for s in stage or [] if "\x00" not in s] if stage else [],
        status=[str(s) for s in status or []],
        pipeline_id=pipeline_id,
        source=source,
        company_id=company_id,
        contact_id=contact_id,
        owner=owner,
        currency=currency,
        value_min=value_min,
        value_max=value_max,
        q=q,
        deleted=deleted,
    )
    async with ctx.read() as session:
        page = await service.list_deals(session, ctx.workspace, filters, PageRequest(limit, cursor))
        return _json(
            DealList(data=[service.to_out(d) for d in page.items], next_cursor=page.next_cursor, has_more=page.has_more)
        )


@router.get("/summary", response_model=PipelineSummary, summary="Pipeline summary: count and values per stage")
async def pipeline_summary(
    ctx: Ctx = Depends(read),
    pipeline_id: Annotated[str | None, Query(max_length=64, description="Default: the default pipeline")] = None,
    status: Annotated[list[Status] | None, Query(description="Only deals in these statuses")] = None,
) -> Response:
    """Live deals per stage: count, total value and probability-weighted value, per currency."""
    if pipeline_id is None:
        async with ctx.write() as tx:  # may create the default pipeline on a workspace's first use
            result = await service.summary(tx.session, ctx.workspace, ctx.actor, None, [str(s) for s in status or []])
            return _json(result)
    async with ctx.read() as session:
        result = await service.summary(session, ctx.workspace, ctx.actor, pipeline_id, [str(s) for s in status or []])
        return _json(result)


@router.get("/{deal_id}", response_model=DealOut, summary="Get a deal")
async def get_deal(deal_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        return _json(service.to_out(await service.get(session, ctx.workspace, deal_id)))


@router.patch("/{deal_id}", response_model=DealOut, summary="Update a deal; a stage move is recorded")
async def patch_deal(deal_id: str, body: DealIn, ctx: Ctx = Depends(write)) -> Response:
    """Absent fields stay. A new `stage` records `deal.stage_changed` (from, to, time); probability
    follows the new stage unless given; a won/lost stage closes the deal as converted/lost."""
    async with ctx.write() as tx:
        deal = await service.patch(tx.session, ctx.workspace, ctx.actor, deal_id, body)
        return tx.respond(service.to_out(deal))


@router.delete("/{deal_id}", status_code=204, summary="Delete a deal (restorable)")
async def delete_deal(deal_id: str, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        await service.delete(tx.session, ctx.workspace, ctx.actor, deal_id)
        return tx.respond(None, 204)


@router.post("/{deal_id}/restore", response_model=DealOut, summary="Restore a deleted deal")
async def restore_deal(deal_id: str, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        deal = await service.restore(tx.session, ctx.workspace, ctx.actor, deal_id)
        return tx.respond(service.to_out(deal))


@router.get("/{deal_id}/stages", response_model=StageHistory, summary="Time the deal spent in each stage")
async def deal_stage_history(deal_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        return _json(await service.stage_history(session, ctx.workspace, deal_id))
