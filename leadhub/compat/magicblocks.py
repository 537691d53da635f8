"""MagicBlocks Contacts API (seed 000), mounted at /compat/magicblocks; clients set the base URL
``http://HOST/compat/magicblocks/v1``. Bare contact objects, unix-second timestamps, ``custom`` in and
``customFields`` out; ``sendMessageEvents`` / ``flowEditorName`` / ``flowEditorLink`` ask for a flow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, StringConstraints
from starlette.responses import Response

from leadhub.compat.common import (
    bearer_token,
    canonical,
    json_object,
    json_response,
    parse,
    rename_path,
    renamed,
    sentence,
    unix_seconds,
)
from leadhub.contacts import lookup
from leadhub.contacts import service as contacts
from leadhub.contacts.names import split_name
from leadhub.contacts.schemas import ContactIn, ContactOut
from leadhub.core.errors import Conflict, DomainError, Invalid, NotFound
from leadhub.core.pagination import MAX_LIMIT, PageRequest
from leadhub.core.validation import TRIMMED
from leadhub.flows import service as flows
from leadhub.http import errors
from leadhub.http.context import WORKSPACE_HEADER, Ctx, authenticate_request

PREFIX = "/compat/magicblocks"
DOOR = "compat:magicblocks"
router = APIRouter(prefix=f"{PREFIX}/v1", tags=["compat: MagicBlocks"])

# Canonical field paths as a MagicBlocks client names them, for error bodies.
RENAMES = {"custom_fields": "custom", "is_test": "isTest", "user_knowledge": "userKnowledge"}
# MagicBlocks email types leadhub stores under another name.
_EMAIL_TYPES = {"home": "personal", "private": "personal", "business": "work"}


class MbName(BaseModel):
    model_config = ConfigDict(extra="ignore")
    first: Any = None
    middle: Any = None
    last: Any = None


class MbContactIn(BaseModel):
    """A contact as MagicBlocks clients send it, nested (``name``, ``emails``, ``phones``) or flat
    (``email``, ``first_name``, ``last_name``). Values are checked by the canonical schema."""

    model_config = ConfigDict(extra="ignore")
    name: MbName | str | None = None
    emails: list[Any] | None = None
    phones: list[Any] | None = None
    email: Any = None
    phone: Any = None
    first_name: Any = None
    middle_name: Any = None
    last_name: Any = None
    tags: Any = None
    isTest: Any = None
    userKnowledge: Any = None
    custom: Any = None
    sendMessageEvents: bool | None = None
    flowEditorName: Annotated[str, StringConstraints(max_length=200), TRIMMED] | None = None
    flowEditorLink: Annotated[str, StringConstraints(max_length=2048), TRIMMED] | None = None


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _email_entry(entry: Any) -> Any:
    if isinstance(entry, dict) and isinstance(entry.get("type"), str):
        return {**entry, "type": _EMAIL_TYPES.get(entry["type"].lower(), entry["type"].lower())}
    return entry


def to_canonical(body: MbContactIn) -> ContactIn:
    """The canonical contact of a MagicBlocks body; only the fields the client sent count as given."""
    given = body.model_fields_set
    data: dict[str, Any] = {}
    if isinstance(body.name, MbName):
        for part in ("first", "middle", "last"):
            if part in body.name.model_fields_set:
                data[f"{part}_name"] = _blank_to_none(getattr(body.name, part))
    elif "name" in given:
        data["name"] = body.name
    for flat in ("first_name", "middle_name", "last_name"):
        if flat in given:
            data[flat] = _blank_to_none(getattr(body, flat))
    if "emails" in given:
        data["emails"] = None if body.emails is None else [_email_entry(e) for e in body.emails]
    for same in ("phones", "email", "phone", "tags"):
        if same in given:
            data[same] = getattr(body, same)
    for vendor, native in (("isTest", "is_test"), ("userKnowledge", "user_knowledge"), ("custom", "custom_fields")):
        if vendor in given:
            data[native] = getattr(body, vendor)
    return canonical(data)


def flow_request(body: MbContactIn) -> flows.FlowRequest:
    return flows.FlowRequest(send_messages=body.sendMessageEvents, name=body.flowEditorName, link=body.flowEditorLink)


def _name(first: str | None, middle: str | None, last: str | None) -> dict[str, str]:
    return {"first": first or "", "middle": middle or "", "last": last or ""}


def to_vendor(contact: ContactOut, public_url: str) -> dict[str, Any]:
    """The contact as MagicBlocks answers it. ``generatedName`` is the given name, or the parts of the
    name leadhub generated (e.g. from the email) when none was given."""
    parts = (contact.first_name, contact.middle_name, contact.last_name)
    generated = parts if any(parts) else (split_name(contact.name) if contact.name else (None, None, None))
    emails = [{"address": e.address, "type": e.type, "primary": e.primary} for e in contact.emails]
    phones = [{"number": p.number, "type": p.type, "primary": p.primary} for p in contact.phones]
    return {
        "id": contact.id,
        "firstSeen": unix_seconds(contact.first_seen or contact.created_at),
        "modifiedAt": unix_seconds(contact.updated_at),
        "lastSeen": unix_seconds(contact.last_seen or contact.updated_at),
        "name": _name(*parts),
        "generatedName": _name(*generated),
        "emails": emails,
        "primaryEmail": next((e for e in emails if e["primary"]), None),
        "phones": phones,
        "primaryPhone": next((p for p in phones if p["primary"]), None),
        "isTest": contact.is_test,
        "sessionCount": contact.session_count,
        "userKnowledge": contact.user_knowledge,
        "customFields": dict(contact.custom_fields),
        "tags": list(contact.tags),
        "link": f"{public_url}/contacts/{contact.id}",
        "preview": False,
    }


async def _ctx(request: Request, scope: str) -> Ctx:
    return await authenticate_request(
        request, bearer_token(request), request.headers.get(WORKSPACE_HEADER), scope, DOOR
    )


def _out(ctx: Ctx, contact: Any) -> dict[str, Any]:
    return to_vendor(contacts.to_out(contact), ctx.settings.resolved_public_url)


@router.post("/contacts", status_code=201, summary="Create a lead (nested or flat form)")
async def create_contact(request: Request) -> Response:
    ctx = await _ctx(request, "contacts.write")
    body = parse(MbContactIn, await json_object(request))
    data = to_canonical(body)
    async with ctx.write() as tx:
        contact = await contacts.create(tx.session, ctx.workspace, ctx.actor, data)
        await flows.trigger(tx.session, ctx.workspace, ctx.actor, contact, flow_request(body))
        return tx.respond(_out(ctx, contact), 201)


@router.put("/contacts/{contact_id}", summary="Update a lead by id")
async def update_contact(contact_id: str, request: Request) -> Response:
    ctx = await _ctx(request, "contacts.write")
    body = parse(MbContactIn, await json_object(request))
    data = to_canonical(body)
    async with ctx.write() as tx:
        contact = await contacts.patch(tx.session, ctx.workspace, ctx.actor, contact_id, data)
        await flows.trigger(tx.session, ctx.workspace, ctx.actor, contact, flow_request(body))
        return tx.respond(_out(ctx, contact))


@router.put("/contacts", summary="Update the lead matched by the body's email, then phone")
async def update_matching_contact(request: Request) -> Response:
    ctx = await _ctx(request, "contacts.write")
    body = parse(MbContactIn, await json_object(request))
    data = to_canonical(body)
    async with ctx.write() as tx:
        contact = await lookup.patch_matching(tx.session, ctx.workspace, ctx.actor, data)
        await flows.trigger(tx.session, ctx.workspace, ctx.actor, contact, flow_request(body))
        return tx.respond(_out(ctx, contact))


@router.get("/contacts", summary="List leads")
async def list_contacts(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[list[str] | None, Query()] = None,
) -> Response:
    ctx = await _ctx(request, "contacts.read")
    async with ctx.read() as session:
        filters = contacts.ContactFilters(tags=tag or [], q=q)
        page = await contacts.list_contacts(session, ctx.workspace, filters, PageRequest(limit, cursor))
        return json_response(
            {"data": [_out(ctx, c) for c in page.items], "hasMore": page.has_more, "nextCursor": page.next_cursor}
        )


@router.get("/contacts/email/{email}", summary="Get a lead by email")
async def get_by_email(email: str, request: Request) -> Response:
    ctx = await _ctx(request, "contacts.read")
    async with ctx.read() as session:
        contact = await contacts.find_by_email(session, ctx.workspace, email)
        if contact is None:
            raise NotFound("contact")
        return json_response(_out(ctx, contact))


@router.get("/contacts/phone/{phone}", summary="Get a lead by phone")
async def get_by_phone(phone: str, request: Request) -> Response:
    ctx = await _ctx(request, "contacts.read")
    async with ctx.read() as session:
        contact = await contacts.find_by_phone(session, ctx.workspace, phone)
        if contact is None:
            raise NotFound("contact")
        return json_response(_out(ctx, contact))


@router.get("/contacts/{contact_id}", summary="Get a lead by id")
async def get_contact(contact_id: str, request: Request) -> Response:
    ctx = await _ctx(request, "contacts.read")
    async with ctx.read() as session:
        return json_response(_out(ctx, await contacts.get(session, ctx.workspace, contact_id)))


@router.delete("/contacts/{contact_id}", summary="Delete a lead")
async def delete_contact(contact_id: str, request: Request) -> Response:
    ctx = await _ctx(request, "contacts.write")
    async with ctx.write() as tx:
        await contacts.delete(tx.session, ctx.workspace, ctx.actor, contact_id)
        return tx.respond({"id": contact_id, "deleted": True})


_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}


def render_error(_request: Request, exc: DomainError) -> Response:
    """``{statusCode, error, message}``; bad data is 400 with ``errors[]`` naming MagicBlocks fields."""
    status = 400 if isinstance(exc, Invalid) else exc.status
    body: dict[str, Any] = {"statusCode": status, "error": _REASONS.get(status, exc.title), "message": exc.detail}
    if isinstance(exc, Invalid):
        fields = renamed(exc.errors, RENAMES)
        body["message"] = "; ".join(sentence(e) for e in fields)
        body["errors"] = [{"field": e.field, "rule": e.rule, "message": e.message} for e in fields]
    elif isinstance(exc, NotFound) and exc.resource == "contact":
        body["message"] = exc.detail if exc.detail != "contact not found" else "Contact not found"
    elif isinstance(exc, Conflict):
        field = rename_path(exc.field, RENAMES)
        body["message"] = f"{field}: this value already belongs to another contact"
        body["field"] = field
        body["existingContactId"] = exc.existing_id
    return json_response(body, status)


errors.register_renderer(PREFIX, render_error)
