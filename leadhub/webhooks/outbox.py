"""The transactional outbox: a delivery row per (event x matching enabled endpoint), written in the same
transaction as the event, so a committed event always reaches its subscribers and a rolled-back one never."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import BigInteger, Table, Uuid, bindparam, insert, select, text
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


# ---------------------------------------------------------------- events and outbox: one statement under the lock
#
# On PostgreSQL the sequence allocation row-locks the workspace until commit (see events.service), so every
# round trip between it and COMMIT holds up every other writer of the workspace. So the enabled endpoints
# are read first, which of them gets which event is decided in Python (``matches``), and then one
# statement takes the numbers and inserts the events, their deliveries and the NOTIFY; COMMIT follows.

_ENDPOINTS_OF = select(WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.flow_names).where(
    WebhookEndpoint.workspace_id == bindparam("ws"), WebhookEndpoint.enabled.is_(True)
)
_EVENT_ARRAYS = (
    ("id", "uuid"),
    ("type", "varchar"),
    ("resource_type", "varchar"),
    ("resource_id", "uuid"),
    ("contact_id", "uuid"),
    ("actor_type", "varchar"),
    ("actor_id", "varchar"),
    ("door", "varchar"),
    ("changes", "jsonb"),
    ("payload", "jsonb"),
    ("occurred_at", "timestamptz"),
)
_APPEND = text(
    f"""
WITH s AS (UPDATE workspaces SET event_seq = event_seq + :n WHERE id = :ws RETURNING event_seq),
ev AS (
  INSERT INTO events (workspace_id, seq, {", ".join(name for name, _ in _EVENT_ARRAYS)})
  SELECT CAST(:ws AS uuid), s.event_seq - :n + u.ord, {", ".join(f"u.{name}" for name, _ in _EVENT_ARRAYS)}
  FROM s, unnest({", ".join(f"CAST(:e_{name} AS {kind}[])" for name, kind in _EVENT_ARRAYS)})
       WITH ORDINALITY AS u({", ".join(name for name, _ in _EVENT_ARRAYS)}, ord)
),
d AS (
  INSERT INTO webhook_deliveries (workspace_id, id, endpoint_id, event_seq, event_id, event_type, contact_id,
                                  status, attempts, next_attempt_at, created_at)
  SELECT CAST(:ws AS uuid), u.id, u.endpoint_id, s.event_seq - :n + u.ord, u.event_id, u.type, u.contact_id,
         :status, 0, :now, :now
  FROM s, unnest(CAST(:d_id AS uuid[]), CAST(:d_endpoint AS uuid[]), CAST(:d_ord AS bigint[]),
                 CAST(:d_event AS uuid[]), CAST(:d_type AS varchar[]), CAST(:d_contact AS uuid[]))
       AS u(id, endpoint_id, ord, event_id, type, contact_id)
  RETURNING 1
),
note AS (SELECT pg_notify('{wakeup.CHANNEL}', '') FROM (SELECT 1 FROM d LIMIT 1) AS any_delivery)
SELECT s.event_seq, (SELECT count(*) FROM note) FROM s
"""
).bindparams(
    bindparam("ws", type_=Uuid()),
    bindparam("n", type_=BigInteger()),
    bindparam("now", type_=cast(Table, Event.__table__).c.occurred_at.type),
)


def _json(value: dict[str, Any] | None) -> str | None:
    # The JSON text PostgreSQL parses into jsonb (as SQLAlchemy's own JSON type would send it).
    return None if value is None else json.dumps(value)


async def flush_and_enqueue(session: AsyncSession) -> list[Event]:
    """Write the transaction's queued events and their outbox rows (what ``events.flush`` then
    ``enqueue`` do; on PostgreSQL with the workspace locked for one statement). Returns the events."""
    if session.get_bind().dialect.name != "postgresql":
        flushed = await events.flush(session)
        if flushed:
            await enqueue(session, flushed)
        return flushed
    written: list[Event] = []
    for workspace_id, items in events.grouped(session):
        endpoints = (await session.execute(_ENDPOINTS_OF, {"ws": workspace_id})).all()
        # Numbered from 1 here; the statement shifts them to the allocated range.
        rows = events.rows_for(workspace_id, 1, items)
        deliveries = [
            (ids.new_uuid(), endpoint_id, event)
            for event in rows
            for endpoint_id, types, flows in endpoints
            if matches(endpoint_id, types, flows, event)
        ]
        params: dict[str, Any] = {
            "ws": workspace_id,
            "n": len(rows),
            "now": clock.now(),
            "status": PENDING,
            "e_changes": [_json(e.changes) for e in rows],
            "e_payload": [_json(e.payload) for e in rows],
            "d_id": [d[0] for d in deliveries],
            "d_endpoint": [d[1] for d in deliveries],
            "d_ord": [d[2].seq for d in deliveries],
            "d_event": [d[2].id for d in deliveries],
            "d_type": [d[2].type for d in deliveries],
            "d_contact": [d[2].contact_id for d in deliveries],
        }
        for name, _ in _EVENT_ARRAYS:
            if name not in ("changes", "payload"):
                params[f"e_{name}"] = [getattr(e, name) for e in rows]
        last = (await session.execute(_APPEND, params)).scalar_one()
        for event in rows:
            event.seq += int(last) - len(rows)
        if deliveries:
            # In-process dispatchers are woken after commit too (the NOTIFY above reaches the others).
            session.info[wakeup._FLAG] = True
        written += rows
    events.clear(session)
    return written
