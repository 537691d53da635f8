"""LeadConnector Contacts API (seed 004), mounted at /compat/leadconnector (the base URL clients set).
``Version`` header required; ``locationId`` names the workspace (its ``ws_…`` id); ``{contact: {…}}``
answers; ``customFields`` as ``[{id, value}]`` against the workspace's definitions; errors as
``{"statusCode": N, "message": "…"}``."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from leadhub.compat.common import (
    bearer_token,
    canonical,
    iso_ms,
    json_object,
    json_response,
    parse,
    rename_path,
    renamed,
    sentence,
)
from leadhub.contacts import lookup
from leadhub.contacts import service as contacts
from leadhub.contacts.schemas import ContactIn, ContactOut, TagsIn
from leadhub.core.errors import Conflict, DomainError, FieldError, Forbidden, Invalid, NotFound
from leadhub.core.pagination import PageRequest
from leadhub.custom_fields import resolve
from leadhub.http import errors
from leadhub.http.context import Ctx, authenticate_request

PREFIX = "/compat/leadconnector"
DOOR = "compat:leadconnector"
VERSIONS = ("2021-07-28", "2021-04-15", "2023-02-21", "v3")
MAX_PAGE = 100
router = APIRouter(prefix=PREFIX, tags=["compat: LeadConnector"])

DND_CHANNELS = {"Call": "call", "Email": "email", "SMS": "sms", "WhatsApp": "whatsapp", "GMB": "gmb", "FB": "fb"}
_DND_IN = {vendor.lower(): native for vendor, native in DND_CHANNELS.items()}
_DND_OUT = {native: vendor for vendor, native in DND_CHANNELS.items()}
RENAMES = {
    "first_name": "firstName",
    "last_name": "lastName",
    "company_name": "companyName",
    "date_of_birth": "dateOfBirth",
    "assigned_to": "assignedTo",
    "address.line1": "address1",
    "address.city": "city",
    "address.state": "state",
    "address.postal_code": "postalCode",
    "address.country": "country",
    "custom_fields": "customFields",
    "dnd_settings": "dndSettings",
    **{f"dnd_settings.{native}": f"dndSettings.{vendor}" for vendor, native in DND_CHANNELS.items()},
}


class VersionError(DomainError):
    status = 400
    code = "version"
    title = "Bad Request"


class LcContactIn(BaseModel):
    """A contact body as the page documents it (and published clients send it). Values are checked by
    the canonical schema; fields outside the page are ignored."""

    model_config = ConfigDict(extra="ignore")
    firstName: Any = None
    lastName: Any = None
    name: Any = None
    email: Any = None
    locationId: Any = None
    phone: Any = None
    address1: Any = None
    city: Any = None
    state: Any = None
    postalCode: Any = None
    country: Any = None
    website: Any = None
    timezone: Any = None
    dnd: Any = None
    dndSettings: Any = None
    tags: Any = None
    customFields: Any = None
    source: Any = None
    companyName: Any = None
    dateOfBirth: Any = None
    assignedTo: Any = None


_SAME = ("name", "email", "phone", "website", "timezone", "dnd", "tags", "source", "country")
_RENAMED = {
    "firstName": "first_name",
    "lastName": "last_name",
    "companyName": "company_name",
    "assignedTo": "assigned_to",
}
_ADDRESS = {"address1": "line1", "city": "city", "state": "state", "postalCode": "postal_code"}


def date_of_birth(value: Any) -> Any:
    """A ``{year, month, day}`` object (v3 clients) as ``YYYY-MM-DD``; strings pass to the canonical parser."""
    if isinstance(value, dict):
        try:
            y, m, d = (int(value[k]) for k in ("year", "month", "day"))
        except (KeyError, TypeError, ValueError):
            return value
        return f"{y:04d}-{m:02d}-{d:02d}"
    return value


def custom_field_refs(body: LcContactIn) -> list[tuple[str, str]]:
    """``(path, reference)`` of each ``customFields`` entry naming its field by ``id`` (or ``key``)."""
    refs = []
    if isinstance(body.customFields, list):
        for i, entry in enumerate(body.customFields):
            if isinstance(entry, dict):
                ref = entry.get("id", entry.get("key"))
                if isinstance(ref, str):
                    refs.append((f"customFields[{i}].id", ref))
    return refs


def _custom_fields(entries: Any, keys: dict[str, str]) -> tuple[dict[str, Any], list[FieldError]]:
    values: dict[str, Any] = {}
    problems: list[FieldError] = []
    if not isinstance(entries, list):
        return values, [FieldError("customFields", "type", "must be an array of {id, value}", "object")]
    for i, entry in enumerate(entries):
        ref = entry.get("id", entry.get("key")) if isinstance(entry, dict) else None
        if not isinstance(ref, str) or ref not in keys:
            problems.append(FieldError(f"customFields[{i}]", "custom_field", "must be {id, value}", "object"))
            continue
        values[keys[ref]] = entry.get("value", entry.get("field_value"))
    return values, problems


def to_canonical(body: LcContactIn, custom_keys: dict[str, str] | None = None) -> ContactIn:
    """The canonical contact of a body; ``custom_keys`` maps each customFields reference to its key."""
    given = body.model_fields_set
    data: dict[str, Any] = {name: getattr(body, name) for name in _SAME if name in given}
    data.update({native: getattr(body, vendor) for vendor, native in _RENAMED.items() if vendor in given})
    if "dateOfBirth" in given:
        data["date_of_birth"] = date_of_birth(body.dateOfBirth)
    address = {native: getattr(body, vendor) for vendor, native in _ADDRESS.items() if vendor in given}
    if address:
        data["address"] = address
    if "dndSettings" in given:
        settings = body.dndSettings
        if isinstance(settings, dict):
            settings = {_DND_IN.get(str(k).lower(), str(k)): v for k, v in settings.items()}
        data["dnd_settings"] = settings
    problems: list[FieldError] = []
    if "customFields" in given and body.customFields is not None:
        data["custom_fields"], problems = _custom_fields(body.customFields, custom_keys or {})
    if problems:
        raise Invalid(problems)
    return canonical(data)


def to_vendor(contact: ContactOut, location_id: str, custom_ids: dict[str, str]) -> dict[str, Any]:
    """The contact as LeadConnector answers it. ``customFields`` entries carry the definition's id (or,
    for a value no definition types, its key) and the key."""
    address = contact.address
    return {
        "id": contact.id,
        "locationId": location_id,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "name": contact.name,
        "email": next((e.address for e in contact.emails if e.primary), None),
        "phone": next((p.number for p in contact.phones if p.primary), None),
        "additionalEmails": [e.address for e in contact.emails if not e.primary],
        "additionalPhones": [p.number for p in contact.phones if not p.primary],
        "companyName": contact.company_name,
        "address1": address.line1 if address else None,
        "city": address.city if address else None,
        "state": address.state if address else None,
        "postalCode": address.postal_code if address else None,
        "country": contact.country or (address.country if address else None),
        "website": contact.website,
        "timezone": contact.timezone,
        "dnd": contact.dnd,
        "dndSettings": {_DND_OUT.get(k, k): v for k, v in contact.dnd_settings.items()},
        "tags": list(contact.tags),
        "source": contact.source,
        "dateOfBirth": contact.date_of_birth.isoformat() if contact.date_of_birth else None,
        "assignedTo": contact.assigned_to,
        "customFields": [
            {"id": custom_ids.get(key, key), "key": key, "value": value} for key, value in contact.custom_fields.items()
        ],
        "dateAdded": iso_ms(contact.created_at),
        "dateUpdated": iso_ms(contact.updated_at),
    }


# ---------------------------------------------------------------- request context


def check_version(request: Request) -> None:
    version = request.headers.get("version")
    if version is None or not version.strip():
        raise VersionError(f"The Version header is required (one of: {', '.join(VERSIONS)})")
    if version.strip() not in VERSIONS:
        raise VersionError(f"Unsupported Version header; use one of: {', '.join(VERSIONS)}")


async def location_ctx(request: Request, location_id: Any, scope: str) -> Ctx:
    """The context of a request naming its location. A location the key may not act in (another
    workspace for a workspace key, any other organization's) is 403, whether it exists or not."""
    check_version(request)
    raw_key = bearer_token(request)
    if location_id is None:
        await authenticate_request(request, raw_key, None, scope, DOOR)  # 401/403 before 400
        raise Invalid([FieldError("locationId", "missing", "is required", "null")])
    if not isinstance(location_id, str) or not location_id.strip():
        raise Invalid([FieldError("locationId", "type", "must be a location id", "string")])
    try:
        return await authenticate_request(request, raw_key, location_id, scope, DOOR)
    except NotFound as exc:
        if exc.resource == "workspace":
            raise Forbidden("The token does not have access to this location") from None
        raise


async def contact_ctx(request: Request, contact_id: str, scope: str) -> Ctx:
    """The context of a request about one contact (no locationId): a workspace key's own workspace, or
    for an organization key the workspace holding the contact."""
    check_version(request)
    ctx = await authenticate_request(request, bearer_token(request), None, scope, DOOR)
    if ctx.principal.workspace_id is None:
        async with ctx.read() as session:
            workspace = await lookup.workspace_of_contact(session, ctx.principal.organization_id, contact_id)
        ctx = dataclasses.replace(ctx, workspace=workspace)
        request.state.workspace_id = workspace.public_id
    return ctx


async def _out(session: AsyncSession, ctx: Ctx, contact: Any) -> dict[str, Any]:
    custom_ids = await resolve.ids_by_key(session, ctx.workspace.id)
    return to_vendor(contacts.to_out(contact), ctx.workspace.public_id, custom_ids)


async def _canonical(session: AsyncSession, ctx: Ctx, body: LcContactIn) -> ContactIn:
    keys = await resolve.keys_for(session, ctx.workspace.id, custom_field_refs(body))
    return to_canonical(body, keys)


Handler = Callable[..., Awaitable[Response]]


def route(method: str, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
    """Register ``path`` with and without a trailing slash (published clients use both)."""
    other = path[:-1] if path.endswith("/") else path + "/"

    def register(fn: Handler) -> Handler:
        router.add_api_route(path, fn, methods=[method], **kwargs)
        router.add_api_route(other, fn, methods=[method], include_in_schema=False, **kwargs)
        return fn

    return register


def _trace_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or uuid.uuid4())


# ---------------------------------------------------------------- routes


@route("POST", "/contacts/", status_code=201, summary="Create Contact")
async def create_contact(request: Request) -> Response:
    raw = await json_object(request)
    ctx = await location_ctx(request, raw.get("locationId"), "contacts.write")
    body = parse(LcContactIn, raw)
    async with ctx.write() as tx:
        contact = await contacts.create(tx.session, ctx.workspace, ctx.actor, await _canonical(tx.session, ctx, body))
        return tx.respond({"contact": await _out(tx.session, ctx, contact)}, 201)


@route("POST", "/contacts/upsert", summary="Upsert Contact (by email, then phone)")
async def upsert_contact(request: Request) -> Response:
    raw = await json_object(request)
    ctx = await location_ctx(request, raw.get("locationId"), "contacts.write")
    body = parse(LcContactIn, raw)
    async with ctx.write() as tx:
        data = await _canonical(tx.session, ctx, body)
        result = await contacts.upsert(tx.session, ctx.workspace, ctx.actor, data)
        contact = await _out(tx.session, ctx, result.contact)
        return tx.respond({"new": result.created, "contact": contact, "traceId": _trace_id(request)})


@route("GET", "/contacts/search/duplicate", summary="Get Duplicate Contact")
async def search_duplicate(
    request: Request, locationId: str | None = None, email: str | None = None, number: str | None = None
) -> Response:
    ctx = await location_ctx(request, locationId, "contacts.read")
    if email is None and number is None:
        raise Invalid([FieldError("email", "one_of", "give email or number", "null")])
    async with ctx.read() as session:
        contact = await contacts.find_by_email(session, ctx.workspace, email) if email is not None else None
        if contact is None and number is not None:
            contact = await contacts.find_by_phone(session, ctx.workspace, number)
        return json_response({"contact": await _out(session, ctx, contact) if contact else None})


@route("GET", "/contacts/", summary="Get Contacts")
async def list_contacts(
    request: Request,
    locationId: str | None = None,
    query: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    startAfterId: str | None = None,
) -> Response:
    ctx = await location_ctx(request, locationId, "contacts.read")
    async with ctx.read() as session:
        cursor = await lookup.cursor_after(session, ctx.workspace, startAfterId) if startAfterId else None
        filters = contacts.ContactFilters(q=query)
        page = await contacts.list_contacts(session, ctx.workspace, filters, PageRequest(limit, cursor))
        items = [await _out(session, ctx, c) for c in page.items]
        meta: dict[str, Any] = {"startAfterId": None, "startAfter": None, "nextPageUrl": None}
        if page.has_more and page.items:
            last = page.items[-1]
            meta["startAfterId"] = last.public_id
            meta["startAfter"] = int(last.created_at.astimezone(UTC).timestamp() * 1000)
            meta["nextPageUrl"] = str(
                request.url.include_query_params(startAfterId=last.public_id, startAfter=meta["startAfter"])
            )
        return json_response({"contacts": items, "meta": meta})


@route("GET", "/contacts/{contact_id}", summary="Get Contact")
async def get_contact(contact_id: str, request: Request) -> Response:
    ctx = await contact_ctx(request, contact_id, "contacts.read")
    async with ctx.read() as session:
        contact = await contacts.get(session, ctx.workspace, contact_id)
        return json_response({"contact": await _out(session, ctx, contact)})


@route("PUT", "/contacts/{contact_id}", summary="Update Contact")
async def update_contact(contact_id: str, request: Request) -> Response:
    ctx = await contact_ctx(request, contact_id, "contacts.write")
    body = parse(LcContactIn, await json_object(request))
    async with ctx.write() as tx:
        data = await _canonical(tx.session, ctx, body)
        contact = await contacts.patch(tx.session, ctx.workspace, ctx.actor, contact_id, data)
        out = await _out(tx.session, ctx, contact)
        return tx.respond({"succeded": True, "succeeded": True, "contact": out})


@route("DELETE", "/contacts/{contact_id}", summary="Delete Contact")
async def delete_contact(contact_id: str, request: Request) -> Response:
    ctx = await contact_ctx(request, contact_id, "contacts.write")
    async with ctx.write() as tx:
        await contacts.delete(tx.session, ctx.workspace, ctx.actor, contact_id)
        return tx.respond({"succeded": True, "succeeded": True})


@route("POST", "/contacts/{contact_id}/tags", summary="Add Tags")
async def add_tags(contact_id: str, request: Request) -> Response:
    ctx = await contact_ctx(request, contact_id, "contacts.write")
    tags = parse(TagsIn, await json_object(request)).tags
    async with ctx.write() as tx:
        contact = await contacts.add_tags(tx.session, ctx.workspace, ctx.actor, contact_id, tags)
        return tx.respond({"tags": contact.tags})


@route("DELETE", "/contacts/{contact_id}/tags", summary="Remove Tags")
async def remove_tags(contact_id: str, request: Request) -> Response:
    ctx = await contact_ctx(request, contact_id, "contacts.write")
    tags = parse(TagsIn, await json_object(request)).tags
    async with ctx.write() as tx:
        contact = await contacts.remove_tags(tx.session, ctx.workspace, ctx.actor, contact_id, tags)
        return tx.respond({"tags": contact.tags})


def render_error(_request: Request, exc: DomainError) -> Response:
    """``{"statusCode": N, "message": "…"}``; bad data is 400 naming the LeadConnector field; a duplicate
    is 400 with ``meta.contactId`` / ``meta.matchingField`` as the vendor answers it."""
    if isinstance(exc, Invalid):
        message = "; ".join(sentence(e) for e in renamed(exc.errors, RENAMES))
        return json_response({"statusCode": 400, "message": message}, 400)
    if isinstance(exc, Conflict):
        body = {
            "statusCode": 400,
            "message": "This location does not allow duplicated contacts.",
            "meta": {
                "contactId": exc.existing_id,
                "matchingField": "phone" if exc.code == "duplicate_phone" else "email",
                "field": rename_path(exc.field, RENAMES),
            },
        }
        return json_response(body, 400)
    message = exc.detail
    if isinstance(exc, NotFound) and exc.resource == "contact":
        message = "Contact not found"
    return json_response({"statusCode": exc.status, "message": message}, exc.status)


errors.register_renderer(PREFIX, render_error)
