"""Contact look-ups that span the organization or feed other listings: which of an organization's
workspaces holds a contact, the one matching a body's email or phone, a listing cursor after a contact, and
the read routes' one-statement look-ups answering the native JSON from plain rows (``out_by_id``,
``out_by_email``, ``out_by_phone``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.contacts import listing, match_index, service
from leadhub.contacts.dedupe_models import ContactRedirect
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone
from leadhub.contacts.schemas import ContactIn
from leadhub.core import ids
from leadhub.core.errors import FieldError, Invalid, NotFound
from leadhub.core.pagination import encode_cursor
from leadhub.core.validation import ValidationFailure, kind_of, normalize_email, normalize_phone


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


# ---------------------------------------------------------------- the read routes: native JSON from plain rows


def _owning(identity: type[ContactEmail | ContactPhone]) -> Select[Contact]:
    # A seek on the identity's primary key (workspace_id, value), then on the contact's.
    column = ContactEmail.address if identity is ContactEmail else ContactPhone.number
    return (
        select(Contact)
        .join(identity, (identity.workspace_id == Contact.workspace_id) & (identity.contact_id == Contact.id))
        .where(
            identity.workspace_id == bindparam("ws"),
            Contact.workspace_id == bindparam("ws"),
            column == bindparam("value"),
        )
    )


_BY = {
    "id": select(Contact).where(Contact.workspace_id == bindparam("ws"), Contact.id == bindparam("value")),
    "email": _owning(ContactEmail),
    "phone": _owning(ContactPhone),
}


@cache
def _statement(by: str, dialect: str) -> Select[Any]:
    # Built once per process: building this select costs more CPU than the database spends answering it.
    return listing.contact_rows(_BY[by], dialect)


async def _one(session: AsyncSession, by: str, ws: Workspace, value: Any) -> dict[str, Any] | None:
    dialect = session.get_bind().dialect
    row = await listing.fetch_one(session, _driver_statement(by, dialect), {"ws": ws.id, "value": value})
    return listing.out_dict(row) if row is not None else None


@cache
def _driver_statement(by: str, dialect: Dialect) -> listing.DriverStatement:
    return listing.DriverStatement.of(_statement(by, dialect.name), dialect)


async def out_by_id(session: AsyncSession, ws: Workspace, contact_id: str) -> dict[str, Any]:
    """``service.to_out(service.get(…))``'s JSON object in one statement (two for an id absorbed by a
    merge, which answers its survivor); NotFound otherwise, other workspaces' ids included."""
    key = _key(contact_id)
    found = await _one(session, "id", ws, key)
    if found is None:
        survivor = await match_index.survivor_of(session, ws.id, key)
        if survivor is not None:
            found = await _one(session, "id", ws, survivor)
    if found is None:
        raise NotFound("contact")
    return found


def _normalized(field: str, value: str, normalize: Callable[[str], str]) -> str:
    try:
        return normalize(value)
    except ValidationFailure as exc:
        raise Invalid([FieldError(field, exc.rule, exc.message, kind_of(value))]) from None


async def out_by_email(session: AsyncSession, ws: Workspace, email: str) -> dict[str, Any] | None:
    """The JSON object of the workspace's contact owning this email (as ``service.find_by_email`` finds it),
    or None; Invalid when it is no email."""
    return await _one(session, "email", ws, _normalized("email", email, normalize_email))


async def out_by_phone(session: AsyncSession, ws: Workspace, phone: str) -> dict[str, Any] | None:
    """The JSON object of the workspace's contact owning this phone (E.164 in the workspace's region), or
    None; Invalid when it is no phone number."""
    number = _normalized("phone", phone, lambda raw: normalize_phone(raw, ws.default_region))
    return await _one(session, "phone", ws, number)
