"""Listing contacts: filters, search and stable cursor paging (one query per page)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone, ContactTag
from leadhub.core.errors import FieldError, Invalid
from leadhub.core.pagination import Page, PageRequest, decode_cursor, encode_cursor
from leadhub.custom_fields import service as custom_fields

SORTS = ("created_at", "-created_at", "updated_at", "-updated_at")


@dataclass
class ContactFilters:
    status: list[str] = field(default_factory=list)
    source: str | None = None
    tags: list[str] = field(default_factory=list)
    email: str | None = None
    phone: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    custom_fields: dict[str, str] = field(default_factory=dict)
    q: str | None = None


def _filtered(ws: Workspace, f: ContactFilters, definitions: dict[str, Any]) -> Select[Contact]:
    stmt = select(Contact).where(Contact.workspace_id == ws.id)
    if f.status:
        stmt = stmt.where(Contact.status.in_(f.status))
    if f.source is not None:
        stmt = stmt.where(Contact.source == f.source)
    for tag in f.tags:
        stmt = stmt.where(
            exists().where(ContactTag.workspace_id == ws.id, ContactTag.contact_id == Contact.id, ContactTag.tag == tag)
        )
    if f.email is not None:
        stmt = stmt.where(
            exists().where(
                ContactEmail.workspace_id == ws.id,
                ContactEmail.contact_id == Contact.id,
                ContactEmail.address == f.email,
            )
        )
    if f.phone is not None:
        stmt = stmt.where(
            exists().where(
                ContactPhone.workspace_id == ws.id,
                ContactPhone.contact_id == Contact.id,
                ContactPhone.number == f.phone,
            )
        )
    for column, bound, after in (
        (Contact.created_at, f.created_after, True),
        (Contact.created_at, f.created_before, False),
        (Contact.updated_at, f.updated_after, True),
        (Contact.updated_at, f.updated_before, False),
    ):
        if bound is not None:
            stmt = stmt.where(column >= bound if after else column < bound)
    for key, value in f.custom_fields.items():
        element = Contact.custom_fields[key]
        definition = definitions.get(key)
        if definition is not None and definition.type == "number":
            try:
                stmt = stmt.where(element.as_float() == float(value))
            except ValueError:
                raise Invalid([FieldError(f"custom_field.{key}", "number", "must be a number", "string")]) from None
        elif definition is not None and definition.type == "boolean":
            stmt = stmt.where(element.as_boolean() == (value.lower() in ("true", "1", "yes")))
        else:
            stmt = stmt.where(element.as_string() == value)
    if f.q:
        needle = f.q.strip().lower()
        stmt = stmt.where(Contact.search_text.contains(needle, autoescape=True))
    return stmt


async def list_contacts(
    session: AsyncSession, ws: Workspace, filters: ContactFilters, page: PageRequest, sort: str = "-created_at"
) -> Page[Contact]:
    """One page in a stable order (the sort column, then id); the cursor continues after the last row."""
    if sort not in SORTS:
        raise Invalid([FieldError("sort", "enum", f"must be one of: {', '.join(SORTS)}", "string")])
    descending = sort.startswith("-")
    column = Contact.updated_at if sort.lstrip("-") == "updated_at" else Contact.created_at
    definitions = await custom_fields.definitions_by_key(session, ws.id) if filters.custom_fields else {}
    stmt = _filtered(ws, filters, definitions)
    after = decode_cursor(page.cursor, f"contacts:{sort}")
    if after is not None:
        try:
            at, key = datetime.fromisoformat(after[0]), uuid.UUID(after[1])
        except (ValueError, TypeError, IndexError):
            raise Invalid([FieldError("cursor", "cursor", "is not a cursor of this listing", "string")]) from None
        if descending:
            stmt = stmt.where(or_(column < at, and_(column == at, Contact.id < key)))
        else:
            stmt = stmt.where(or_(column > at, and_(column == at, Contact.id > key)))
    order = (column.desc(), Contact.id.desc()) if descending else (column.asc(), Contact.id.asc())
    rows = list((await session.scalars(stmt.order_by(*order).limit(page.limit + 1))).all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = None
    if has_more and rows:
        last = rows[-1]
        value = last.updated_at if column is Contact.updated_at else last.created_at
        cursor = encode_cursor(f"contacts:{sort}", [value.isoformat(), str(last.id)])
    return Page(items=rows, next_cursor=cursor, has_more=has_more)
