"""Listing contacts: filters, search and stable cursor paging (one query per page; on SQLite a ``q`` of three
characters or more first asks the FTS5 index which contacts can match).

The read routes answer from plain rows (``contact_page``, ``contact_rows``, ``out_json``): one statement
brings the contacts with their emails, phones and tags aggregated as JSON, and the native JSON is built as
dicts and written by orjson, without ORM objects or pydantic models (exactly ``to_out(c)``'s JSON)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, cast

import orjson
from sqlalchemy import ColumnElement, Integer, Select, Text, and_, exists, func, literal_column, or_, select, text
from sqlalchemy import cast as sql_cast
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from leadhub.auth.models import Workspace
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone, ContactTag
from leadhub.contacts.schemas import ContactList, ContactOut
from leadhub.core import ids
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
# The index's matches, up to the cap: reads the index only (no contact rows). Any workspace's: the listing
# reads the rows it names in its own workspace only.
_FTS_ROWIDS = text("SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH :phrase LIMIT :cap")
# Those matches, as the listing's statement takes them: one parameter, a JSON array.
_FTS_MATCHES = text("SELECT value FROM json_each(:fts_rowids)").columns(sql_column("value", Integer))


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


async def _narrowed_by_index(session: AsyncSession, needle: str) -> list[int] | None:
    """The rowids the FTS5 index finds for this needle, when it should narrow the listing: SQLite, 3
    characters or more, and fewer than ``_FTS_CANDIDATES`` matches; None: walk the workspace instead. Read
    once and handed to the listing's statement: a trigram phrase reads every one of its trigrams' lists,
    which at a million contacts costs tens of milliseconds for a needle made of common trigrams, and the
    statement used to match the index a second time."""
    if len(needle) < _FTS_MIN_LENGTH or session.get_bind().dialect.name != "sqlite":
        return None
    if "\x00" in needle:  # FTS5's query parser ends a string at NUL ("unterminated string"); LIKE copes
        return None
    found = list((await session.scalars(_FTS_ROWIDS, {"phrase": _phrase(needle), "cap": _FTS_CANDIDATES})).all())
    return found if len(found) < _FTS_CANDIDATES else None


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
    indexed: Sequence[int] | None = None,
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
        if indexed is not None:
            stmt = stmt.where(_ROWID.in_(_FTS_MATCHES.bindparams(fts_rowids=orjson.dumps(indexed).decode())))
        # Always the substring test itself, so the index only ever narrows what is read, never what matches.
        stmt = stmt.where(Contact.search_text.contains(needle_of(f.q), autoescape=True))
    return stmt


@dataclass
class _PageQuery:
    """A page's contacts (filters and cursor applied) and the order to read them in."""

    where: Select[Contact]
    column: str  # created_at or updated_at, then id
    descending: bool
    limit: int

    def order(self, column: Any, key: Any) -> tuple[Any, Any]:
        return (column.desc(), key.desc()) if self.descending else (column.asc(), key.asc())


def _page_query(
    ws: Workspace,
    filters: ContactFilters,
    page: PageRequest,
    sort: str,
    definitions: dict[str, Any],
    indexed: Sequence[int] | None,
    rare_tag: str | None,
) -> _PageQuery:
    descending = sort.startswith("-")
    name = "updated_at" if sort.lstrip("-") == "updated_at" else "created_at"
    column = Contact.updated_at if name == "updated_at" else Contact.created_at
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
    # One row past the page tells whether more follow.
    return _PageQuery(stmt, name, descending, page.limit + 1)


async def _prepared(
    session: AsyncSession, ws: Workspace, filters: ContactFilters, page: PageRequest, sort: str
) -> _PageQuery:
    """What a page needs to ask first (definitions, the index probe, the rarest tag), then its query."""
    if sort not in SORTS:
        raise Invalid([FieldError("sort", "enum", f"must be one of: {', '.join(SORTS)}", "string")])
    definitions = await custom_fields.definitions_by_key(session, ws.id) if filters.custom_fields else {}
    if filters.q and session.get_bind().dialect.name == "postgresql":
        # A prepared statement turns generic after five runs: one plan for every needle, either the trigram
        # index (half a second for a needle in 2% of a million contacts) or the ordered walk (seconds for a
        # rare one). Each needle's own plan picks right, for this transaction only.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    indexed = await _narrowed_by_index(session, needle_of(filters.q)) if filters.q else None
    rare_tag = await _rarest_tag(session, ws, filters.tags) if filters.tags else None
    return _page_query(ws, filters, page, sort, definitions, indexed, rare_tag)


def _next_cursor(sort: str, at: datetime, key: uuid.UUID) -> str:
    return encode_cursor(f"contacts:{sort}", [at.isoformat(), str(key)])


async def list_contacts(
    session: AsyncSession, ws: Workspace, filters: ContactFilters, page: PageRequest, sort: str = "-created_at"
) -> Page[Contact]:
    """One page in a stable order (the sort column, then id); the cursor continues after the last row."""
    query = await _prepared(session, ws, filters, page, sort)
    stmt = query.where.order_by(*query.order(getattr(Contact, query.column), Contact.id)).limit(query.limit)
    stmt = stmt.options(lazyload(Contact.emails), lazyload(Contact.phones), lazyload(Contact.tag_rows))
    rows = list((await session.scalars(stmt)).all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    await _attach_lists(session, ws, rows)
    cursor = None
    if has_more and rows:
        last = rows[-1]
        cursor = _next_cursor(sort, getattr(last, query.column), last.id)
    return Page(items=rows, next_cursor=cursor, has_more=has_more)


# ---------------------------------------------------------------- plain rows to the native JSON

# Every column the native JSON is built from (search_text only serves `q`).
_OUT_COLUMNS = tuple(c for c in Contact.__table__.columns if c.name != "search_text")
_ADDRESS = ("line1", "line2", "city", "state", "postal_code", "country")
# Each list as a JSON array of [position, value, ...] entries: one scalar subquery per list and contact, a
# seek on (workspace_id, contact_id). SQLite 3.40's json_group_array takes no ORDER BY, so the position
# travels along and orders the entries in Python; PostgreSQL's json_agg orders them itself.
_LISTS_SQL: tuple[tuple[str, type[ContactEmail | ContactPhone | ContactTag], tuple[Any, ...]], ...] = (
    ("emails_json", ContactEmail, (ContactEmail.address, ContactEmail.type, ContactEmail.is_primary)),
    ("phones_json", ContactPhone, (ContactPhone.number, ContactPhone.type, ContactPhone.is_primary)),
    ("tags_json", ContactTag, (ContactTag.tag,)),
)


def _list_columns(dialect: str, outer: Any) -> list[Any]:
    """The three lists of each contact of ``outer`` (the contacts table, or a page of its rows), as JSON text
    columns. Correlated to ``outer`` only: a look-up joins contact_emails too, whose own list must not be."""
    columns = []
    for label, model, fields in _LISTS_SQL:
        aggregate: ColumnElement[Any]
        if dialect == "postgresql":
            # As text: the driver would decode json with the stdlib, slower than orjson here.
            entries = func.json_agg(aggregate_order_by(func.json_build_array(model.position, *fields), model.position))
            aggregate = sql_cast(entries, Text)
        else:
            aggregate = func.json_group_array(func.json_array(model.position, *fields))
        owned = select(aggregate).where(model.workspace_id == outer.c.workspace_id, model.contact_id == outer.c.id)
        columns.append(owned.correlate(outer).scalar_subquery().label(label))
    return columns


@cache
def _with_lists(dialect: str) -> tuple[Any, ...]:
    # Built once per process: these columns cost more CPU to build than the database spends answering them.
    return (*_OUT_COLUMNS, *_list_columns(dialect, Contact.__table__))


def contact_rows(stmt: Select[Any], dialect: str) -> Select[Any]:
    """Plain rows for ``out_dict`` of the contacts ``stmt`` selects (filtered, not limited: one or a few)."""
    return stmt.with_only_columns(*_with_lists(dialect))


@dataclass(frozen=True)
class DriverStatement:
    """A fixed statement compiled once for the driver, with SQLAlchemy's own bind and result processors: a
    look-up sent this way skips SQLAlchemy's per-execution work (a third of a look-up's CPU) but converts
    every value exactly as a SQLAlchemy execution would."""

    sql: str
    params: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    columns: tuple[tuple[str, Callable[[Any], Any] | None], ...]

    @classmethod
    def of(cls, stmt: Select[Any], dialect: Dialect) -> DriverStatement:
        compiled = stmt.compile(dialect=dialect)
        names = compiled.positiontup or ()
        binds = {name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names}
        results = tuple(
            (str(c.key), c.type.dialect_impl(dialect).result_processor(dialect, None)) for c in stmt.selected_columns
        )
        return cls(compiled.string, tuple((name, binds[name]) for name in names), results)

    def row(self, values: Sequence[Any]) -> dict[str, Any]:
        return {
            name: value if convert is None or value is None else convert(value)
            for (name, convert), value in zip(self.columns, values, strict=True)
        }


async def fetch_one(session: AsyncSession, stmt: DriverStatement, params: dict[str, Any]) -> dict[str, Any] | None:
    """The first row of ``stmt`` (in the session's transaction) as a dict by column name, or None."""
    args = [params[name] if convert is None else convert(params[name]) for name, convert in stmt.params]
    connection = await session.connection()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    if session.get_bind().dialect.name == "postgresql":
        values = await driver.fetchrow(stmt.sql, *args)
    else:  # aiosqlite: one hop to its thread for the statement and its rows
        rows = await driver.execute_fetchall(stmt.sql, args)
        values = rows[0] if rows else None
    return stmt.row(values) if values is not None else None


def _entries(raw: str | None) -> list[list[Any]]:
    if raw is None:  # json_agg of no rows
        return []
    entries: list[list[Any]] = orjson.loads(raw)
    if len(entries) > 1:
        entries.sort(key=lambda entry: entry[0])
    return entries


def out_dict(row: Any) -> dict[str, Any]:
    """The native JSON of a contact row from ``contact_rows`` or ``contact_page``: the fields, names and order
    of ``ContactOut``, with datetimes left for ``out_json`` to write."""
    address = {part: row[f"address_{part}"] for part in _ADDRESS}
    company = row["company_id"]
    return {
        "id": ids.encode(ids.CONTACT, row["id"]),
        "first_name": row["first_name"],
        "middle_name": row["middle_name"],
        "last_name": row["last_name"],
        "name": row["name"],
        "emails": [{"address": e[1], "type": e[2], "primary": bool(e[3])} for e in _entries(row["emails_json"])],
        "phones": [{"number": p[1], "type": p[2], "primary": bool(p[3])} for p in _entries(row["phones_json"])],
        "company_name": row["company_name"],
        "company_id": ids.encode(ids.COMPANY, company) if company else None,
        "title": row["title"],
        "website": row["website"],
        "address": address if any(address.values()) else None,
        "country": row["country"],
        "timezone": row["timezone"],
        "date_of_birth": row["date_of_birth"],
        "source": row["source"],
        "status": row["status"],
        "tags": [t[1] for t in _entries(row["tags_json"])],
        "custom_fields": row["custom_fields"],
        "dnd": row["dnd"],
        "dnd_settings": row["dnd_settings"],
        "consent": row["consent"],
        "is_test": row["is_test"],
        "user_knowledge": row["user_knowledge"],
        "notes": row["notes"],
        "assigned_to": row["assigned_to"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "session_count": row["session_count"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def out_json(content: dict[str, Any]) -> bytes:
    """The JSON of ``out_dict`` (or of a page of them, ``ContactList``'s shape) exactly as pydantic writes
    ``ContactOut``: orjson writes datetimes the same way with OPT_UTC_Z. A value orjson refuses (an integer
    past 64 bits in custom fields) goes through the models instead."""
    try:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)
    except orjson.JSONEncodeError:
        model = ContactList if "data" in content and "has_more" in content else ContactOut
        valid = model.model_validate(content)
        return valid.__pydantic_serializer__.to_json(valid)


async def contact_page(
    session: AsyncSession, ws: Workspace, filters: ContactFilters, page: PageRequest, sort: str = "-created_at"
) -> dict[str, Any]:
    """``list_contacts``'s page as its native JSON object (``ContactList``: data, next_cursor, has_more), from
    one statement: the page's rows with their lists."""
    query = await _prepared(session, ws, filters, page, sort)
    order = query.order(getattr(Contact, query.column), Contact.id)
    # The page's keys first, then its rows with their lists: the lists are looked up for the page only,
    # never for the candidates a sort or a filter passes over.
    keys = query.where.with_only_columns(Contact.workspace_id, Contact.id).order_by(*order).limit(query.limit)
    page_keys = keys.subquery("page")
    table = Contact.__table__
    stmt = (
        select(*_with_lists(session.get_bind().dialect.name))
        .join_from(
            page_keys, table, (table.c.workspace_id == page_keys.c.workspace_id) & (table.c.id == page_keys.c.id)
        )
        .order_by(*order)
    )
    rows = (await session.execute(stmt)).mappings().all()
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = None
    if has_more and rows:
        cursor = _next_cursor(sort, rows[-1][query.column], rows[-1]["id"])
    return {"data": [out_dict(r) for r in rows], "next_cursor": cursor, "has_more": has_more}
