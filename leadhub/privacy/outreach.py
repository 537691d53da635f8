"""May we reach out to this person? The one check every outreach path (campaigns, sequences, exports to
dialers) asks before contacting someone: global DND / unsubscribe wins, then the channel's DND, then
consent for the purpose when one is named."""

from __future__ import annotations

from typing import Any

from leadhub.contacts.models import Contact

_BLOCKING = {"active", "permanent"}


def may_contact(contact: Contact, channel: str, purpose: str | None = None) -> bool:
    """False when the contact is globally DND (unsubscribed), DND on ``channel`` (email, sms, call, ...),
    or has not granted consent for ``purpose`` (when given: no record counts as no consent)."""
    if contact.dnd:
        return False
    settings: dict[str, Any] = contact.dnd_settings or {}
    channel_setting = settings.get(channel) or {}
    if channel_setting.get("status") in _BLOCKING:
        return False
    if purpose is not None:
        entry = (contact.consent or {}).get(purpose) or {}
        return entry.get("granted") is True
    return True
