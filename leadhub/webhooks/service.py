"""Webhook endpoints and deliveries: register, change, rotate, inspect, replay, test, disable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.principal import Actor
from leadhub.core import clock, ids
from leadhub.core.errors import DomainError, FieldError, Invalid, NotFound
from leadhub.core.pagination import Page, PageRequest, decode_cursor, encode_cursor
from leadhub.events import service as events
from leadhub.events.models import Event
from leadhub.webhooks import outbox, signing, ssrf, wakeup
from leadhub.webhooks.models import FAILED, OPEN_STATES, PENDING, SUCCEEDED, Attempt, Delivery, WebhookEndpoint
from leadhub.webhooks.schemas import EndpointIn, EndpointPatch

MAX_ENDPOINTS_PER_WORKSPACE = 50
MAX_REPLAY = 10_000
_ENDPOINT = "webhook endpoint"
_DELIVERY = "webhook delivery"
_SYSTEM = Actor.system("webhooks")


class EndpointDisabled(DomainError):
    status = 409
    code = "endpoint_disabled"
    title = "The webhook endpoint is disabled"


class DeliveryInFlight(DomainError):
    status = 409
    code = "delivery_in_flight"
    title = "The delivery is being attempted right now"


def _snapshot(e: WebhookEndpoint) -> dict[str, Any]:
    """What events record about an endpoint: never its secret."""
    return {
        "id": e.public_id,
        "url": e.url,
        "description": e.description,
        "event_types": e.event_types,
        "flow_names": e.flow_names,
        "enabled": e.enabled,
        "disabled_reason": e.disabled_reason,
    }


def _record(session: AsyncSession, e: WebhookEndpoint, actor: Actor, type: str, **extra: Any) -> None:
    events.record(
        session,
        e.workspace_id,
        actor,
        type,
        resource_type="webhook_endpoint",
        resource_id=e.id,
        payload={**_snapshot(e), **extra},
    )


async def check_url(url: str, *, allow_private: bool) -> str:
    """A usable http(s) URL to a public address; Invalid naming ``url`` and the rule otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid([FieldError("url", "url", "must be an absolute http:// or https:// URL", "string")])
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise Invalid([FieldError("url", "url", "has an invalid port", "string")]) from None
    if allow_private:
        return url
    try:
        await ssrf.safe_target(url)
    except ssrf.BlockedAddress as exc:
        raise Invalid(
            [FieldError("url", f"public_address:{exc.reason}", f"must reach a public address; {exc}", "string")]
        ) from None
    except ssrf.UnresolvableHost:
        pass  # a name not yet in DNS is allowed; it is checked again at every send
    return url


async def create_endpoint(
    session: AsyncSession, workspace_id: uuid.UUID, actor: Actor, data: EndpointIn, *, allow_private: bool
) -> WebhookEndpoint:
    """Register an endpoint with a fresh secret (readable on the returned row only now)."""
    url = await check_url(data.url, allow_private=allow_private)
    count = await session.scalar(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.workspace_id == workspace_id)
    )
    if (count or 0) >= MAX_ENDPOINTS_PER_WORKSPACE:
        raise Invalid(
            [FieldError("url", "max_endpoints", f"a workspace has at most {MAX_ENDPOINTS_PER_WORKSPACE} endpoints")]
        )
    now = clock.now()
    endpoint = WebhookEndpoint(
        workspace_id=workspace_id,
        id=ids.new_uuid(),
        url=url,
        description=data.description,
        event_types=list(dict.fromkeys(data.event_types)),
        flow_names=data.flow_names,
        enabled=data.enabled,
        disabled_reason=None if data.enabled else "disabled by user",
        disabled_at=None if data.enabled else now,
        secret=signing.new_secret(),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    _record(session, endpoint, actor, "webhook_endpoint.created")
    return endpoint


async def get_endpoint(session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: str) -> WebhookEndpoint:
    try:
        key = ids.decode(ids.WEBHOOK, endpoint_id)
    except ids.InvalidId:
        raise NotFound(_ENDPOINT) from None
    endpoint = await session.get(WebhookEndpoint, (workspace_id, key))
    if endpoint is None:
        raise NotFound(_ENDPOINT)
    return endpoint


async def list_endpoints(session: AsyncSession, workspace_id: uuid.UUID, page: PageRequest) -> Page[WebhookEndpoint]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.workspace_id == workspace_id)
    after = decode_cursor(page.cursor, "webhooks")
    if after is not None:
        stmt = stmt.where(WebhookEndpoint.id > uuid.UUID(str(after[0])))
    rows = list((await session.scalars(stmt.order_by(WebhookEndpoint.id).limit(page.limit + 1))).all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor("webhooks", [str(rows[-1].id)]) if has_more and rows else None
    return Page(items=rows, next_cursor=cursor, has_more=has_more)


async def _fail_open_deliveries(session: AsyncSession, endpoint: WebhookEndpoint, reason: str) -> None:
    await session.execute(
        update(Delivery)
        .where(
            Delivery.workspace_id == endpoint.workspace_id,
            Delivery.endpoint_id == endpoint.id,
            Delivery.status.in_(OPEN_STATES),
        )
        # Clearing the lease keeps an attempt still in flight from setting the delivery back to retrying.
        .values(
            status=FAILED,
            next_attempt_at=None,
            locked_until=None,
            locked_by=None,
            last_error=f"endpoint disabled: {reason}"[:500],
        )
        .execution_options(synchronize_session=False)
    )


async def patch_endpoint(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    actor: Actor,
    endpoint_id: str,
    data: EndpointPatch,
    *,
    allow_private: bool,
) -> WebhookEndpoint:
    """Change what is given; disabling fails open deliveries, enabling clears the failure streak."""
    endpoint = await get_endpoint(session, workspace_id, endpoint_id)
    given = data.model_fields_set
    changes: dict[str, Any] = {}
    if "url" in given and data.url is not None:
        endpoint.url = await check_url(data.url, allow_private=allow_private)
        changes["url"] = endpoint.url
    if "description" in given:
        endpoint.description = data.description
        changes["description"] = data.description
    if "event_types" in given and data.event_types is not None:
        endpoint.event_types = list(dict.fromkeys(data.event_types))
        changes["event_types"] = endpoint.event_types
    if "flow_names" in given:
        endpoint.flow_names = data.flow_names
        changes["flow_names"] = data.flow_names
    if "enabled" in given and data.enabled is not None and data.enabled != endpoint.enabled:
        now = clock.now()
        endpoint.enabled = data.enabled
        if data.enabled:
            endpoint.disabled_reason, endpoint.disabled_at, endpoint.failing_since = None, None, None
        else:
            endpoint.disabled_reason, endpoint.disabled_at = "disabled by user", now
            await _fail_open_deliveries(session, endpoint, "disabled by user")
        changes["enabled"] = data.enabled
    if changes:
        endpoint.updated_at = clock.now()
        await session.flush()
        _record(session, endpoint, actor, "webhook_endpoint.updated", changes=list(changes))
    return endpoint


async def delete_endpoint(session: AsyncSession, workspace_id: uuid.UUID, actor: Actor, endpoint_id: str) -> None:
    """Delete the endpoint with its deliveries and attempts."""
    endpoint = await get_endpoint(session, workspace_id, endpoint_id)
    _record(session, endpoint, actor, "webhook_endpoint.deleted")
    # Explicit deletes (children first) so it works whether or not the engine enforces ON DELETE CASCADE.
    await session.execute(
        delete(Attempt).where(
            Attempt.workspace_id == workspace_id,
            Attempt.delivery_id.in_(
                select(Delivery.id).where(Delivery.workspace_id == workspace_id, Delivery.endpoint_id == endpoint.id)
            ),
        )
    )
    await session.execute(
        delete(Delivery).where(Delivery.workspace_id == workspace_id, Delivery.endpoint_id == endpoint.id)
    )
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    session: AsyncSession, workspace_id: uuid.UUID, actor: Actor, endpoint_id: str, grace: timedelta
) -> WebhookEndpoint:
    """A new secret; the current one keeps signing alongside it for ``grace``."""
    endpoint = await get_endpoint(session, workspace_id, endpoint_id)
    now = clock.now()
    if grace > timedelta(0):
        endpoint.previous_secret, endpoint.previous_secret_expires_at = endpoint.secret, now + grace
    else:
        endpoint.previous_secret, endpoint.previous_secret_expires_at = None, None
    endpoint.secret = signing.new_secret()
    endpoint.updated_at = now
    await session.flush()
    _record(
        session,
        endpoint,
        actor,
        "webhook_endpoint.secret_rotated",
        previous_secret_expires_at=endpoint.previous_secret_expires_at.isoformat()
        if endpoint.previous_secret_expires_at
        else None,
    )
    return endpoint


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one during its grace period."""
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(endpoint.previous_secret)
    return found


async def disable_endpoint(session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: uuid.UUID, reason: str) -> bool:
    """Disable an endpoint the dispatcher gave up on, fail its open deliveries, record
    ``webhook_endpoint.disabled``. False when it was already disabled (no second event)."""
    now = clock.now()
    changed = await session.scalar(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.workspace_id == workspace_id,
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.enabled.is_(True),
        )
        .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
        .returning(WebhookEndpoint.id)
        .execution_options(synchronize_session=False)
    )
    if changed is None:
        return False
    endpoint = await session.get(WebhookEndpoint, (workspace_id, endpoint_id), populate_existing=True)
    assert endpoint is not None
    await _fail_open_deliveries(session, endpoint, reason)
    _record(session, endpoint, _SYSTEM, "webhook_endpoint.disabled", reason=reason)
    return True


@dataclass
class DeliveryView:
    delivery: Delivery
    event: Event
    attempts: list[Attempt]


async def list_deliveries(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    endpoint_id: str,
    page: PageRequest,
    *,
    status: list[str] | None = None,
) -> Page[Delivery]:
    """An endpoint's deliveries, newest first, optionally of some statuses only."""
    endpoint = await get_endpoint(session, workspace_id, endpoint_id)
    stmt = select(Delivery).where(Delivery.workspace_id == workspace_id, Delivery.endpoint_id == endpoint.id)
    if status:
        stmt = stmt.where(Delivery.status.in_(status))
    after = decode_cursor(page.cursor, "webhook-deliveries")
    if after is not None:
        stmt = stmt.where(Delivery.id < uuid.UUID(str(after[0])))
    rows = list((await session.scalars(stmt.order_by(Delivery.id.desc()).limit(page.limit + 1))).all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor("webhook-deliveries", [str(rows[-1].id)]) if has_more and rows else None
    return Page(items=rows, next_cursor=cursor, has_more=has_more)


async def _delivery(
    session: AsyncSession, workspace_id: uuid.UUID, endpoint: WebhookEndpoint, delivery_id: str
) -> Delivery:
    try:
        key = ids.decode(ids.DELIVERY, delivery_id)
    except ids.InvalidId:
        raise NotFound(_DELIVERY) from None
    delivery = await session.get(Delivery, (workspace_id, key))
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound(_DELIVERY)
    return delivery


async def get_delivery(
    session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: str, delivery_id: str
) -> DeliveryView:
    """A delivery with its event and every attempt, oldest first."""
    endpoint = await get_endpoint(session, workspace_id, endpoint_id)
    delivery = await _delivery(session, workspace_id, endpoint, delivery_id)
    event = await session.get(Event, (workspace_id, delivery.event_seq))
    assert event is not None  # the foreign key holds it
    attempts = list(
        (
            await session.scalars(
                select(Attempt)
                .where(Attempt.workspace_id == workspace_id, Attempt.delivery_id == delivery.id)
                .order_by(Attempt.attempted_at, Attempt.id)
            )
        ).all()
    )
    return DeliveryView(delivery, event, attempts)


def _reschedule(delivery: Delivery, now: datetime) -> None:
    delivery.status = PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.locked_until = None
    delivery.locked_by = None


async def replay_delivery(
    session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: str, delivery_id: str
) -> Delivery:
    """Send a delivery again now, with a fresh retry schedule (same ``webhook-id``)."""
    endpoint = await get_endpoint(session, workspace_id, endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled("Enable the endpoint before replaying its deliveries")
    delivery = await _delivery(session, workspace_id, endpoint, delivery_id)
    now = clock.now()
    if delivery.locked_until is not None and delivery.locked_until > now:
        raise DeliveryInFlight("The delivery is being attempted right now; replay it once the attempt ends")
    _reschedule(delivery, now)
    await session.flush()
    await wakeup.announce(session)
    return delivery


async def replay_range(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    endpoint_id: str,
    since: datetime,
    until: datetime | None,
    *,
    include_succeeded: bool,
) -> tuple[int, int]:
    """Resend the endpoint's events of [since, until): failed deliveries (and succeeded ones when asked),
    and create deliveries the endpoint missed (e.g. while disabled). Returns (replayed, created)."""
    endpoint = await get_endpoint(session, workspace_id, endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled("Enable the endpoint before replaying its deliveries")
    now = clock.now()
    until = until or now
    if until <= since:
        raise Invalid([FieldError("until", "after_since", "must be later than since", "string")])
    found = list(
        (
            await session.scalars(
                select(Event)
                .where(Event.workspace_id == workspace_id, Event.occurred_at >= since, Event.occurred_at < until)
                .order_by(Event.seq)
                .limit(MAX_REPLAY + 1)
            )
        ).all()
    )
    wanted = [e for e in found if outbox.matches(endpoint.id, endpoint.event_types, endpoint.flow_names, e)]
    if len(found) > MAX_REPLAY:
        raise Invalid([FieldError("until", "max_range", f"the range holds more than {MAX_REPLAY} events; narrow it")])
    if not wanted:
        return 0, 0
    existing = {
        d.event_seq: d
        for d in (
            await session.scalars(
                select(Delivery).where(
                    Delivery.workspace_id == workspace_id,
                    Delivery.endpoint_id == endpoint.id,
                    Delivery.event_seq.between(wanted[0].seq, wanted[-1].seq),
                )
            )
        ).all()
    }
    replayable = {FAILED, SUCCEEDED} if include_succeeded else {FAILED}
    replayed = created = 0
    for event in wanted:
        delivery = existing.get(event.seq)
        if delivery is None:
            session.add(Delivery(**outbox.delivery_row(workspace_id, endpoint.id, event)))
            created += 1
        elif delivery.status in replayable:
            _reschedule(delivery, now)
            replayed += 1
    await session.flush()
    if replayed or created:
        await wakeup.announce(session)
    return replayed, created


async def send_test(
    session: AsyncSession, workspace_id: uuid.UUID, actor: Actor, endpoint_id: str
) -> events.PendingEvent:
    """Record a ``webhook.test`` event that goes to this endpoint only; returns the queued event."""
    endpoint = await get_endpoint(session, workspace_id, endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled("Enable the endpoint before sending it a test event")
    return events.record(
        session,
        workspace_id,
        actor,
        outbox.TEST_EVENT,
        resource_type="webhook_endpoint",
        resource_id=endpoint.id,
        payload={"endpoint_id": endpoint.public_id, "message": "This is a test event from leadhub."},
    )
