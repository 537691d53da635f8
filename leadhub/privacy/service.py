"""Erasure and export of one person's data (GDPR art. 15/17, CCPA).

Erasure removes the contact row (its emails, phones, tags and custom fields go with it), blanks the
payload and changes of every event about the person (the audit trail keeps type, time and actor), blanks
what webhook subscribers answered about them, drops stored idempotent replies that quote them, and leaves
one thin ``contact.erased`` event carrying only the id. Optionally the emails and phones go on the
suppression list so the person is not re-imported silently."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, delete, null, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.contacts import service as contacts
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone
from leadhub.core import clock, ids
from leadhub.core.errors import FieldError, Invalid
from leadhub.core.validation import ValidationFailure, kind_of, normalize_email, normalize_phone
from leadhub.events import service as events
from leadhub.events.models import Event
from leadhub.idempotency.models import IdempotencyKey
from leadhub.privacy import suppression
from leadhub.webhooks import erasure as webhook_erasure
from leadhub.webhooks.models import Delivery

ERASED_PAYLOAD: dict[str, Any] = {"erased": True}


@dataclass
class Erasure:
    contact_ids: list[str] = field(default_factory=list)
    events_scrubbed: int = 0
    suppressed: list[str] = field(default_factory=list)  # digests added to the suppression list


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _scrub_events(
    session: AsyncSession, ws_id: uuid.UUID, contact_id: uuid.UUID | None, values: list[str]
) -> int:
    """Blank payload and changes of events about the contact, or quoting one of ``values`` anywhere."""
    conditions = []
    if contact_id is not None:
        conditions += [Event.contact_id == contact_id, Event.resource_id == contact_id]
    for value in values:
        # The JSON text of payload/changes: catches events of a contact deleted (not erased) earlier.
        pattern = f"%{_like_escape(value)}%"
        conditions += [
            cast(Event.payload, String).like(pattern, escape="\\"),
            cast(Event.changes, String).like(pattern, escape="\\"),
        ]
    if not conditions:
        return 0
    result = await session.execute(
        update(Event)
        .where(Event.workspace_id == ws_id, Event.type != "contact.erased", or_(*conditions))
        .values(payload=ERASED_PAYLOAD, changes=null())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _drop_replies(session: AsyncSession, ws_id: uuid.UUID, needles: list[str]) -> None:
    """Stored idempotent answers quoting the person: a replay must not hand their data back."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    # Byte search in the stored body: instr() on SQLite, position(… in bytea) on PostgreSQL.
    found = "position(:needle in response_body) > 0" if dialect == "postgresql" else "instr(response_body, :needle) > 0"
    for needle in needles:
        await session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.workspace_id == ws_id, text(found).bindparams(needle=needle.encode()))
            .execution_options(synchronize_session=False)
        )


async def _erase_contact(
    session: AsyncSession, ws: Workspace, actor: Actor, contact: Contact, *, suppress: bool, result: Erasure
) -> None:
    emails = [e.address for e in contact.emails]
    phones = [p.number for p in contact.phones]
    public_id = contact.public_id
    if suppress:
        result.suppressed += [await suppression.add(session, ws.id, "email", e, "erased") for e in emails]
        result.suppressed += [await suppression.add(session, ws.id, "phone", p, "erased") for p in phones]
    result.events_scrubbed += await _scrub_events(session, ws.id, contact.id, [*emails, *phones])
    await webhook_erasure.blank_contact(session, ws.id, contact.id)
    await _drop_replies(session, ws.id, [public_id, str(contact.id), *emails, *phones])
    await session.delete(contact)
    await session.flush()
    events.record(
        session,
        ws.id,
        actor,
        "contact.erased",
        resource_type="contact",
        resource_id=contact.id,
        contact_id=contact.id,
        payload={"id": public_id, "erased_at": clock.now().isoformat()},
    )
    result.contact_ids.append(public_id)


async def erase(session: AsyncSession, ws: Workspace, actor: Actor, contact_id: str, *, suppress: bool) -> Erasure:
    """Erase one contact (NotFound for an unknown id or another workspace's)."""
    contact = await contacts.get(session, ws, contact_id)
    result = Erasure()
    await _erase_contact(session, ws, actor, contact, suppress=suppress, result=result)
    return result


async def erase_identity(
    session: AsyncSession, ws: Workspace, actor: Actor, email: str | None, phone: str | None, *, suppress: bool
) -> Erasure:
    """Erase whoever holds this email and/or phone, and scrub events that quote them even when no
    contact holds them any more (a contact deleted earlier). Suppresses the given values when asked."""
    errors: list[FieldError] = []
    values: list[tuple[str, str]] = []
    if email is None and phone is None:
        errors.append(FieldError("email", "one_of", "give an email, a phone or both", "null"))
    if email is not None:
        try:
            values.append(("email", normalize_email(email)))
        except ValidationFailure as exc:
            errors.append(FieldError("email", exc.rule, exc.message, kind_of(email)))
    if phone is not None:
        try:
            values.append(("phone", normalize_phone(phone, ws.default_region)))
        except ValidationFailure as exc:
            errors.append(FieldError("phone", exc.rule, exc.message, kind_of(phone)))
    if errors:
        raise Invalid(errors)
    result = Erasure()
    owners: set[uuid.UUID] = set()
    for kind, value in values:
        model, column = (ContactEmail, ContactEmail.address) if kind == "email" else (ContactPhone, ContactPhone.number)
        owner = await session.scalar(select(model.contact_id).where(model.workspace_id == ws.id, column == value))
        if owner is not None:
            owners.add(owner)
    for owner in sorted(owners):
        contact = await contacts.get(session, ws, ids.encode(ids.CONTACT, owner))
        await _erase_contact(session, ws, actor, contact, suppress=suppress, result=result)
    result.events_scrubbed += await _scrub_events(session, ws.id, None, [v for _, v in values])
    await _drop_replies(session, ws.id, [v for _, v in values])
    if suppress:
        for kind, value in values:
            key = await suppression.add(session, ws.id, kind, value, "erased")
            if key not in result.suppressed:
                result.suppressed.append(key)
    return result


@dataclass
class Export:
    contact: Contact
    events: list[Event]
    deliveries: list[Delivery]


async def export(session: AsyncSession, ws: Workspace, contact_id: str) -> Export:
    """Everything held about one contact: the record, its whole event history, webhook deliveries about it."""
    contact = await contacts.get(session, ws, contact_id)
    history = await session.scalars(
        select(Event)
        .where(Event.workspace_id == ws.id, or_(Event.contact_id == contact.id, Event.resource_id == contact.id))
        .order_by(Event.seq)
    )
    deliveries = await session.scalars(
        select(Delivery)
        .where(Delivery.workspace_id == ws.id, Delivery.contact_id == contact.id)
        .order_by(Delivery.event_seq, Delivery.id)
    )
    return Export(contact, list(history), list(deliveries))
