""" "Lead Management v1.0" leads API (seed 001), mounted at /compat/leads-v1 (the page's ``${baseUrl}``).
``{success, data}`` envelopes, ``lead_…`` ids over the contact's UUID (``con_…`` resolves too),
``metadata`` = the contact's custom fields (merged; null deletes a key), ISO 8601 timestamps with ms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError
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
    value_at,
)
from leadhub.contacts import service as contacts
from leadhub.contacts.schemas import STATUSES, ContactIn, ContactOut
from leadhub.core import ids
from leadhub.core.errors import Conflict, DomainError, FieldError, Invalid, NotFound
from leadhub.core.pagination import MAX_LIMIT, PageRequest
from leadhub.http import errors
from leadhub.http.context import WORKSPACE_HEADER, Ctx, authenticate_request

PREFIX = "/compat/leads-v1"
DOOR = "compat:leads-v1"
router = APIRouter(prefix=f"{PREFIX}/api/v1/leads", tags=["compat: Leads v1"])
RENAMES = {"custom_fields": "metadata"}
_STATUS_MESSAGE = f"must be one of: {', '.join(STATUSES)}"


class LeadIn(BaseModel):
    """A lead body: every field optional (an update names only what changes). ``id``, ``createdAt``,
    ``updatedAt`` and ``workspaceId`` are read-only."""

    model_config = ConfigDict(extra="ignore")
    name: Any = None
    email: Any = None
    phone: Any = None
    source: Any = None
    status: Any = None
    metadata: Any = None
    id: Any = None
    workspaceId: Any = None
    createdAt: Any = None
    updatedAt: Any = None

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: Any) -> Any:
        if value is not None and value not in STATUSES:
            raise PydanticCustomError("enum", _STATUS_MESSAGE)
        return value


class LeadCreate(LeadIn):
    email: Any


def to_canonical(body: LeadIn) -> ContactIn:
    """The canonical contact of a lead body; read-only fields never reach it."""
    given = body.model_fields_set
    fields = ("name", "email", "phone", "source", "status")
    data: dict[str, Any] = {name: getattr(body, name) for name in fields if name in given}
    if "metadata" in given:
        data["custom_fields"] = body.metadata
    return canonical(data)


def lead_id(contact_id: str) -> str:
    """``con_X`` → ``lead_X`` (the same UUID)."""
    return ids.encode(ids.LEAD, ids.decode(ids.CONTACT, contact_id))


def contact_id(lead: str) -> str:
    """A ``lead_…`` id as the contact id the services take; ``con_…`` and UUIDs pass as they are.
    A malformed id is not found, as the services answer any unknown id."""
    if lead.startswith(f"{ids.LEAD}_"):
        try:
            return ids.encode(ids.CONTACT, ids.decode(ids.LEAD, lead))
        except ids.InvalidId:
            raise NotFound("contact") from None
    return lead


def to_vendor(contact: ContactOut, workspace_id: str) -> dict[str, Any]:
    return {
        "id": lead_id(contact.id),
        "name": contact.name,
        "email": next((e.address for e in contact.emails if e.primary), None),
        "phone": next((p.number for p in contact.phones if p.primary), None),
        "source": contact.source,
        "status": contact.status,
        "metadata": dict(contact.custom_fields),
        "createdAt": iso_ms(contact.created_at),
        "updatedAt": iso_ms(contact.updated_at),
        "workspaceId": workspace_id,
    }


def read_only_changes(body: LeadIn, lead: str, workspace_id: str) -> list[FieldError]:
    """``id`` and ``workspaceId`` may be echoed back unchanged; naming another lead or workspace is refused.
    (``createdAt`` / ``updatedAt`` are server-kept and simply ignored.)"""
    problems = []
    if body.id is not None and not _same(ids.LEAD, body.id, lead):
        problems.append(FieldError("id", "read_only", "cannot be modified", "string"))
    if body.workspaceId is not None and not _same(ids.WORKSPACE, body.workspaceId, workspace_id):
        problems.append(FieldError("workspaceId", "read_only", "cannot be modified", "string"))
    return problems


def _same(prefix: str, given: Any, current: str) -> bool:
    if not isinstance(given, str):
        return False
    try:
        decoded = ids.decode(ids.CONTACT, contact_id(given)) if prefix == ids.LEAD else ids.decode(prefix, given)
        return decoded == ids.decode(ids.CONTACT if prefix == ids.LEAD else prefix, current)
    except (ids.InvalidId, NotFound):
        return False


async def _ctx(request: Request, scope: str) -> Ctx:
    return await authenticate_request(
        request, bearer_token(request), request.headers.get(WORKSPACE_HEADER), scope, DOOR
    )


def _data(ctx: Ctx, contact: Any) -> dict[str, Any]:
    return {"success": True, "data": to_vendor(contacts.to_out(contact), ctx.workspace.public_id)}


@router.post("", status_code=201, summary="Create a lead")
async def create_lead(request: Request) -> Response:
    ctx = await _ctx(request, "contacts.write")
    body = parse(LeadCreate, await json_object(request))
    if body.email is None:
        raise Invalid([FieldError("email", "missing", "is required", "null")])
    data = to_canonical(body)
    if body.workspaceId is not None and not _same(ids.WORKSPACE, body.workspaceId, ctx.workspace.public_id):
        raise Invalid([FieldError("workspaceId", "read_only", "must be the workspace of the API key", "string")])
    async with ctx.write() as tx:
        contact = await contacts.create(tx.session, ctx.workspace, ctx.actor, data)
        return tx.respond(_data(ctx, contact), 201)


@router.get("", summary="List leads")
async def list_leads(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
    status: str | None = None,
    source: str | None = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    ctx = await _ctx(request, "contacts.read")
    if status is not None and status not in STATUSES:
        raise Invalid([FieldError("status", "enum", _STATUS_MESSAGE, "string")])
    filters = contacts.ContactFilters(status=[status] if status else [], source=source, q=search)
    async with ctx.read() as session:
        page = await contacts.list_contacts(session, ctx.workspace, filters, PageRequest(limit, cursor))
        return json_response(
            {
                "success": True,
                "data": [to_vendor(contacts.to_out(c), ctx.workspace.public_id) for c in page.items],
                "pagination": {"limit": limit, "hasMore": page.has_more, "nextCursor": page.next_cursor},
            }
        )


@router.get("/{lead}", summary="Get a lead")
async def get_lead(lead: str, request: Request) -> Response:
    ctx = await _ctx(request, "contacts.read")
    async with ctx.read() as session:
        return json_response(_data(ctx, await contacts.get(session, ctx.workspace, contact_id(lead))))


@router.put("/{lead}", summary="Update some fields of a lead")
async def update_lead(lead: str, request: Request) -> Response:
    """Absent fields stay; ``metadata`` merges key by key (null deletes a key); ``updatedAt`` moves."""
    ctx = await _ctx(request, "contacts.write")
    body = parse(LeadIn, await json_object(request))
    data = to_canonical(body)
    problems = read_only_changes(body, contact_id(lead), ctx.workspace.public_id)
    if problems:
        raise Invalid(problems)
    async with ctx.write() as tx:
        contact = await contacts.patch(tx.session, ctx.workspace, ctx.actor, contact_id(lead), data)
        return tx.respond(_data(ctx, contact))


@router.delete("/{lead}", summary="Delete a lead")
async def delete_lead(lead: str, request: Request) -> Response:
    ctx = await _ctx(request, "contacts.write")
    async with ctx.write() as tx:
        contact = await contacts.get(tx.session, ctx.workspace, contact_id(lead))
        gone = lead_id(contact.public_id)
        await contacts.delete(tx.session, ctx.workspace, ctx.actor, contact.public_id)
        return tx.respond({"success": True, "data": {"id": gone, "deleted": True}})


def _failure(status: int, error: str, code: str, details: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"success": False, "error": error, "code": code}
    if details is not None:
        body["details"] = details
    return json_response(body, status)


def _message(e: FieldError) -> str:
    label = e.field[:1].upper() + e.field[1:]
    if e.rule == "missing":
        return f"{label} is required"
    return f"{label} {e.message}" if e.message[:1].islower() else f"{label}: {e.message}"


def render_error(request: Request, exc: DomainError) -> Response:
    """The page's error bodies: ``VALIDATION_ERROR`` (first broken field, its value and a message),
    ``DUPLICATE_EMAIL`` with ``existingLeadId``, 404 ``Lead not found``; others in the same envelope."""
    if isinstance(exc, Invalid):
        first = renamed(exc.errors, RENAMES)[0]
        sent = getattr(request.state, "compat_body", None)
        details = {"field": first.field, "value": value_at(sent, first.field), "message": _message(first)}
        return _failure(400, "Validation failed", "VALIDATION_ERROR", details)
    if isinstance(exc, Conflict):
        existing = lead_id(exc.existing_id)
        if exc.code == "duplicate_email":
            return _failure(
                409,
                "Email already exists",
                "DUPLICATE_EMAIL",
                {
                    "email": exc.value,
                    "existingLeadId": existing,
                    "message": "A different lead with this email already exists in your workspace",
                },
            )
        what = "phone" if exc.code == "duplicate_phone" else rename_path(exc.field, RENAMES)
        return _failure(
            409,
            f"{what.capitalize()} already exists",
            exc.code.upper(),
            {
                what: exc.value,
                "existingLeadId": existing,
                "message": f"A different lead with this {what} already exists in your workspace",
            },
        )
    if exc.status == 404:
        resource = getattr(exc, "resource", None)
        message = {"contact": "Lead not found", "workspace": "Workspace not found"}.get(resource or "", exc.detail)
        return _failure(404, message, "NOT_FOUND")
    code = {401: "UNAUTHORIZED", 403: "FORBIDDEN"}.get(exc.status, exc.code.upper())
    return _failure(exc.status, exc.detail, code)


errors.register_renderer(PREFIX, render_error)
