"""Events as people read them: what happened, who did it (a user's email, a key's name), through which door,
and which fields changed from what to what."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import ApiKey
from leadhub.core import ids
from leadhub.events.models import Event
from leadhub.users.models import User
from leadhub.web import messages

_MAX_SHOWN = 80


@dataclass
class Change:
    field: str
    before: str
    after: str


@dataclass
class Entry:
    type: str
    title: str
    who: str
    door: str
    at: datetime
    changes: list[Change]


def short(value: Any) -> str:
    """A field value in a line: emails/phones by address, lists joined, objects as key=value."""
    if value is None or value == "" or value == [] or value == {}:
        return messages.t("timeline.empty_value")
    if isinstance(value, list):
        parts = [str(v.get("address") or v.get("number") or v) if isinstance(v, dict) else str(v) for v in value]
        text = ", ".join(parts)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={short(v)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


async def _names(session: AsyncSession, events: list[Event]) -> dict[tuple[str, str], str]:
    users: set[uuid.UUID] = set()
    keys: set[uuid.UUID] = set()
    for e in events:
        if not e.actor_id:
            continue
        try:
            if e.actor_type == "user":
                users.add(ids.decode(ids.USER, e.actor_id))
            elif e.actor_type == "api_key":
                keys.add(ids.decode(ids.API_KEY, e.actor_id))
        except ids.InvalidId:
            continue
    names: dict[tuple[str, str], str] = {}
    if users:
        for uid, email in await session.execute(select(User.id, User.email).where(User.id.in_(users))):
            names[("user", ids.encode(ids.USER, uid))] = messages.t("timeline.user", email=email)
    if keys:
        for kid, name in await session.execute(select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(keys))):
            names[("api_key", ids.encode(ids.API_KEY, kid))] = messages.t("timeline.key", name=name)
    return names


async def entries(session: AsyncSession, events: list[Event]) -> list[Entry]:
    names = await _names(session, events)
    result = []
    for e in events:
        if e.actor_type == "system" or not e.actor_id:
            who = messages.t("timeline.system")
        else:
            who = names.get((e.actor_type, e.actor_id)) or messages.t(
                "timeline.unknown", type=e.actor_type, id=e.actor_id
            )
        changes = [
            Change(name, short(diff.get("before")), short(diff.get("after")))
            for name, diff in (e.changes or {}).items()
            if isinstance(diff, dict)
        ]
        title = messages.t(f"event.{e.type}", default=e.type)
        result.append(Entry(e.type, title, who, e.door, e.occurred_at, changes))
    return result
