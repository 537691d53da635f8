"""Task behaviour for every door. A task hangs on a deal, a contact, both or neither; ``overdue`` is
never stored: a pending task is overdue once the clock is past its due time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.contacts.models import Contact
from leadhub.core import clock, ids
from leadhub.core.errors import FieldError, Invalid, NotFound
from leadhub.core.pagination import Page, PageRequest, decode_cursor, encode_cursor
from leadhub.deals.models import Deal
from leadhub.events import service as events
from leadhub.tasks.models import Task
from leadhub.tasks.schemas import TaskIn, TaskOut

_COPIED = ("title", "description", "due_at", "assignee")


@dataclass
class TaskFilters:
    status: str | None = None
    overdue: bool | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    deal_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    assignee: str | None = None


def is_overdue(task: Task, now: datetime) -> bool:
    return task.status == "pending" and task.due_at is not None and now > task.due_at


def to_out(t: Task, now: datetime | None = None) -> TaskOut:
    return TaskOut(
        id=t.public_id,
        title=t.title,
        description=t.description,
        due_at=t.due_at,
        status=t.status,
        overdue=is_overdue(t, now or clock.now()),
        completed_at=t.completed_at,
        assignee=t.assignee,
        deal_id=ids.encode(ids.DEAL, t.deal_id) if t.deal_id else None,
        contact_id=ids.encode(ids.CONTACT, t.contact_id) if t.contact_id else None,
        custom_fields=dict(t.custom_fields),
        created_at=t.created_at,
        updated_at=t.updated_at,
    )


def snapshot(t: Task) -> dict[str, Any]:
    return to_out(t).model_dump(mode="json")


def task_key(task_id: str) -> uuid.UUID:
    return ids.resolve(ids.TASK, task_id, "task")


async def get(session: AsyncSession, ws: Workspace, task_id: str, *, deal_id: uuid.UUID | None = None) -> Task:
    """A task of this workspace (and of ``deal_id`` when given); NotFound otherwise."""
    task = await session.get(Task, (ws.id, task_key(task_id)), populate_existing=True)
    if task is None or (deal_id is not None and task.deal_id != deal_id):
        raise NotFound("task")
    return task


async def live_deal(session: AsyncSession, ws_id: uuid.UUID, deal_id: str, field: str | None = None) -> uuid.UUID:
    """The key of a live (not deleted) deal; NotFound, or 422 naming ``field`` when it came in a body."""
    try:
        key = ids.decode(ids.DEAL, deal_id)
    except ids.InvalidId:
        key = None
    deal = await session.get(Deal, (ws_id, key)) if key is not None else None
    if deal is None or deal.deleted_at is not None:
        if field is None:
            raise NotFound("deal")
        raise Invalid([FieldError(field, "exists", "is not a deal of this workspace", "string")])
    return deal.id


async def contact_ref(session: AsyncSession, ws_id: uuid.UUID, contact_id: str, field: str | None = None) -> uuid.UUID:
    try:
        key = ids.decode(ids.CONTACT, contact_id)
    except ids.InvalidId:
        key = None
    if key is None or await session.get(Contact, (ws_id, key)) is None:
        if field is None:
            raise NotFound("contact")
        raise Invalid([FieldError(field, "exists", "is not a contact of this workspace", "string")])
    return key


async def _apply(session: AsyncSession, ws: Workspace, task: Task, data: TaskIn, creating: bool) -> str | None:
    """Copy the given fields; returns ``completed`` / ``reopened`` when the status changed."""
    given = data.model_fields_set
    if creating and not data.title:
        raise Invalid([FieldError("title", "missing", "is required", "null")])
    for name in ("title", "status"):
        if name in given and getattr(data, name) is None:
            raise Invalid([FieldError(name, "required", "must not be null", "null")])
    for name in _COPIED:
        if name in given:
            setattr(task, name, getattr(data, name))
        elif creating:
            setattr(task, name, None)
    if "deal_id" in given or creating:
        task.deal_id = await live_deal(session, ws.id, data.deal_id, "deal_id") if data.deal_id else None
    if "contact_id" in given or creating:
        task.contact_id = await contact_ref(session, ws.id, data.contact_id, "contact_id") if data.contact_id else None
    if "custom_fields" in given and data.custom_fields is not None:
        merged = dict(task.custom_fields or {})
        for key, value in data.custom_fields.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        task.custom_fields = merged
    elif creating:
        task.custom_fields = {}
    transition = None
    status = data.status or ("pending" if creating else task.status)
    if creating or status != task.status:
        if status == "completed":
            task.completed_at, transition = clock.now(), "completed"
        else:
            task.completed_at, transition = None, None if creating else "reopened"
        task.status = status
    return transition


def _record(session: AsyncSession, ws: Workspace, actor: Actor, type_: str, task: Task, **extra: Any) -> None:
    events.record(
        session,
        ws.id,
        actor,
        type_,
        resource_type="task",
        resource_id=task.id,
        contact_id=task.contact_id,
        payload=snapshot(task),
        **extra,
    )


async def create(session: AsyncSession, ws: Workspace, actor: Actor, data: TaskIn) -> Task:
    now = clock.now()
    task = Task(workspace_id=ws.id, id=ids.new_uuid(), created_at=now, updated_at=now)
    transition = await _apply(session, ws, task, data, creating=True)
    session.add(task)
    await session.flush()
    _record(session, ws, actor, "task.created", task)
    if transition == "completed":
        _record(session, ws, actor, "task.completed", task)
    return task


async def patch(
    session: AsyncSession, ws: Workspace, actor: Actor, task_id: str, data: TaskIn, *, deal_id: uuid.UUID | None = None
) -> Task:
    """Change the given fields; completing or reopening also records ``task.completed`` / ``task.reopened``."""
    task = await get(session, ws, task_id, deal_id=deal_id)
    before = snapshot(task)
    transition = await _apply(session, ws, task, data, creating=False)
    after = snapshot(task)
    changes = events.changes(before, after, ignore=("overdue",))
    if changes:
        task.updated_at = clock.now()
        await session.flush()
        _record(session, ws, actor, "task.updated", task, changes=changes)
    if transition is not None:
        _record(session, ws, actor, f"task.{transition}", task)
    return task


async def delete(
    session: AsyncSession, ws: Workspace, actor: Actor, task_id: str, *, deal_id: uuid.UUID | None = None
) -> None:
    task = await get(session, ws, task_id, deal_id=deal_id)
    payload = snapshot(task)
    await session.delete(task)
    await session.flush()
    events.record(
        session,
        ws.id,
        actor,
        "task.deleted",
        resource_type="task",
        resource_id=task.id,
        contact_id=task.contact_id,
        payload=payload,
    )


def _overdue(now: datetime) -> ColumnElement[bool]:
    return and_(Task.status == "pending", Task.due_at.is_not(None), Task.due_at < now)


def _filtered(ws: Workspace, f: TaskFilters, now: datetime) -> Select[Task]:
    # Tasks of a deleted deal are hidden with it (and come back when it is restored).
    deal_gone = exists().where(Deal.workspace_id == ws.id, Deal.id == Task.deal_id, Deal.deleted_at.is_not(None))
    stmt = select(Task).where(Task.workspace_id == ws.id, not_(deal_gone))
    if f.status is not None:
        stmt = stmt.where(Task.status == f.status)
    if f.overdue is not None:
        stmt = stmt.where(_overdue(now) if f.overdue else not_(_overdue(now)))
    if f.due_before is not None:
        stmt = stmt.where(Task.due_at < f.due_before)
    if f.due_after is not None:
        stmt = stmt.where(Task.due_at >= f.due_after)
    for column, value in ((Task.deal_id, f.deal_id), (Task.contact_id, f.contact_id), (Task.assignee, f.assignee)):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


async def list_tasks(session: AsyncSession, ws: Workspace, filters: TaskFilters, page: PageRequest) -> Page[Task]:
    """Newest first, by cursor; ``overdue`` filters by the clock now."""
    stmt = _filtered(ws, filters, clock.now())
    after = decode_cursor(page.cursor, "tasks")
    if after is not None:
        try:
            at, key = datetime.fromisoformat(after[0]), uuid.UUID(after[1])
        except (ValueError, TypeError, IndexError):
            raise Invalid([FieldError("cursor", "cursor", "is not a cursor of this listing", "string")]) from None
        stmt = stmt.where(or_(Task.created_at < at, and_(Task.created_at == at, Task.id < key)))
    rows = list(
        (await session.scalars(stmt.order_by(Task.created_at.desc(), Task.id.desc()).limit(page.limit + 1))).all()
    )
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor("tasks", [rows[-1].created_at.isoformat(), str(rows[-1].id)]) if has_more else None
    return Page(items=rows, next_cursor=cursor, has_more=has_more)


async def numbered_page(
    session: AsyncSession, ws: Workspace, filters: TaskFilters, number: int, size: int
) -> tuple[list[Task], int]:
    """Page ``number`` (from 1) of ``size`` tasks, oldest first, and the total."""
    stmt = _filtered(ws, filters, clock.now())
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = await session.scalars(stmt.order_by(Task.created_at, Task.id).offset((number - 1) * size).limit(size))
    return list(rows.all()), total


async def forget_contact(session: AsyncSession, ws_id: uuid.UUID, contact_id: uuid.UUID) -> None:
    """Unlink a deleted contact from its tasks (the tasks stay)."""
    await session.execute(
        update(Task).where(Task.workspace_id == ws_id, Task.contact_id == contact_id).values(contact_id=None)
    )
