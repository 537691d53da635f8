"""The transactional outbox: a delivery row per (event x matching enabled endpoint), written in the same
transaction as the event, so a committed event always reaches its subscribers and a rolled-back one never."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, Uuid, bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.core import clock, ids
from leadhub.db.engine import SqliteStatement, driver_connection, positional
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


def endpoints_for(event_type: str, endpoints: Sequence[tuple[uuid.UUID, Sequence[str]]]) -> list[uuid.UUID]:
    """The endpoints an event of ``event_type`` goes to, for a type ``matches`` judges by type alone (not a
    test event, not ``flow.triggered``)."""
    assert event_type not in (TEST_EVENT, FLOW_TRIGGERED)
    return [endpoint_id for endpoint_id, event_types in endpoints if type_matches(event_types, event_type)]


def wake_after_commit() -> None:
    """Wake this process's dispatchers for outbox rows a statement wrote and committed on its own (outside
    any session, so ``wakeup``'s after-commit hook does not see them; its NOTIFY reaches other processes)."""
    for wake in list(wakeup._local):
        wake.set()


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
    sqlite = session.get_bind().dialect.name == "sqlite"
    rows: list[dict[str, Any]] = []
    for workspace_id, items in by_workspace.items():
        if sqlite:
            endpoints = await _SQLITE_ENDPOINTS.rows(session, {"ws": workspace_id})
        else:
            endpoints = [tuple(row) for row in await session.execute(_endpoints_of(workspace_id))]
        for event in items:
            for endpoint_id, event_types, flow_names in endpoints:
                if matches(endpoint_id, event_types, flow_names, event):
                    rows.append(delivery_row(workspace_id, endpoint_id, event))
    if rows:
        if sqlite:
            await _SQLITE_INSERT_DELIVERIES.many(session, rows)
        else:
            await session.execute(insert(Delivery), rows)
        await wakeup.announce(session)
    return len(rows)


def _endpoints_of(workspace_id: Any) -> Select[tuple[uuid.UUID, list[str], list[str] | None]]:
    return select(WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.flow_names).where(
        WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.enabled.is_(True)
    )


# SQLite: the endpoints read and the deliveries insert straight to the driver, one thread hop each (the
# transaction holds the database's write lock meanwhile).
_SQLITE_ENDPOINTS = SqliteStatement(_endpoints_of(bindparam("ws", type_=Uuid())))
_DELIVERY_COLUMNS = ("workspace_id", "id", "endpoint_id", "event_seq", "event_id", "event_type", "contact_id")
_SQLITE_INSERT_DELIVERIES = SqliteStatement(
    insert(Delivery), (*_DELIVERY_COLUMNS, "status", "attempts", "next_attempt_at", "created_at")
)


# ---------------------------------------------------------------- events and outbox: the lock only at COMMIT
#
# On PostgreSQL the sequence allocation row-locks the workspace until commit (see events.service), so every
# other writer of the workspace waits from that UPDATE until our COMMIT is done. Under load the gap between
# a statement's answer and the next one sent is the server process's scheduling delay (tens of ms on a busy
# 2-core machine), which made the lock, not the work, the limit. So the events and their deliveries are
# inserted first under placeholder sequence numbers (negative, random: invisible to readers, who tail
# committed positive numbers, and unique among concurrent writers), and one message at the very end takes
# the numbers, renumbers the rows and commits: the lock is held for that message only. The message carries
# only numbers and ids (no caller data), so it can be sent as plain SQL in one round trip.

_EVENT_ARRAYS = (
    ("seq", "bigint"),
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
_INSERT_PLACEHOLDERS = text(
    f"""
WITH ev AS (
  INSERT INTO events (workspace_id, {", ".join(name for name, _ in _EVENT_ARRAYS)})
  SELECT CAST(:ws AS uuid), {", ".join(f"u.{name}" for name, _ in _EVENT_ARRAYS)}
  FROM unnest({", ".join(f"CAST(:e_{name} AS {kind}[])" for name, kind in _EVENT_ARRAYS)})
       AS u({", ".join(name for name, _ in _EVENT_ARRAYS)})
),
d AS (
  INSERT INTO webhook_deliveries (workspace_id, id, endpoint_id, event_seq, event_id, event_type, contact_id,
                                  status, attempts, next_attempt_at, created_at)
  SELECT CAST(:ws AS uuid), u.id, u.endpoint_id, u.seq, u.event_id, u.type, u.contact_id, :status, 0, :now, :now
  FROM unnest(CAST(:d_id AS uuid[]), CAST(:d_endpoint AS uuid[]), CAST(:d_seq AS bigint[]),
              CAST(:d_event AS uuid[]), CAST(:d_type AS varchar[]), CAST(:d_contact AS uuid[]))
       AS u(id, endpoint_id, seq, event_id, type, contact_id)
  RETURNING 1
),
note AS (SELECT pg_notify('{wakeup.CHANNEL}', '') FROM (SELECT 1 FROM d LIMIT 1) AS any_delivery)
SELECT (SELECT count(*) FROM note)
"""
).bindparams(
    bindparam("ws", type_=Uuid()),
    bindparam("now", type_=cast(Table, Event.__table__).c.occurred_at.type),
)
_INSERT_PLACEHOLDERS_SQL, _INSERT_PLACEHOLDERS_PARAMS = positional(_INSERT_PLACEHOLDERS.text)
_ENDPOINTS_SQL = "SELECT id, event_types, flow_names FROM webhook_endpoints WHERE workspace_id = $1 AND enabled"
# Placeholders: -1 … -2**62, drawn at random so that concurrent transactions of a workspace do not collide.
_PLACEHOLDER_BITS = 62
# A transaction of this many events or more (a batch, an import chunk delivered to webhooks) takes its numbers
# before inserting them instead: renumbering rewrote every event and delivery row at COMMIT (a new version of
# each, with its index entries: sequence numbers are keys), which cost as long a lock as inserting them under
# it, and the server's CPU twice (a 1,000-contact batch: 280-320 ms of PostgreSQL CPU against 140-180 numbered first).
_NUMBER_FIRST_MIN = 64
_TAKE_NUMBERS_SQL = "UPDATE workspaces SET event_seq = event_seq + $2 WHERE id = $1 RETURNING event_seq"


def _json(value: dict[str, Any] | None) -> str | None:
    # The JSON text PostgreSQL parses into jsonb (as SQLAlchemy's own JSON type would send it).
    return None if value is None else json.dumps(value)


def _parsed(value: Any) -> Any:
    # SQLAlchemy's codec on the connection decodes jsonb already; JSON text is parsed should it not.
    return json.loads(value) if isinstance(value, str) else value


def _renumber_sql(workspace_id: uuid.UUID, placeholders: list[int], deliveries: list[tuple[uuid.UUID, int]]) -> str:
    """Take the workspace's next numbers and give them to the events (and their deliveries) that hold
    ``placeholders``, in that order. Only integers and a UUID are spliced in (no caller data)."""
    ws = f"'{uuid.UUID(str(workspace_id))}'::uuid"
    n = len(placeholders)
    order = ", ".join(f"({int(p)}, {i})" for i, p in enumerate(placeholders, 1))
    sql = (
        f"WITH s AS (UPDATE workspaces SET event_seq = event_seq + {n} WHERE id = {ws} RETURNING event_seq),"
        f" k(placeholder, ord) AS (VALUES {order}),"
        f" ev AS (UPDATE events SET seq = s.event_seq - {n} + k.ord FROM s, k"
        f" WHERE events.workspace_id = {ws} AND events.seq = k.placeholder)"
    )
    if deliveries:
        pairs = ", ".join(f"('{uuid.UUID(str(e))}'::uuid, {int(p)})" for e, p in deliveries)
        sql += (
            f", dk(endpoint_id, placeholder) AS (VALUES {pairs}),"
            f" d AS (UPDATE webhook_deliveries SET event_seq = s.event_seq - {n} + k.ord FROM s, k, dk"
            f" WHERE k.placeholder = dk.placeholder AND webhook_deliveries.workspace_id = {ws}"
            f" AND webhook_deliveries.endpoint_id = dk.endpoint_id AND webhook_deliveries.event_seq = dk.placeholder)"
        )
    return sql + " SELECT 1;"


async def flush_and_enqueue(session: AsyncSession) -> list[Event]:
    """Write the transaction's queued events and their outbox rows (what ``events.flush`` then ``enqueue``
    do) and COMMIT. On PostgreSQL the numbering and the commit go in one message (see above); elsewhere the
    caller's commit follows. Returns the events written (on PostgreSQL their ``seq`` is the placeholder:
    the numbers are taken by the database in the committing message; but see ``_NUMBER_FIRST_MIN``)."""
    if session.get_bind().dialect.name != "postgresql":
        flushed = await events.flush(session)
        if flushed:
            await enqueue(session, flushed)
        return flushed
    # The COMMIT below is sent by the driver, behind the ORM's back: whatever the ORM still holds unflushed
    # must be in this transaction, or it would commit later, alone, after its events.
    await session.flush()
    written: list[Event] = []
    renumber: list[str] = []
    # These statements go straight to the driver: they carry many values and run on every write.
    driver = await driver_connection(session)
    grouped = events.grouped(session)
    # One way for the whole transaction: its workspaces' rows are then locked in one order (theirs).
    number_first = sum(len(items) for _, items in grouped) >= _NUMBER_FIRST_MIN
    for workspace_id, items in grouped:
        endpoints = [
            (row[0], _parsed(row[1]), _parsed(row[2])) for row in await driver.fetch(_ENDPOINTS_SQL, workspace_id)
        ]
        rows = events.rows_for(workspace_id, 1, items)
        if number_first:
            last = int(await driver.fetchval(_TAKE_NUMBERS_SQL, workspace_id, len(rows)))
            seqs = list(range(last - len(rows) + 1, last + 1))
        else:
            seqs = [-(secrets.randbits(_PLACEHOLDER_BITS) + 1) for _ in rows]
        for event, seq in zip(rows, seqs, strict=True):
            event.seq = seq
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
        for name, _ in _EVENT_ARRAYS:
            if name in ("changes", "payload"):
                params[f"e_{name}"] = [_json(getattr(e, name)) for e in rows]
            else:
                params[f"e_{name}"] = [getattr(e, name) for e in rows]
        await driver.fetchval(_INSERT_PLACEHOLDERS_SQL, *(params[name] for name in _INSERT_PLACEHOLDERS_PARAMS))
        if deliveries:
            # In-process dispatchers are woken after commit too (the NOTIFY above reaches the others).
            session.info[wakeup._FLAG] = True
        if not number_first:
            renumber.append(_renumber_sql(workspace_id, seqs, [(d[1], d[2].seq) for d in deliveries]))
        written += rows
    if written:
        # Workspaces in sorted order (events.grouped): a fixed lock order, no deadlock across workspaces.
        # Simple-query protocol: several statements in one message, the COMMIT with them. The BEGIN after
        # it leaves the connection in the (empty) transaction the driver and the session believe open, so
        # their own COMMIT that follows closes it cleanly (no "no transaction in progress" warning logged).
        await driver.execute(" ".join(renumber) + " COMMIT; BEGIN;")
    events.clear(session)
    return written
