"""Exports: every record of a listing (with its filters) as CSV or JSON Lines, page by page through the
same list functions the API uses, so memory stays constant however many rows there are.

CSV columns are the native fields flattened: lists of emails/phones joined by ``;`` (primary first, the
form the importer reads back), tags by ``,``, the address as ``address.<part>``, and one
``custom_fields.<key>`` column per key found in the workspace."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Literal

import orjson
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.companies import service as companies
from leadhub.contacts import service as contacts
from leadhub.contacts.schemas import ContactOut
from leadhub.core.pagination import Page, PageRequest
from leadhub.db.engine import Database
from leadhub.deals import service as deals

Resource = Literal["contacts", "companies", "deals"]
Format = Literal["csv", "jsonl"]
PAGE_ROWS = 1000
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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


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


def _lister(resource: Resource) -> tuple[Callable[..., Awaitable[Page[Any]]], Callable[[Any], BaseModel]]:
    if resource == "contacts":
        return contacts.list_contacts, contacts.to_out
    if resource == "companies":
        return companies.list_companies, companies.to_out
    return deals.list_deals, deals.to_out


async def stream(
    db: Database, ws: Workspace, resource: Resource, format: Format, filters: Filters
) -> AsyncIterator[bytes]:
    """The export's bytes, one page of rows at a time (each page in its own short read transaction)."""
    list_fn, to_out = _lister(resource)
    writer_buffer = io.StringIO()
    writer: Any = None
    columns: list[str] = []
    if format == "csv":
        if resource == "contacts":
            async with db.read_session() as session:
                columns = contact_columns(await custom_field_keys(session, ws.id))
        # Companies and deals have fixed fields: their columns are taken from the first row below.
        writer = csv.DictWriter(writer_buffer, fieldnames=columns, extrasaction="ignore")
        if columns:
            writer.writeheader()
    cursor: str | None = None
    while True:
        async with db.read_session() as session:
            page = await list_fn(session, ws, filters, PageRequest(PAGE_ROWS, cursor))
            outs = [to_out(item).model_dump(mode="json") for item in page.items]
        if format == "jsonl":
            yield b"".join(orjson.dumps(o) + b"\n" for o in outs)
        else:
            for out in outs:
                row = flatten_contact(out) if resource == "contacts" else {k: _cell(v) for k, v in out.items()}
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
