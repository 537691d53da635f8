"""Statements sent straight to the SQLite driver store and read exactly what SQLAlchemy's own would."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from leadhub.core import clock, ids
from leadhub.db.engine import Database, SqliteStatement
from leadhub.events import service as events
from leadhub.events.models import Event
from tests.conftest import Tenant

_INSERT = SqliteStatement(insert(events.EVENTS), [c.key for c in events.EVENTS.columns])
_SELECT = SqliteStatement(
    select(Event.id, Event.contact_id, Event.changes, Event.payload, Event.occurred_at).where(
        Event.workspace_id == bindparam("ws"), Event.seq < 0
    )
)


def _event(ws_id: uuid.UUID, seq: int, changes: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "workspace_id": ws_id,
        "seq": seq,
        "id": ids.new_uuid(),
        "type": "contact.updated",
        "resource_type": "contact",
        "resource_id": None,
        "contact_id": ids.new_uuid(),
        "actor_type": "api_key",
        "actor_id": "key_x",
        "door": "api",
        "changes": changes,
        "payload": {"name": "Zoë", "n": 1.5, "tags": ["a"], "none": None},
        "occurred_at": clock.now(),
    }


async def test_driver_statements_store_and_read_what_sqlalchemy_does(database: Database, tenant: Tenant) -> None:
    if not database.is_sqlite:
        pytest.skip("the driver path is SQLite's (PostgreSQL's hot statements go to asyncpg)")
    rows = [_event(tenant.ws_id, -1, None), _event(tenant.ws_id, -2, {"status": {"before": "new", "after": "lost"}})]
    twins = [{**row, "seq": row["seq"] - 10, "id": ids.new_uuid()} for row in rows]
    async with database.session() as session:
        await _INSERT.many(session, rows)
        await session.execute(insert(events.EVENTS), twins)
        # As stored: every column but the keys is the same text, number or NULL either way.
        stored = (
            await session.execute(
                text("SELECT * FROM events WHERE seq < 0 ORDER BY seq DESC"),
            )
        ).all()
        read = await _SELECT.rows(session, {"ws": tenant.ws_id})
        by_sqlalchemy = (
            await session.execute(
                select(Event.id, Event.contact_id, Event.changes, Event.payload, Event.occurred_at).where(
                    Event.workspace_id == tenant.ws_id, Event.seq < 0
                )
            )
        ).all()
        await session.rollback()
    mine, theirs = stored[:2], stored[2:]
    for a, b in zip(mine, theirs, strict=True):
        assert [v for i, v in enumerate(a) if i not in (1, 2)] == [v for i, v in enumerate(b) if i not in (1, 2)]
    # Read back: the same Python values (UUIDs, parsed JSON, aware datetimes) as SQLAlchemy's own select.
    assert sorted(read, key=str) == sorted((tuple(r) for r in by_sqlalchemy), key=str)
    assert {r[0] for r in read} >= {row["id"] for row in rows}
    assert all(isinstance(r[0], uuid.UUID) and isinstance(r[3], dict) for r in read)


async def test_driver_statement_errors_are_sqlalchemys(database: Database, tenant: Tenant) -> None:
    if not database.is_sqlite:
        pytest.skip("the driver path is SQLite's")
    row = _event(tenant.ws_id, -1, None)
    async with database.session() as session:
        await _INSERT.many(session, [row])
        # The same (workspace, seq) again: callers catch SQLAlchemy's IntegrityError, as for session.execute.
        with pytest.raises(IntegrityError) as caught:
            await _INSERT.many(session, [{**row, "id": ids.new_uuid()}])
        assert "Zo" not in str(caught.value)  # parameters (people's data) never appear in errors
        await session.rollback()
