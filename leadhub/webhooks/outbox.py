"""The transactional outbox: a delivery row per (event x matching enabled endpoint), written in the same
transaction as the event, so a committed event always reaches its subscribers and a rolled-back one never."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.core import clock, ids
from leadhub.events.models import Event
from leadhub.webhooks import wakeup
from leadhub.webhooks.models import PENDING, Delivery, WebhookEndpoint

TEST_EVENT = "webhook.test"
FLOW_TRIGGERED = "flow.triggered"


def type_matches(patterns: Sequence[str], event_type: str) -> bool:
    """``*`` matches everything, ``contact.*`` every ``contact.…`` type, anything else exactly."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def matches(endpoint_id: uuid.UUID, event_types: Sequence[str], flow_names: Sequence[str] | None, event: Event) -> bool:
    """Whether ``event`` goes to this endpoint. A test event goes only to the endpoint it was sent for."""
    if event.type == TEST_EVENT:
        return event.resource_id == endpoint_id
    if not type_matches(event_types, event.type):
        return False
    if flow_names and event.type == FLOW_TRIGGERED:
        flow = event.payload.get("flow")
        return isinstance(flow, dict) and flow.get("name") in flow_names
    return True


def delivery_row(workspace_id: uuid.UUID, endpoint_id: uuid.UUID, event: Event) -> dict[str, Any]:
    now = clock.now()
    return {
        "workspace_id": workspace_id,
        "id": ids.new_uuid(),
        "endpoint_id": endpoint_id,
        "event_seq": event.seq,
        "event_id": event.id,
        "event_type": event.type,
        "contact_id": event.contact_id,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def enqueue(session: AsyncSession, events: Sequence[Event]) -> int:
    """Add the outbox rows for events just flushed; one endpoint query per workspace. Returns rows added."""
    by_workspace: dict[uuid.UUID, list[Event]] = {}
    for event in events:
        by_workspace.setdefault(event.workspace_id, []).append(event)
    rows: list[dict[str, Any]] = []
    for workspace_id, items in by_workspace.items():
        endpoints = (
            await session.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.flow_names).where(
                    WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.enabled.is_(True)
                )
            )
        ).all()
        for event in items:
            for endpoint_id, event_types, flow_names in endpoints:
                if matches(endpoint_id, event_types, flow_names, event):
                    rows.append(delivery_row(workspace_id, endpoint_id, event))
    if rows:
        await session.execute(insert(Delivery), rows)
        await wakeup.announce(session)
    return len(rows)
