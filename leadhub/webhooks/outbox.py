"""The transactional outbox: a delivery row per (event x matching enabled endpoint), written in the same
transaction as the event, so a committed event always reaches its subscribers and a rolled-back one never."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, Table, TextClause, Uuid, bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.core import clock, ids
from leadhub.events import service as events
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


# ---------------------------------------------------------------- events and outbox in two round trips
#
# On PostgreSQL a transaction's events and their deliveries are written with two statements per
# workspace: (1) take the sequence numbers (the UPDATE that row-locks the workspace until commit, see
# events.service) and read the enabled endpoints with it; (2) insert the events, the deliveries and the
# NOTIFY together. Which endpoint gets which event is decided in Python by ``matches``, as before.

_ENDPOINTS = cast(Table, WebhookEndpoint.__table__)
_ALLOCATE_AND_ENDPOINTS = text(
    """
WITH s AS (UPDATE workspaces SET event_seq = event_seq + :n WHERE id = :ws RETURNING event_seq)
SELECT s.event_seq, e.id, e.event_types, e.flow_names
FROM s LEFT JOIN webhook_endpoints AS e ON e.workspace_id = :ws AND e.enabled
"""
).bindparams(bindparam("ws", type_=Uuid()), bindparam("n", type_=BigInteger()))
_ALLOCATE_AND_ENDPOINTS_COLUMNS = _ALLOCATE_AND_ENDPOINTS.columns(
    event_seq=BigInteger(),
    id=Uuid(),
    event_types=_ENDPOINTS.c.event_types.type,
    flow_names=_ENDPOINTS.c.flow_names.type,
)

_DELIVERIES_SQL = """
d AS (
  INSERT INTO webhook_deliveries (workspace_id, id, endpoint_id, event_seq, event_id, event_type, contact_id,
                                  status, attempts, next_attempt_at, created_at)
  SELECT CAST(:ws AS uuid), u.id, u.endpoint_id, u.seq, u.event_id, u.type, u.contact_id, :status, 0, :now, :now
  FROM unnest(CAST(:d_id AS uuid[]), CAST(:d_endpoint AS uuid[]), CAST(:d_seq AS bigint[]),
              CAST(:d_event AS uuid[]), CAST(:d_type AS varchar[]), CAST(:d_contact AS uuid[]))
       AS u(id, endpoint_id, seq, event_id, type, contact_id)
  RETURNING 1
)
SELECT pg_notify('{channel}', '') FROM (SELECT 1 FROM d LIMIT 1) AS any_delivery
"""


def _deliveries_statement(with_event: bool) -> TextClause:
    now = events.EVENTS.c.occurred_at.type
    binds = [bindparam("ws", type_=Uuid()), bindparam("now", type_=now)]
    head = "WITH "
    if with_event:
        columns = [column.key for column in events.EVENTS.columns]
        head += f"ev AS (INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join(f':e_{c}' for c in columns)})),"
        binds += [bindparam(f"e_{c.key}", type_=c.type) for c in events.EVENTS.columns]
    return text(head + _DELIVERIES_SQL.format(channel=wakeup.CHANNEL)).bindparams(*binds)


_ONE_EVENT_AND_DELIVERIES = _deliveries_statement(with_event=True)
_DELIVERIES = _deliveries_statement(with_event=False)


async def flush_and_enqueue(session: AsyncSession) -> list[Event]:
    """Write the transaction's queued events and their outbox rows (what ``events.flush`` then
    ``enqueue`` do, in fewer round trips on PostgreSQL). Returns the events written."""
    if session.get_bind().dialect.name != "postgresql":
        flushed = await events.flush(session)
        if flushed:
            await enqueue(session, flushed)
        return flushed
    written: list[Event] = []
    for workspace_id, items in events.grouped(session):
        result = await session.execute(_ALLOCATE_AND_ENDPOINTS_COLUMNS, {"ws": workspace_id, "n": len(items)})
        found = result.all()
        first = int(found[0][0]) - len(items) + 1
        rows = events.rows_for(workspace_id, first, items)
        endpoints = [(endpoint_id, types, flows) for _, endpoint_id, types, flows in found if endpoint_id is not None]
        deliveries = [
            (ids.new_uuid(), endpoint_id, event)
            for event in rows
            for endpoint_id, types, flows in endpoints
            if matches(endpoint_id, types, flows, event)
        ]
        params: dict[str, Any] = {
            "ws": workspace_id,
            "now": clock.now(),
            "status": PENDING,
            "d_id": [d[0] for d in deliveries],
            "d_endpoint": [d[1] for d in deliveries],
            "d_seq": [d[2].seq for d in deliveries],
            "d_event": [d[2].id for d in deliveries],
            "d_type": [d[2].type for d in deliveries],
            "d_contact": [d[2].contact_id for d in deliveries],
        }
        if len(rows) == 1:
            params |= {f"e_{column}": value for column, value in events.values_of(rows[0]).items()}
            await session.execute(_ONE_EVENT_AND_DELIVERIES, params)
        else:
            await session.execute(insert(events.EVENTS), [events.values_of(row) for row in rows])
            if deliveries:
                await session.execute(_DELIVERIES, params)
        if deliveries:
            # In-process dispatchers are woken after commit too (the NOTIFY above reaches the others).
            session.info[wakeup._FLAG] = True  # the flag announce() sets; its NOTIFY is in our statement
        written += rows
    events.clear(session)
    return written
