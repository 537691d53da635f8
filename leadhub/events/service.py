"""Recording events in the same transaction as the change, and reading them back.

Services call ``record`` as they change things; the unit of work calls ``flush`` just before commit.
``flush`` takes the workspace's next sequence numbers with one ``UPDATE … RETURNING``, which row-locks the
workspace until commit: so sequence order is commit order, a reader tailing by ``seq`` never skips an
event that commits late, and the lock is held only for the last moment of each transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.core import clock, ids
from leadhub.core.pagination import Page, PageRequest, decode_cursor, encode_cursor
from leadhub.db.engine import SqliteStatement
from leadhub.events.models import Event

_PENDING = "leadhub_pending_events"


@dataclass
class PendingEvent:
    workspace_id: uuid.UUID
    id: uuid.UUID
    type: str
    resource_type: str
    resource_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    actor: Actor
    payload: dict[str, Any]
    changes: dict[str, Any] | None
    occurred_at: datetime = field(default_factory=clock.now)


def _pending(session: AsyncSession) -> list[PendingEvent]:
    return session.info.setdefault(_PENDING, [])  # type: ignore[no-any-return]


def record(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    actor: Actor,
    type: str,
    *,
    resource_type: str,
    resource_id: uuid.UUID | None,
    payload: dict[str, Any],
    contact_id: uuid.UUID | None = None,
    changes: dict[str, Any] | None = None,
) -> PendingEvent:
    """Queue an event for this transaction; it is written by ``flush`` right before commit."""
    event = PendingEvent(
        workspace_id=workspace_id,
        id=ids.new_uuid(),
        type=type,
        resource_type=resource_type,
        resource_id=resource_id,
        contact_id=contact_id,
        actor=actor,
        payload=payload,
        changes=changes,
    )
    _pending(session).append(event)
    return event


def changes(before: dict[str, Any], after: dict[str, Any], ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields whose value differs between two snapshots, as events carry them: {field: {before, after}}."""
    return {k: {"before": before[k], "after": after[k]} for k in after if k not in ignore and before[k] != after[k]}


def pending(session: AsyncSession) -> list[PendingEvent]:
    """The events queued in this transaction so far (a copy), for hooks that react before commit."""
    return list(_pending(session))


def mark(session: AsyncSession) -> int:
    """A point to roll queued events back to (for a failed item inside a savepoint)."""
    return len(_pending(session))


def discard_since(session: AsyncSession, position: int) -> None:
    del _pending(session)[position:]


def grouped(session: AsyncSession) -> list[tuple[uuid.UUID, list[PendingEvent]]]:
    """The queued events by workspace, workspaces in a fixed order (the lock order: no deadlock across
    workspaces)."""
    by_workspace: dict[uuid.UUID, list[PendingEvent]] = {}
    for item in _pending(session):
        by_workspace.setdefault(item.workspace_id, []).append(item)
    return [(workspace_id, by_workspace[workspace_id]) for workspace_id in sorted(by_workspace)]


def clear(session: AsyncSession) -> None:
    """Forget the queued events (once written)."""
    _pending(session).clear()


def rows_for(workspace_id: uuid.UUID, first: int, items: list[PendingEvent]) -> list[Event]:
    """The event rows of ``items``, numbered from ``first`` (not added to any session)."""
    return [
        Event(
            workspace_id=workspace_id,
            seq=first + offset,
            id=item.id,
            type=item.type,
            resource_type=item.resource_type,
            resource_id=item.resource_id,
            contact_id=item.contact_id,
            actor_type=item.actor.type,
            actor_id=item.actor.id,
            door=item.actor.door,
            changes=item.changes,
            payload=item.payload,
            occurred_at=item.occurred_at,
        )
        for offset, item in enumerate(items)
    ]


EVENTS = cast(Table, Event.__table__)
_EVENT_COLUMNS = tuple(column.key for column in EVENTS.columns)


def values_of(event: Event) -> dict[str, Any]:
    """The column values of an event row, for a Core INSERT."""
    return {column: getattr(event, column) for column in _EVENT_COLUMNS}


async def allocate(session: AsyncSession, workspace_id: uuid.UUID, count: int) -> int:
    """Take ``count`` sequence numbers of the workspace (row-locking it until commit); the first one."""
    result = await session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(event_seq=Workspace.event_seq + count)
        .returning(Workspace.event_seq)
        .execution_options(synchronize_session=False)
    )
    return int(result.scalar_one()) - count + 1


# SQLite: the same two statements straight to the driver, one thread hop each (the write lock is held).
_SQLITE_ALLOCATE = SqliteStatement(
    update(Workspace)
    .where(Workspace.id == bindparam("ws"))
    .values(event_seq=Workspace.event_seq + bindparam("count"))
    .returning(Workspace.event_seq)
)
_SQLITE_INSERT = SqliteStatement(insert(EVENTS), _EVENT_COLUMNS)


async def flush(session: AsyncSession) -> list[Event]:
    """Write queued events with their per-workspace sequence numbers; returns the rows written."""
    if not _pending(session):
        return []
    rows: list[Event] = []
    if session.get_bind().dialect.name == "sqlite":
        await session.flush()  # the driver's statements below skip autoflush; the changes go first
        for workspace_id, items in grouped(session):
            (seq,) = (await _SQLITE_ALLOCATE.rows(session, {"ws": workspace_id, "count": len(items)}))[0]
            rows += rows_for(workspace_id, int(seq) - len(items) + 1, items)
        await _SQLITE_INSERT.many(session, [values_of(row) for row in rows])
    else:
        for workspace_id, items in grouped(session):
            rows += rows_for(workspace_id, await allocate(session, workspace_id, len(items)), items)
        await session.execute(insert(EVENTS), [values_of(row) for row in rows])
    clear(session)
    return rows


def _type_filter(stmt: Select[Event], types: list[str]) -> Select[Event]:
    clauses = []
    for t in types:
        if t.endswith(".*"):
            clauses.append(Event.type.startswith(t[:-1], autoescape=True))
        else:
            clauses.append(Event.type == t)
    return stmt.where(or_(*clauses)) if clauses else stmt


async def _page(
    session: AsyncSession, stmt: Select[Event], page: PageRequest, newest_first: bool, kind: str
) -> Page[Event]:
    after = decode_cursor(page.cursor, kind)
    if after is not None:
        seq = int(after[0])
        stmt = stmt.where(Event.seq < seq if newest_first else Event.seq > seq)
    stmt = stmt.order_by(Event.seq.desc() if newest_first else Event.seq).limit(page.limit + 1)
    rows = list((await session.scalars(stmt)).all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor(kind, [rows[-1].seq]) if has_more and rows else None
    return Page(items=rows, next_cursor=cursor, has_more=has_more)


async def list_events(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    page: PageRequest,
    *,
    types: list[str] | None = None,
    newest_first: bool = False,
) -> Page[Event]:
    """The workspace's events in sequence order (oldest first by default, for tailing)."""
    stmt = _type_filter(select(Event).where(Event.workspace_id == workspace_id), types or [])
    return await _page(session, stmt, page, newest_first, "events-desc" if newest_first else "events")


async def timeline(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    page: PageRequest,
    *,
    types: list[str] | None = None,
) -> Page[Event]:
    """One contact's events, newest first."""
    stmt = select(Event).where(Event.workspace_id == workspace_id, Event.contact_id == contact_id)
    return await _page(session, _type_filter(stmt, types or []), page, True, "timeline")
