"""Listing contacts: filters, search and stable cursor paging (one query per page; on SQLite a ``q`` of three
characters or more first asks the FTS5 index which contacts can match)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, Select, and_, exists, func, literal_column, or_, select, text
from sqlalchemy import column as sql_column
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from leadhub.auth.models import Workspace
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone, ContactTag
from leadhub.core.errors import FieldError, Invalid
from leadhub.core.pagination import Page, PageRequest, decode_cursor, encode_cursor
from leadhub.custom_fields import service as custom_fields

SORTS = ("created_at", "-created_at", "updated_at", "-updated_at")

# FTS5's trigram tokenizer indexes every 3 characters; a shorter needle has no trigram to look up.
_FTS_MIN_LENGTH = 3
# Below this many index matches (or carriers of a tag) a listing reads just those contacts and sorts them
# (a few ms at 2,000). Above it, walking the workspace's contacts in sort order meets a page of matches
# sooner (at 0.2% of a million contacts, about 25,000 rows; for "com", the first 51).
_FTS_CANDIDATES = 2000
_ROWID: ColumnElement[int] = literal_column("contacts.rowid")
# How many index matches, up to the cap: reads the index only (no contact rows), so it stays cheap.
_FTS_COUNT = text("SELECT count(*) FROM (SELECT 1 FROM contacts_fts WHERE contacts_fts MATCH :phrase LIMIT :cap)")
# The matches of the workspace: contacts_fts reads workspace_id from the contact row (external content).
_FTS_MATCHES = text(
    "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH :fts_phrase AND contacts_fts.workspace_id = :fts_ws"
).columns(sql_column("rowid", Integer))


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


_LISTS: tuple[tuple[type[ContactEmail | ContactPhone | ContactTag], str], ...] = (
    (ContactEmail, "emails"),
    (ContactPhone, "phones"),
    (ContactTag, "tag_rows"),
)


async def _attach_lists(session: AsyncSession, ws: Workspace, page: list[Contact]) -> None:
    """Load the page's emails, phones and tags, one statement each, seeking ``(workspace_id, contact_id)``.
    The relationships' own selectin loader asks ``(workspace_id, contact_id) IN ((?, ?), …)``, a row-value
    list SQLite answers by scanning the whole table (a second per list at a million contacts)."""
    keys = [c.id for c in page]
    for model, attribute in _LISTS:
        found: dict[uuid.UUID, list[Any]] = {key: [] for key in keys}
        stmt = (
            select(model)
            .where(model.workspace_id == ws.id, model.contact_id.in_(keys))
            .order_by(model.contact_id, model.position)
        )
        for child in cast(list[ContactEmail | ContactPhone | ContactTag], (await session.scalars(stmt)).all()):
            found[child.contact_id].append(child)
        for contact in page:
            set_committed_value(contact, attribute, found[contact.id])


def needle_of(q: str | None) -> str:
    """What ``q`` searches for: the trimmed, lower-cased text (search_text is lower-cased the same way)."""
    return (q or "").strip().lower()


def _phrase(needle: str) -> str:
    # One FTS5 string: inside double quotes every character is literal ("" is a quote), so `*`, `-`,
    # `NEAR`, `AND`, `:` and parentheses are searched for rather than parsed as query syntax.
    return '"' + needle.replace('"', '""') + '"'


async def _narrowed_by_index(session: AsyncSession, needle: str) -> bool:
    """Whether the FTS5 index should find this needle's contacts: SQLite, 3 characters or more, and fewer
    than ``_FTS_CANDIDATES`` matches in the index."""
    if len(needle) < _FTS_MIN_LENGTH or session.get_bind().dialect.name != "sqlite":
        return False
    if "\x00" in needle:  # FTS5's query parser ends a string at NUL ("unterminated string"); LIKE copes
        return False
    found = await session.scalar(_FTS_COUNT, {"phrase": _phrase(needle), "cap": _FTS_CANDIDATES})
    return bool(found is not None and found < _FTS_CANDIDATES)


async def _rarest_tag(session: AsyncSession, ws: Workspace, tags: list[str]) -> str | None:
    """On SQLite, the given tag carried by the fewest contacts when fewer than ``_FTS_CANDIDATES`` carry it.
    SQLite's statistics know the average tag, not this one: left alone it either tests every contact for a
    rare tag (a second at a million) or sorts every carrier of a common one; PostgreSQL's per-value
    statistics already choose."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    best: tuple[int, str] | None = None
    for tag in dict.fromkeys(tags):
        carriers = select(ContactTag.contact_id).where(ContactTag.workspace_id == ws.id, ContactTag.tag == tag)
        count = await session.scalar(select(func.count()).select_from(carriers.limit(_FTS_CANDIDATES).subquery()))
        if count is not None and count < _FTS_CANDIDATES and (best is None or count < best[0]):
            best = (count, tag)
    return best[1] if best else None


def _filtered(
    ws: Workspace,
    f: ContactFilters,
    definitions: dict[str, Any],
    indexed: bool = False,
    rare_tag: str | None = None,
) -> Select[Contact]:
    stmt = select(Contact).where(Contact.workspace_id == ws.id)
    if f.status:
        stmt = stmt.where(Contact.status.in_(f.status))
    if f.source is not None:
        stmt = stmt.where(Contact.source == f.source)
    for tag in f.tags:
        if tag == rare_tag:
            # Few contacts carry it: start from them (and sort those) rather than test every contact in order.
            tagged = select(ContactTag.contact_id).where(ContactTag.workspace_id == ws.id, ContactTag.tag == tag)
            stmt = stmt.where(Contact.id.in_(tagged))
        else:
            stmt = stmt.where(
                exists().where(
                    ContactTag.workspace_id == ws.id, ContactTag.contact_id == Contact.id, ContactTag.tag == tag
                )
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
        if indexed:
            matches = _FTS_MATCHES.bindparams(fts_phrase=_phrase(needle_of(f.q)), fts_ws=ws.id.hex)
            stmt = stmt.where(_ROWID.in_(matches))
        # Always the substring test itself, so the index only ever narrows what is read, never what matches.
        stmt = stmt.where(Contact.search_text.contains(needle_of(f.q), autoescape=True))
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
    if filters.q and session.get_bind().dialect.name == "postgresql":
        # A prepared statement turns generic after five runs: one plan for every needle, either the trigram
        # index (half a second for a needle in 2% of a million contacts) or the ordered walk (seconds for a
        # rare one). Each needle's own plan picks right, for this transaction only.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    indexed = bool(filters.q) and await _narrowed_by_index(session, needle_of(filters.q))
    rare_tag = await _rarest_tag(session, ws, filters.tags) if filters.tags else None
    stmt = _filtered(ws, filters, definitions, indexed, rare_tag)
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
    stmt = stmt.options(lazyload(Contact.emails), lazyload(Contact.phones), lazyload(Contact.tag_rows))
    rows = list((await session.scalars(stmt.order_by(*order).limit(page.limit + 1))).all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    await _attach_lists(session, ws, rows)
    cursor = None
    if has_more and rows:
        last = rows[-1]
        value = last.updated_at if column is Contact.updated_at else last.created_at
        cursor = encode_cursor(f"contacts:{sort}", [value.isoformat(), str(last.id)])
    return Page(items=rows, next_cursor=cursor, has_more=has_more)
