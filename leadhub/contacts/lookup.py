"""Contact look-ups that span the organization or feed other listings: which of an organization's
workspaces holds a contact, the one matching a body's email or phone, and a listing cursor after a contact."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.contacts import service
from leadhub.contacts.dedupe_models import ContactRedirect
from leadhub.contacts.models import Contact
from leadhub.contacts.schemas import ContactIn
from leadhub.core import ids
from leadhub.core.errors import NotFound
from leadhub.core.pagination import encode_cursor


def _key(contact_id: str) -> uuid.UUID:
    return ids.resolve(ids.CONTACT, contact_id, "contact")


async def workspace_of_contact(session: AsyncSession, organization_id: uuid.UUID, contact_id: str) -> Workspace:
    """The organization's workspace holding this contact; NotFound when none of them does (another
    organization's contact included)."""
    key = _key(contact_id)
    # Seek by the primary key (workspace_id, id) per workspace of the organization, never by id alone.
    org_workspaces = select(Workspace.id).where(Workspace.organization_id == organization_id)
    ws_id = await session.scalar(
        select(Contact.workspace_id).where(Contact.workspace_id.in_(org_workspaces), Contact.id == key).limit(1)
    )
    if ws_id is None:  # an id absorbed by a merge lives on in its survivor's workspace
        ws_id = await session.scalar(
            select(ContactRedirect.workspace_id)
            .where(ContactRedirect.workspace_id.in_(org_workspaces), ContactRedirect.absorbed_id == key)
            .limit(1)
        )
    workspace = await session.get(Workspace, ws_id) if ws_id is not None else None
    if workspace is None:
        raise NotFound("contact")
    return workspace


async def find_matching(session: AsyncSession, ws: Workspace, data: ContactIn) -> Contact | None:
    """The contact owning the body's emails (in order), else its phones; None when nothing matches."""
    emails = ([data.email] if data.email else []) + [e.address for e in data.emails or []]
    phones = ([data.phone] if data.phone else []) + [p.number for p in data.phones or []]
    for email in emails:
        contact = await service.find_by_email(session, ws, email)
        if contact is not None:
            return contact
    for phone in phones:
        contact = await service.find_by_phone(session, ws, phone)
        if contact is not None:
            return contact
    return None


async def patch_matching(session: AsyncSession, ws: Workspace, actor: Actor, data: ContactIn) -> Contact:
    """Patch the contact matched by the body's email, then phone; NotFound when none matches."""
    contact = await find_matching(session, ws, data)
    if contact is None:
        raise NotFound("contact", "No contact matches the given email or phone")
    return await service.patch(session, ws, actor, contact.public_id, data)


async def cursor_after(session: AsyncSession, ws: Workspace, contact_id: str, sort: str = "-created_at") -> str:
    """A ``list_contacts`` cursor that continues right after this contact (for "start after id" paging)."""
    contact = await service.get(session, ws, contact_id)
    at = contact.updated_at if sort.lstrip("-") == "updated_at" else contact.created_at
    # The same cursor layout service.list_contacts writes for its next_cursor.
    return encode_cursor(f"contacts:{sort}", [at.isoformat(), str(contact.id)])
