"""The delivery body: a Standard Webhooks envelope around the event as /v1/events shows it."""

from __future__ import annotations

from typing import Any

import orjson

from leadhub.events.models import Event
from leadhub.events.schemas import to_out

# A body larger than this is sent thin (ids only): the subscriber fetches the rest from the API.
MAX_BODY_BYTES = 256 * 1024


def envelope(event: Event) -> dict[str, Any]:
    """``{"type", "timestamp", "data"}``, data being the event (id, seq, resource ids, changes, data)."""
    data: dict[str, Any] = to_out(event).model_dump(mode="json")
    return {"type": event.type, "timestamp": data["occurred_at"], "data": data}


def body(event: Event) -> str:
    """The envelope as sent; past ``MAX_BODY_BYTES`` the event's data and changes are left out
    (``"truncated": true``) and the subscriber reads them from the API."""
    content = envelope(event)
    raw = orjson.dumps(content)
    if len(raw) > MAX_BODY_BYTES:
        thin = {k: v for k, v in content["data"].items() if k not in ("data", "changes")}
        content["data"] = {**thin, "truncated": True}
        raw = orjson.dumps(content)
    return raw.decode()
