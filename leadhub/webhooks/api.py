"""Native /v1/webhooks: endpoints, their deliveries and attempts, replays and test events."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from leadhub.core import ids
from leadhub.core.pagination import MAX_LIMIT, PageRequest
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS
from leadhub.webhooks import payload, service
from leadhub.webhooks.models import Attempt, Delivery, WebhookEndpoint
from leadhub.webhooks.schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryList,
    DeliveryOut,
    DeliveryStatus,
    EndpointCreated,
    EndpointIn,
    EndpointList,
    EndpointOut,
    EndpointPatch,
    ReplayRangeIn,
    ReplayRangeOut,
    RotateIn,
    SecretOut,
    TestEventOut,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=ERRORS)
read = ctx_for("webhooks.read")
write = ctx_for("webhooks.write")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


def _json(content: object, status: int = 200) -> Response:
    return Response(serialize(content), status_code=status, media_type="application/json")


def endpoint_out(e: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        id=e.public_id,
        url=e.url,
        description=e.description,
        event_types=e.event_types,
        flow_names=e.flow_names,
        enabled=e.enabled,
        disabled_reason=e.disabled_reason,
        disabled_at=e.disabled_at,
        previous_secret_expires_at=e.previous_secret_expires_at,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.public_id,
        endpoint_id=ids.encode(ids.WEBHOOK, d.endpoint_id),
        event_id=ids.encode(ids.EVENT, d.event_id),
        event_seq=d.event_seq,
        event_type=d.event_type,
        contact_id=ids.encode(ids.CONTACT, d.contact_id) if d.contact_id else None,
        status=d.status,
        attempt_count=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_attempt_at=d.last_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
        created_at=d.created_at,
    )


def attempt_out(a: Attempt) -> AttemptOut:
    return AttemptOut(
        id=a.public_id,
        attempted_at=a.attempted_at,
        url=a.url,
        status_code=a.status_code,
        latency_ms=a.latency_ms,
        response_excerpt=a.response_excerpt,
        error=a.error,
    )


@router.post("", status_code=201, response_model=EndpointCreated, summary="Register an endpoint")
async def create_endpoint(body: EndpointIn, ctx: Ctx = Depends(write)) -> Response:
    """The answer holds the signing secret (`whsec_…`); it is not shown again (rotate to get a new one)."""
    async with ctx.write() as tx:
        endpoint = await service.create_endpoint(
            tx.session, ctx.workspace.id, ctx.actor, body, allow_private=ctx.settings.webhook_allow_private
        )
        out = EndpointCreated(**endpoint_out(endpoint).model_dump(), secret=endpoint.secret)
        return tx.respond(out, 201)


@router.get("", response_model=EndpointList, summary="List endpoints")
async def list_endpoints(ctx: Ctx = Depends(read), limit: Limit = 50, cursor: Cursor = None) -> Response:
    async with ctx.read() as session:
        page = await service.list_endpoints(session, ctx.workspace.id, PageRequest(limit, cursor))
        return _json(
            EndpointList(
                data=[endpoint_out(e) for e in page.items], next_cursor=page.next_cursor, has_more=page.has_more
            )
        )


@router.get("/{endpoint_id}", response_model=EndpointOut, summary="Get an endpoint")
async def get_endpoint(endpoint_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        return _json(endpoint_out(await service.get_endpoint(session, ctx.workspace.id, endpoint_id)))


@router.patch("/{endpoint_id}", response_model=EndpointOut, summary="Change an endpoint")
async def patch_endpoint(endpoint_id: str, body: EndpointPatch, ctx: Ctx = Depends(write)) -> Response:
    """Setting `enabled: true` re-enables a disabled endpoint; replay the range it missed afterwards."""
    async with ctx.write() as tx:
        endpoint = await service.patch_endpoint(
            tx.session,
            ctx.workspace.id,
            ctx.actor,
            endpoint_id,
            body,
            allow_private=ctx.settings.webhook_allow_private,
        )
        return tx.respond(endpoint_out(endpoint))


@router.delete("/{endpoint_id}", status_code=204, summary="Delete an endpoint and its delivery log")
async def delete_endpoint(endpoint_id: str, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        await service.delete_endpoint(tx.session, ctx.workspace.id, ctx.actor, endpoint_id)
        return tx.respond(None, 204)


@router.post("/{endpoint_id}/rotate-secret", response_model=SecretOut, summary="Rotate the signing secret")
async def rotate_secret(endpoint_id: str, body: RotateIn | None = None, ctx: Ctx = Depends(write)) -> Response:
    """During the grace period deliveries carry two signatures, one per secret."""
    grace = timedelta(hours=(body or RotateIn()).grace_period_hours)
    async with ctx.write() as tx:
        endpoint = await service.rotate_secret(tx.session, ctx.workspace.id, ctx.actor, endpoint_id, grace)
        return tx.respond(
            SecretOut(
                id=endpoint.public_id,
                secret=endpoint.secret,
                previous_secret_expires_at=endpoint.previous_secret_expires_at,
            )
        )


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryList, summary="List an endpoint's deliveries")
async def list_deliveries(
    endpoint_id: str,
    ctx: Ctx = Depends(read),
    status: Annotated[list[DeliveryStatus] | None, Query(description="Only these statuses; repeatable")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    async with ctx.read() as session:
        page = await service.list_deliveries(
            session, ctx.workspace.id, endpoint_id, PageRequest(limit, cursor), status=list(status or [])
        )
        return _json(
            DeliveryList(
                data=[delivery_out(d) for d in page.items], next_cursor=page.next_cursor, has_more=page.has_more
            )
        )


@router.get(
    "/{endpoint_id}/deliveries/{delivery_id}", response_model=DeliveryDetail, summary="A delivery and its attempts"
)
async def get_delivery(endpoint_id: str, delivery_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        view = await service.get_delivery(session, ctx.workspace.id, endpoint_id, delivery_id)
        return _json(
            DeliveryDetail(
                **delivery_out(view.delivery).model_dump(),
                payload=payload.envelope(view.event),
                attempts=[attempt_out(a) for a in view.attempts],
            )
        )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send a delivery again",
)
async def replay_delivery(endpoint_id: str, delivery_id: str, ctx: Ctx = Depends(write)) -> Response:
    """Queued at once with a fresh retry schedule; the `webhook-id` stays the event id."""
    async with ctx.write() as tx:
        delivery = await service.replay_delivery(tx.session, ctx.workspace.id, endpoint_id, delivery_id)
        return tx.respond(delivery_out(delivery), 202)


@router.post("/{endpoint_id}/replay", status_code=202, response_model=ReplayRangeOut, summary="Replay a time range")
async def replay_range(endpoint_id: str, body: ReplayRangeIn, ctx: Ctx = Depends(write)) -> Response:
    """Resend the endpoint's events that occurred in [since, until): failed deliveries (all with
    `status: all`), and events it never got (for instance while it was disabled)."""
    async with ctx.write() as tx:
        replayed, created = await service.replay_range(
            tx.session,
            ctx.workspace.id,
            endpoint_id,
            body.since,
            body.until,
            include_succeeded=body.status == "all",
        )
        return tx.respond(ReplayRangeOut(replayed=replayed, created=created), 202)


@router.post("/{endpoint_id}/test", status_code=202, response_model=TestEventOut, summary="Send a test event")
async def send_test(endpoint_id: str, ctx: Ctx = Depends(write)) -> Response:
    """A `webhook.test` event delivered to this endpoint only, signed like every other delivery."""
    async with ctx.write() as tx:
        event = await service.send_test(tx.session, ctx.workspace.id, ctx.actor, endpoint_id)
        return tx.respond(TestEventOut(event_id=ids.encode(ids.EVENT, event.id), endpoint_id=endpoint_id), 202)
