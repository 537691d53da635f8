"""Native /v1/campaigns routes: campaigns, their prospects and the outreach queue. Parse → one service
call → render; adding a lead runs the enrichment pipeline first, outside the transaction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from leadhub.campaigns import queue, service
from leadhub.campaigns.schemas import (
    CampaignCounts,
    CampaignIn,
    CampaignList,
    CampaignOut,
    CampaignStatus,
    ClaimIn,
    ClaimList,
    OutcomeIn,
    ProspectIn,
    ProspectList,
    ProspectOut,
    ProspectPatch,
    ProspectState,
    RescoreOut,
)
from leadhub.core.pagination import MAX_LIMIT, PageRequest
from leadhub.enrichment import pipeline
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"], responses=ERRORS)
read = ctx_for("campaigns.read")
write = ctx_for("campaigns.write")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


def _json(content: object, status: int = 200) -> Response:
    return Response(serialize(content), status_code=status, media_type="application/json")


@router.post("", status_code=201, response_model=CampaignOut, summary="Create a campaign")
async def create_campaign(body: CampaignIn, ctx: Ctx = Depends(write)) -> Response:
    """Status defaults to `draft`; only an `active` campaign hands prospects to agents."""
    async with ctx.write() as tx:
        campaign = await service.create_campaign(tx.session, ctx.workspace, ctx.actor, body)
        return tx.respond(service.campaign_out(campaign), 201)


@router.get("", response_model=CampaignList, summary="List campaigns")
async def list_campaigns(
    ctx: Ctx = Depends(read), limit: Limit = 50, cursor: Cursor = None, status: CampaignStatus | None = None
) -> Response:
    async with ctx.read() as session:
        page = await service.list_campaigns(session, ctx.workspace, status, PageRequest(limit, cursor))
        return _json(
            CampaignList(
                data=[service.campaign_out(c) for c in page.items], next_cursor=page.next_cursor, has_more=page.has_more
            )
        )


@router.get("/{campaign_id}", response_model=CampaignOut, summary="Get a campaign")
async def get_campaign(campaign_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        return _json(service.campaign_out(await service.get_campaign(session, ctx.workspace, campaign_id)))


@router.patch("/{campaign_id}", response_model=CampaignOut, summary="Update a campaign; new criteria re-score it")
async def patch_campaign(campaign_id: str, body: CampaignIn, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        campaign = await service.patch_campaign(tx.session, ctx.workspace, ctx.actor, campaign_id, body)
        return tx.respond(service.campaign_out(campaign))


@router.delete("/{campaign_id}", status_code=204, summary="Delete a campaign and its prospects")
async def delete_campaign(campaign_id: str, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        await service.delete_campaign(tx.session, ctx.workspace, ctx.actor, campaign_id)
        return tx.respond(None, 204)


@router.get("/{campaign_id}/counts", response_model=CampaignCounts, summary="Prospects per state")
async def campaign_counts(campaign_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        return _json(await service.counts(session, ctx.workspace, campaign_id))


@router.post("/{campaign_id}/rescore", response_model=RescoreOut, summary="Re-score every prospect")
async def rescore_campaign(campaign_id: str, ctx: Ctx = Depends(write)) -> Response:
    """After contacts' or companies' data changed through other routes; each changed score is an event."""
    async with ctx.write() as tx:
        scored, changed = await service.rescore_all(tx.session, ctx.workspace, ctx.actor, campaign_id)
        return tx.respond(RescoreOut(rescored=scored, changed=changed))


@router.post(
    "/{campaign_id}/prospects",
    status_code=201,
    response_model=ProspectOut,
    responses={200: {"model": ProspectOut, "description": "The contact was already in the campaign: updated"}},
    summary="Add a lead to the campaign (enriched, scored, queued)",
)
async def add_prospect(campaign_id: str, body: ProspectIn, request: Request, ctx: Ctx = Depends(write)) -> Response:
    """201 for a new prospect, 200 when the contact was already in the campaign (its prospect is updated)."""
    lead = await pipeline.for_app(request.app.state).run(service.lead_of(body, ctx.workspace.default_region))
    async with ctx.write() as tx:
        added = await service.add_prospect(tx.session, ctx.workspace, ctx.actor, campaign_id, body, lead)
        return tx.respond(service.prospect_out(added.prospect), 201 if added.created else 200)


@router.get("/{campaign_id}/prospects", response_model=ProspectList, summary="List prospects in queue order")
async def list_prospects(
    campaign_id: str,
    ctx: Ctx = Depends(read),
    limit: Limit = 50,
    cursor: Cursor = None,
    state: Annotated[list[ProspectState] | None, Query(description="Repeat for any of several")] = None,
    tier: Annotated[list[str] | None, Query(description="A, B, C or D; repeat for several")] = None,
    contact_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Best score first, then the longest waiting (the order agents claim in)."""
    filters = service.ProspectFilters(
        state=[str(s) for s in state or []], tier=[t for t in tier or [] if t in "ABCD" and t], contact_id=contact_id
    )
    async with ctx.read() as session:
        page = await service.list_prospects(session, ctx.workspace, campaign_id, filters, PageRequest(limit, cursor))
        return _json(
            ProspectList(
                data=[service.prospect_out(p) for p in page.items], next_cursor=page.next_cursor, has_more=page.has_more
            )
        )


@router.get("/{campaign_id}/prospects/{prospect_id}", response_model=ProspectOut, summary="Get a prospect")
async def get_prospect(campaign_id: str, prospect_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        prospect = await service.get_prospect(session, ctx.workspace, campaign_id, prospect_id)
        return _json(service.prospect_out(prospect))


@router.patch(
    "/{campaign_id}/prospects/{prospect_id}", response_model=ProspectOut, summary="Update a prospect (re-scored)"
)
async def patch_prospect(
    campaign_id: str, prospect_id: str, body: ProspectPatch, ctx: Ctx = Depends(write)
) -> Response:
    async with ctx.write() as tx:
        prospect = await service.patch_prospect(tx.session, ctx.workspace, ctx.actor, campaign_id, prospect_id, body)
        return tx.respond(service.prospect_out(prospect))


@router.delete("/{campaign_id}/prospects/{prospect_id}", status_code=204, summary="Remove a prospect")
async def delete_prospect(campaign_id: str, prospect_id: str, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        await service.delete_prospect(tx.session, ctx.workspace, ctx.actor, campaign_id, prospect_id)
        return tx.respond(None, 204)


@router.post(
    "/{campaign_id}/prospects/{prospect_id}/rescore", response_model=ProspectOut, summary="Re-score one prospect"
)
async def rescore_prospect(campaign_id: str, prospect_id: str, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        campaign = await service.get_campaign(tx.session, ctx.workspace, campaign_id)
        prospect = await service.get_prospect(tx.session, ctx.workspace, campaign_id, prospect_id, lock=True)
        await service.rescore(tx.session, ctx.workspace, ctx.actor, campaign, prospect, reason="requested")
        return tx.respond(service.prospect_out(prospect))


@router.post("/{campaign_id}/queue/claim", response_model=ClaimList, summary="Claim the next prospects")
async def claim(campaign_id: str, body: ClaimIn, ctx: Ctx = Depends(write)) -> Response:
    """Atomically hands the next `limit` queued prospects (best score, then oldest) to `agent`, each with a
    `claim.token` to report with before `claim.until`; no prospect goes to two agents. 409 when the campaign
    is not active. An empty list when nothing is queued."""
    async with ctx.write() as tx:
        taken = await queue.claim(tx.session, ctx.workspace, ctx.actor, campaign_id, body)
        return tx.respond(ClaimList(data=[service.prospect_out(p) for p in taken]))


@router.post(
    "/{campaign_id}/prospects/{prospect_id}/outcome",
    response_model=ProspectOut,
    summary="Report an outcome: contacted, replied, meeting_booked, disqualified or released",
)
async def report_outcome(campaign_id: str, prospect_id: str, body: OutcomeIn, ctx: Ctx = Depends(write)) -> Response:
    """409 for a transition the state does not allow, or a claim token that is not the current claim."""
    async with ctx.write() as tx:
        prospect = await queue.report(tx.session, ctx.workspace, ctx.actor, campaign_id, prospect_id, body)
        return tx.respond(service.prospect_out(prospect))
