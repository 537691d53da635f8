from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from leadhub.core import ids
from leadhub.core.pagination import Page
from leadhub.events.models import Event

_RESOURCE_PREFIX = {
    "contact": ids.CONTACT,
    "custom_field": ids.CUSTOM_FIELD,
    "webhook_endpoint": ids.WEBHOOK,
    "workspace": ids.WORKSPACE,
}
_RESOURCE_PREFIX.update(company=ids.COMPANY, pipeline=ids.PIPELINE, deal=ids.DEAL, task=ids.TASK)
_RESOURCE_PREFIX.update(campaign=ids.CAMPAIGN, prospect=ids.PROSPECT)


class EventActor(BaseModel):
    type: str
    id: str | None
    door: str


class EventOut(BaseModel):
    id: str
    seq: int
    type: str
    resource_type: str
    resource_id: str | None
    contact_id: str | None
    actor: EventActor
    changes: dict[str, Any] | None
    data: dict[str, Any]
    occurred_at: datetime


class EventList(BaseModel):
    data: list[EventOut]
    next_cursor: str | None
    has_more: bool


def to_out(e: Event) -> EventOut:
    prefix = _RESOURCE_PREFIX.get(e.resource_type, e.resource_type)
    return EventOut(
        id=e.public_id,
        seq=e.seq,
        type=e.type,
        resource_type=e.resource_type,
        resource_id=ids.encode(prefix, e.resource_id) if e.resource_id else None,
        contact_id=ids.encode(ids.CONTACT, e.contact_id) if e.contact_id else None,
        actor=EventActor(type=e.actor_type, id=e.actor_id, door=e.door),
        changes=e.changes,
        data=e.payload,
        occurred_at=e.occurred_at,
    )


def event_page(page: Page[Event]) -> EventList:
    return EventList(data=[to_out(e) for e in page.items], next_cursor=page.next_cursor, has_more=page.has_more)
