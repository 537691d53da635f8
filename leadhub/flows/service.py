"""Flow requests: a door asks for a named automation flow to start for a contact. Leadhub does not run
flows itself; it records the request as a ``flow.triggered`` event, which subscribed webhooks receive."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.contacts.models import Contact
from leadhub.contacts.service import snapshot
from leadhub.events import service as events

FLOW_TRIGGERED = "flow.triggered"


@dataclass(frozen=True)
class FlowRequest:
    """What a caller asked for: whether to send messages, and which flow (by name and/or link)."""

    send_messages: bool | None = None
    name: str | None = None
    link: str | None = None

    @property
    def wanted(self) -> bool:
        """True when a flow should start: messages asked for, or a flow named without saying no."""
        if self.send_messages is not None:
            return self.send_messages
        return bool(self.name or self.link)


async def trigger(session: AsyncSession, ws: Workspace, actor: Actor, contact: Contact, request: FlowRequest) -> bool:
    """Record a ``flow.triggered`` event for the contact when the request wants a flow; returns whether it did."""
    if not request.wanted:
        return False
    events.record(
        session,
        ws.id,
        actor,
        FLOW_TRIGGERED,
        resource_type="contact",
        resource_id=contact.id,
        contact_id=contact.id,
        payload={
            "flow": {"name": request.name, "link": request.link},
            "send_message_events": request.send_messages is not False,
            "contact": snapshot(contact),
        },
    )
    return True
