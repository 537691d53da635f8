"""Exports: every record of a listing (with its filters) as CSV or JSON Lines, page by page through the
same list functions the API uses, so memory stays constant however many rows there are.

CSV columns are the native fields flattened: lists of emails/phones joined by ``;`` (primary first, the
form the importer reads back), tags by ``,``, the address as ``address.<part>``, and one
``custom_fields.<key>`` column per key found in the workspace."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any, Literal

import orjson
from pydantic import BaseModel
from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.companies import service as companies
from leadhub.contacts import listing
from leadhub.contacts import service as contacts
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone, ContactTag
from leadhub.contacts.schemas import ContactOut
from leadhub.core import ids
from leadhub.core.pagination import Page, PageRequest
from leadhub.custom_fields import service as custom_fields
from leadhub.db.engine import Database
from leadhub.deals import service as deals
from leadhub.exports import contacts_csv
from leadhub.exports.contacts_csv import cell as _cell

Resource = Literal["contacts", "companies", "deals"]
Format = Literal["csv", "jsonl"]
PAGE_ROWS = 1000
# Contacts are read in keyset batches of plain rows (no ORM objects, no per-row validation): each batch
# its own short read, so memory stays constant and no transaction is held for the whole export.
CONTACT_BATCH = 5000
_ADDRESS = ("line1", "line2", "city", "state", "postal_code", "country")
Filters = contacts.ContactFilters | companies.CompanyFilters | deals.DealFilters


async def custom_field_keys(session: AsyncSession, workspace_id: uuid.UUID) -> list[str]:
    """Every custom-field key any contact of the workspace holds (the CSV header needs them first)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        sql = "SELECT DISTINCT jsonb_object_keys(custom_fields) FROM contacts WHERE workspace_id = :ws"
    else:
        sql = "SELECT DISTINCT j.key FROM contacts, json_each(contacts.custom_fields) AS j WHERE workspace_id = :ws"
    ws_param: Any = workspace_id if postgres else workspace_id.hex
    rows = await session.execute(text(sql), {"ws": ws_param})
    return sorted(str(r[0]) for r in rows)


def contact_columns(keys: Sequence[str]) -> list[str]:
    plain = [n for n in ContactOut.model_fields if n not in ("address", "custom_fields")]
    return plain + [f"address.{a}" for a in _ADDRESS] + [f"custom_fields.{k}" for k in keys]


def flatten_contact(out: dict[str, Any]) -> dict[str, str]:
    row = {k: _cell(v) for k, v in out.items() if k not in ("emails", "phones", "tags", "address", "custom_fields")}
    emails = sorted(out["emails"], key=lambda e: not e["primary"])
    phones = sorted(out["phones"], key=lambda p: not p["primary"])
    row["emails"] = ";".join(e["address"] for e in emails)
    row["phones"] = ";".join(p["number"] for p in phones)
    row["tags"] = ",".join(out["tags"])
    for part in _ADDRESS:
        row[f"address.{part}"] = _cell((out["address"] or {}).get(part))
    for key, value in out["custom_fields"].items():
        row[f"custom_fields.{key}"] = _cell(value)
    return row


def _time(value: Any) -> str | None:
    """A datetime as pydantic writes it in JSON mode (ISO 8601, UTC as ``Z``)."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


_CONTACT_FIELDS = [c for c in Contact.__table__.columns if c.name != "search_text"]


async def _filtered(session: AsyncSession, ws: Workspace, filters: contacts.ContactFilters) -> Select[Any]:
    """The listing's filtered statement (with its custom-field definitions and, on SQLite, the FTS narrowing)."""
    definitions = await custom_fields.definitions_by_key(session, ws.id) if filters.custom_fields else {}
    indexed = await listing._narrowed_by_index(session, listing.needle_of(filters.q)) if filters.q else None
    return listing._filtered(ws, filters, definitions, indexed)


async def _contact_range(
    session: AsyncSession,
    ws: Workspace,
    filters: contacts.ContactFilters,
    after: contacts_csv.Key | None,
    lower: contacts_csv.Key | None,
    limit: int | None,
) -> list[Any]:
    """The plain rows after ``after`` (down to ``lower`` included, at most ``limit``), newest first, with
    their emails, phones and tags attached as native JSON (``_contact_json``)."""
    stmt = (await _filtered(session, ws, filters)).with_only_columns(*_CONTACT_FIELDS)
    stmt = stmt.where(*contacts_csv.keyset(after, lower)).order_by(Contact.created_at.desc(), Contact.id.desc())
    rows = (await session.execute(stmt.limit(limit) if limit else stmt)).mappings().all()
    if not rows:
        return []
    keys = [r["id"] for r in rows]
    emails: dict[uuid.UUID, list[dict[str, Any]]] = {}
    phones: dict[uuid.UUID, list[dict[str, Any]]] = {}
    tags: dict[uuid.UUID, list[str]] = {}
    for owner, address, kind, primary in await session.execute(
        select(ContactEmail.contact_id, ContactEmail.address, ContactEmail.type, ContactEmail.is_primary)
        .where(ContactEmail.workspace_id == ws.id, ContactEmail.contact_id.in_(keys))
        .order_by(ContactEmail.contact_id, ContactEmail.position)
    ):
        emails.setdefault(owner, []).append({"address": address, "type": kind, "primary": primary})
    for owner, number, kind, primary in await session.execute(
        select(ContactPhone.contact_id, ContactPhone.number, ContactPhone.type, ContactPhone.is_primary)
        .where(ContactPhone.workspace_id == ws.id, ContactPhone.contact_id.in_(keys))
        .order_by(ContactPhone.contact_id, ContactPhone.position)
    ):
        phones.setdefault(owner, []).append({"number": number, "type": kind, "primary": primary})
    for owner, tag in await session.execute(
        select(ContactTag.contact_id, ContactTag.tag)
        .where(ContactTag.workspace_id == ws.id, ContactTag.contact_id.in_(keys))
        .order_by(ContactTag.contact_id, ContactTag.position)
    ):
        tags.setdefault(owner, []).append(tag)
    return [(r, _contact_json(r, emails, phones, tags)) for r in rows]


async def contact_batches(db: Database, ws: Workspace, filters: contacts.ContactFilters) -> AsyncIterator[list[Any]]:
    """The workspace's contacts matching the list filters, newest first (the listing's default order), as
    the native JSON (exactly ``contacts.to_out(c).model_dump(mode="json")``), a batch at a time."""
    after: contacts_csv.Key | None = None
    while True:
        async with db.read_session() as session:
            found = await _contact_range(session, ws, filters, after, None, CONTACT_BATCH)
        if not found:
            return
        yield [out for _, out in found]
        if len(found) < CONTACT_BATCH:
            return
        last = found[-1][0]
        after = (last["created_at"], last["id"])


def _contact_json(
    r: Any,
    emails: dict[uuid.UUID, list[dict[str, Any]]],
    phones: dict[uuid.UUID, list[dict[str, Any]]],
    tags: dict[uuid.UUID, list[str]],
) -> dict[str, Any]:
    key = r["id"]
    address = {a: r[f"address_{a}"] for a in _ADDRESS}
    born = r["date_of_birth"]
    return {
        "id": ids.encode(ids.CONTACT, key),
        "first_name": r["first_name"],
        "middle_name": r["middle_name"],
        "last_name": r["last_name"],
        "name": r["name"],
        "emails": emails.get(key, []),
        "phones": phones.get(key, []),
        "company_name": r["company_name"],
        "company_id": ids.encode(ids.COMPANY, r["company_id"]) if r["company_id"] else None,
        "title": r["title"],
        "website": r["website"],
        "address": address if any(address.values()) else None,
        "country": r["country"],
        "timezone": r["timezone"],
        "date_of_birth": born.isoformat() if born is not None else None,
        "source": r["source"],
        "status": r["status"],
        "tags": tags.get(key, []),
        "custom_fields": r["custom_fields"],
        "dnd": r["dnd"],
        "dnd_settings": r["dnd_settings"],
        "consent": r["consent"],
        "is_test": r["is_test"],
        "user_knowledge": r["user_knowledge"],
        "notes": r["notes"],
        "assigned_to": r["assigned_to"],
        "first_seen": _time(r["first_seen"]),
        "last_seen": _time(r["last_seen"]),
        "session_count": r["session_count"],
        "created_at": _time(r["created_at"]),
        "updated_at": _time(r["updated_at"]),
    }


async def _stream_contacts(
    db: Database, ws: Workspace, format: Format, filters: contacts.ContactFilters
) -> AsyncGenerator[bytes, None]:
    if format == "jsonl":
        async for batch in contact_batches(db, ws, filters):
            yield b"".join([orjson.dumps(o) + b"\n" for o in batch])
        return
    async with db.read_session() as session:
        columns = contact_columns(await custom_field_keys(session, ws.id))
    keys = [c[len("custom_fields.") :] for c in columns if c.startswith("custom_fields.")]
    buffer = io.StringIO()
    csv.writer(buffer).writerow(columns)
    # The header goes out with the first batch, so a filter the database refuses fails before the answer
    # starts (the API reads the first block before it answers: a 4xx, not a broken stream).
    header: bytes | None = buffer.getvalue().encode()

    async def filtered(session: AsyncSession) -> Select[Any]:
        return await _filtered(session, ws, filters)

    async def reference(session: AsyncSession, after: contacts_csv.Key | None, lower: contacts_csv.Key | None) -> bytes:
        return _reference_csv([out for _, out in await _contact_range(session, ws, filters, after, lower, None)], keys)

    # aclosing, here and in the callers: an export left early (the client went away) gives its connections
    # back as it is closed, not when the collector finds the inner generators.
    async with aclosing(contacts_csv.batches(db, ws, keys, filtered, reference)) as blocks:
        async for block in blocks:
            yield header + block if header else block
            header = None
    if header:  # no rows
        yield header


def _reference_csv(outs: list[dict[str, Any]], keys: list[str]) -> bytes:
    """Native JSON contacts as CSV rows, cell by cell in Python (what the fast paths must equal)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([_csv_row(out, keys) for out in outs])
    return buffer.getvalue().encode()


_CSV_FIELDS = [n for n in ContactOut.model_fields if n not in ("address", "custom_fields")]
_CSV_LISTS = {"emails": "address", "phones": "number"}


def _csv_row(out: dict[str, Any], custom_keys: list[str]) -> list[str]:
    """``flatten_contact(out)`` as a list in ``contact_columns`` order, without the intermediate dict."""
    cells = []
    for name in _CSV_FIELDS:
        value = out[name]
        if name in _CSV_LISTS:
            part = _CSV_LISTS[name]
            if len(value) > 1:
                value = sorted(value, key=lambda e: not e["primary"])
            cells.append(";".join(e[part] for e in value))
        elif name == "tags":
            cells.append(",".join(value))
        elif value is None:
            cells.append("")
        elif value.__class__ is str:
            cells.append(value)
        else:
            cells.append(_cell(value))
    address = out["address"] or {}
    cells += [_cell(address.get(part)) for part in _ADDRESS]
    custom = out["custom_fields"]
    cells += [_cell(custom.get(key)) for key in custom_keys]
    return cells


def _lister(resource: Resource) -> tuple[Callable[..., Awaitable[Page[Any]]], Callable[[Any], BaseModel]]:
    if resource == "contacts":
        return contacts.list_contacts, contacts.to_out
    if resource == "companies":
        return companies.list_companies, companies.to_out
    return deals.list_deals, deals.to_out


async def stream(
    db: Database, ws: Workspace, resource: Resource, format: Format, filters: Filters
) -> AsyncGenerator[bytes, None]:
    """The export's bytes, one page of rows at a time (each page in its own short read transaction, except
    the contacts CSV on PostgreSQL: one snapshot on two connections, see ``contacts_csv._pg_batches``)."""
    if resource == "contacts":
        assert isinstance(filters, contacts.ContactFilters)
        async with aclosing(_stream_contacts(db, ws, format, filters)) as blocks:
            async for block in blocks:
                yield block
        return
    list_fn, to_out = _lister(resource)
    writer_buffer = io.StringIO()
    writer: Any = None
    columns: list[str] = []
    # Companies and deals have fixed fields: their CSV columns are taken from the first row below.
    cursor: str | None = None
    while True:
        async with db.read_session() as session:
            page = await list_fn(session, ws, filters, PageRequest(PAGE_ROWS, cursor))
            outs = [to_out(item).model_dump(mode="json") for item in page.items]
        if format == "jsonl":
            yield b"".join(orjson.dumps(o) + b"\n" for o in outs)
        else:
            for out in outs:
                row = {k: _cell(v) for k, v in out.items()}
                if not columns:
                    columns = list(row)
                    writer = csv.DictWriter(writer_buffer, fieldnames=columns, extrasaction="ignore")
                    writer.writeheader()
                writer.writerow(row)
            yield writer_buffer.getvalue().encode()
            writer_buffer.seek(0)
            writer_buffer.truncate()
        if not page.has_more:
            return
        cursor = page.next_cursor
