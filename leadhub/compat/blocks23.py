"""23blocks CRM Leads API (seed 003), mounted at /compat/23blocks (the client's ``BLOCKS_API_URL``).

A 23blocks "lead" is a leadhub deal; its "follows" are the deal's tasks. JSON:API documents out
(``data``/``id``/``type``/``attributes``/``relationships``/``meta``), ``{"lead": …}`` / ``{"follow": …}``
bodies in, ids as bare UUIDs (the same rows' ``deal_…`` / ``task_…`` ids resolve natively), numbered
pages (``page`` / ``records``), errors as ``{"errors": [{status, code, title, detail, source}]}``.

Every call needs both credentials: ``Authorization: Bearer <key>`` and ``AppId`` (or ``x-api-key``), which
names the workspace (``ws_…`` or its UUID) and must be one the key may act in.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from leadhub.auth import service as auth
from leadhub.compat.common import InvalidJson, bearer_token, parse, renamed
from leadhub.contacts import service as contacts
from leadhub.contacts.models import Contact
from leadhub.contacts.schemas import STATUSES as CONTACT_STATUSES
from leadhub.contacts.schemas import ContactIn
from leadhub.core import ids
from leadhub.core.errors import Conflict, DomainError, FieldError, Invalid, NotFound, Unauthenticated
from leadhub.deals import service as deals
from leadhub.deals.models import Deal
from leadhub.deals.schemas import STATUSES as DEAL_STATUSES
from leadhub.deals.schemas import DealIn
from leadhub.http import errors
from leadhub.http.context import Ctx, authenticate_request, serialize
from leadhub.tasks import service as tasks
from leadhub.tasks.models import Task
from leadhub.tasks.schemas import TaskIn

PREFIX = "/compat/23blocks"
DOOR = "compat:23blocks"
MEDIA_TYPE = "application/vnd.api+json"
DEFAULT_RECORDS = 15
MAX_RECORDS = 100


class JsonApiResponse(JSONResponse):
    """Declares JSON:API's media type in the OpenAPI document, as the door answers it."""

    media_type = MEDIA_TYPE


# The door's error document, declared once so every client error is documented with JSON:API's media type
# (instead of FastAPI's default application/json validation answer).
_ERRORS_DOCUMENT: dict[str, Any] = {
    "type": "object",
    "required": ["errors"],
    "properties": {"errors": {"type": "array", "items": {"type": "object"}}},
}
router = APIRouter(
    prefix=PREFIX,
    tags=["compat: 23blocks"],
    default_response_class=JsonApiResponse,
    responses={422: {"description": "Invalid data", "content": {MEDIA_TYPE: {"schema": _ERRORS_DOCUMENT}}}},
)

_LEAD_FIELDS = ("name", "source", "value", "stage", "probability", "currency", "expected_close_date", "notes")
# The client library's person-shaped lead: these become the deal's linked contact.
_PERSON = {
    "first_name": "first_name",
    "middle_name": "middle_name",
    "last_name": "last_name",
    "lead_email": "email",
    "phone_number": "phone",
    "web_site": "website",
}
_SOCIAL = ("twitter", "facebook", "instagram", "linkedin", "youtube", "tiktok", "github", "skype", "whatsapp")
# Lead attributes with no canonical home: kept in the deal's custom fields under their own names.
_KEPT = ("tags", "payload", "enabled", *_SOCIAL)
_LEAD_RENAMES = {"company_id": "account_id", "email": "lead_email", "phone": "phone_number", "website": "web_site"}
_FOLLOW_RENAMES = {"due_at": "due_date"}
_OWNER_FIELDS = ("owner", "owner_id", "owner_name", "owner_email", "assigned_to", "assignee")


class SlashTolerance:
    """Answer ``/leads/``, ``/leads`` and ``//leads`` alike under the prefix: clients build URLs by
    joining ``BLOCKS_API_URL`` and a path, and the page itself writes both trailing forms."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX + "/"):
            path = PREFIX + (re.sub(r"/{2,}", "/", scope["path"][len(PREFIX) :]).rstrip("/") or "")
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


# ---------------------------------------------------------------- wire helpers


def timestamp(value: datetime | None) -> str | None:
    """``2026-01-10T10:30:00Z``, as the page writes times."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def number(value: str | None) -> int | float | None:
    """A decimal string as the JSON number the page shows (``50000``, ``65000.5``)."""
    if value is None:
        return None
    amount = Decimal(value)
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _uuid(key: uuid.UUID | None) -> str | None:
    return None if key is None else str(key)


def document(data: Any, status: int = 200, meta: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"data": data}
    if meta is not None:
        body["meta"] = meta
    return Response(serialize(body), status_code=status, media_type=MEDIA_TYPE)


def page_meta(total: int, page: int, records: int) -> dict[str, Any]:
    pages = (total + records - 1) // records
    return {
        "totalPages": pages,
        "totalRecords": total,
        "current_page": page,
        "total_pages": pages,
        "total_count": total,
        "per_page": records,
    }


async def read_body(request: Request, wrapper: str) -> dict[str, Any]:
    """The attributes of a ``{"<wrapper>": {…}}`` body (a JSON:API ``data.attributes`` document or a bare
    object are read too). Decimals stay exact: JSON numbers with a fraction are read as decimals."""
    raw = await request.body()
    try:
        data = json.loads(raw, parse_float=Decimal) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise InvalidJson("The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidJson("The request body must be a JSON object")
    if isinstance(data.get(wrapper), dict):
        inner: dict[str, Any] = data[wrapper]
    elif isinstance(data.get("data"), dict) and isinstance(data["data"].get("attributes"), dict):
        inner = data["data"]["attributes"]
    else:
        inner = data
    request.state.blocks23_wrapper = wrapper if wrapper in data else ("data/attributes" if "data" in data else "")
    return inner


async def _ctx(request: Request, scope: str) -> Ctx:
    app_id = request.headers.get("appid") or request.headers.get("x-api-key")
    if not app_id:
        raise Unauthenticated("Both credentials are required: 'Authorization: Bearer …' and 'AppId'")
    try:
        return await authenticate_request(request, bearer_token(request), app_id.strip(), scope, DOOR)
    except NotFound:
        raise Unauthenticated("The AppId does not name a workspace of this token") from None


# ---------------------------------------------------------------- leads: mapping


def _amount(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def to_deal(attrs: dict[str, Any], current: dict[str, Any] | None = None) -> tuple[DealIn, ContactIn | None]:
    """The canonical deal (and the person, when the lead is person-shaped) of a lead body."""
    data: dict[str, Any] = {name: _amount(attrs[name]) for name in _LEAD_FIELDS if name in attrs}
    if "account_id" in attrs:
        data["company_id"] = attrs["account_id"]
    if "contact_id" in attrs:
        data["contact_id"] = attrs["contact_id"]
    for owner in ("owner", "owner_id"):
        if owner in attrs:
            data["owner"] = attrs[owner]
    person: dict[str, Any] = {canonical: attrs[vendor] for vendor, canonical in _PERSON.items() if vendor in attrs}
    if "contact_status" in attrs:
        person["status"] = attrs["contact_status"]
    status = attrs.get("status")
    if status is not None:
        if status in DEAL_STATUSES:
            data["status"] = status
        elif person and status in CONTACT_STATUSES:
            person["status"] = status
        else:
            allowed = ", ".join(DEAL_STATUSES)
            raise Invalid([FieldError("status", "enum", f"must be one of: {allowed}", "string")])
    kept = {name: attrs[name] for name in _KEPT if name in attrs}
    if kept:
        data["custom_fields"] = kept
    try:
        deal = parse(DealIn, data)
        contact = parse(ContactIn, person) if person else None
    except Invalid as exc:
        raise Invalid(renamed(exc.errors, _LEAD_RENAMES)) from None
    return deal, contact


def lead(deal: Deal, contact: Contact | None) -> dict[str, Any]:
    out = deals.to_out(deal)
    company = _uuid(deal.company_id)
    person = _uuid(deal.contact_id)
    attributes: dict[str, Any] = {
        "unique_id": str(deal.id),
        "name": out.name,
        "source": out.source,
        "account_id": company,
        "contact_id": person,
        "value": number(out.value),
        "currency": out.currency,
        "stage": out.stage,
        "probability": out.probability,
        "status": out.status,
        "expected_close_date": out.expected_close_date.isoformat() if out.expected_close_date else None,
        "owner_id": out.owner,
        "notes": out.notes,
        "created_at": timestamp(out.created_at),
        "updated_at": timestamp(out.updated_at),
    }
    if deal.deleted_at is not None:
        attributes["deleted_at"] = timestamp(deal.deleted_at)
    if contact is not None:
        for vendor, value in (
            ("first_name", contact.first_name),
            ("middle_name", contact.middle_name),
            ("last_name", contact.last_name),
            ("lead_email", contact.primary_email),
            ("phone_number", contact.primary_phone),
            ("web_site", contact.website),
            ("contact_status", contact.status),
        ):
            if value is not None:
                attributes[vendor] = value
    for name in _KEPT:
        if name in out.custom_fields:
            attributes[name] = out.custom_fields[name]
    return {
        "id": str(deal.id),
        "type": "lead",
        "attributes": attributes,
        "relationships": {
            "account": {"data": {"id": company, "type": "account"} if company else None},
            "contact": {"data": {"id": person, "type": "contact"} if person else None},
        },
    }


async def _linked_contact(ctx: Ctx, session: AsyncSession, deal: Deal) -> Contact | None:
    if deal.contact_id is None:
        return None
    return await session.get(Contact, (ctx.workspace.id, deal.contact_id))


async def _person(ctx: Ctx, session: AsyncSession, person: ContactIn, linked: str | None) -> Contact:
    """The lead's person: the linked contact updated, or found by email/phone (else created)."""
    auth.require_scope(ctx.principal, "contacts.write")
    if linked is not None:
        return await contacts.patch(session, ctx.workspace, ctx.actor, linked, person)
    if person.email or person.phone:
        return (await contacts.upsert(session, ctx.workspace, ctx.actor, person)).contact
    return await contacts.create(session, ctx.workspace, ctx.actor, person)


# ---------------------------------------------------------------- leads: routes


async def _lead_page(request: Request, deleted: bool, page: int, records: int, **filters: Any) -> Response:
    ctx = await _ctx(request, "deals.read")
    if filters.get("status") is not None and filters["status"] not in DEAL_STATUSES:
        raise Invalid([FieldError("status", "enum", f"must be one of: {', '.join(DEAL_STATUSES)}", "string")])
    wanted = deals.DealFilters(
        status=[filters["status"]] if filters.get("status") else [],
        source=filters.get("source"),
        q=filters.get("search"),
        deleted=deleted,
    )
    async with ctx.read() as session:
        rows, total = await deals.numbered_page(
            session, ctx.workspace, wanted, page, records, filters.get("sort") or "-created_at"
        )
        data = [lead(d, await _linked_contact(ctx, session, d)) for d in rows]
        return document(data, meta=page_meta(total, page, records))


Page = Annotated[int, Query(ge=1, le=1_000_000, description="Page number (from 1)")]
Records = Annotated[int, Query(ge=1, le=MAX_RECORDS, description=f"Items per page (at most {MAX_RECORDS})")]
Filter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]


@router.get("/leads", summary="List leads")
async def list_leads(
    request: Request,
    page: Page = 1,
    records: Records = DEFAULT_RECORDS,
    status: Filter = None,
    source: Filter = None,
    search: Filter = None,
    sort: Annotated[str | None, Query(max_length=40, description="`field` or `-field`")] = None,
) -> Response:
    return await _lead_page(request, False, page, records, status=status, source=source, search=search, sort=sort)


@router.get("/leads/trash/show", summary="List deleted leads")
async def list_deleted_leads(request: Request, page: Page = 1, records: Records = DEFAULT_RECORDS) -> Response:
    return await _lead_page(request, True, page, records)


@router.post("/leads", status_code=201, summary="Create a lead")
async def create_lead(request: Request) -> Response:
    ctx = await _ctx(request, "deals.write")
    data, person = to_deal(await read_body(request, "lead"))
    async with ctx.write() as tx:
        contact = None
        if person is not None:
            contact = await _person(ctx, tx.session, person, data.contact_id)
            changes: dict[str, Any] = {"contact_id": contact.public_id}
            if not data.name:
                changes["name"] = contact.name or "Lead"
            data = data.model_copy(update=changes)
        deal = await deals.create(tx.session, ctx.workspace, ctx.actor, data)
        contact = contact or await _linked_contact(ctx, tx.session, deal)
        body = {"data": lead(deal, contact)}
        return tx.respond(body, 201, media_type=MEDIA_TYPE)


@router.get("/leads/{unique_id}", summary="Get a lead")
async def get_lead(unique_id: str, request: Request) -> Response:
    ctx = await _ctx(request, "deals.read")
    async with ctx.read() as session:
        deal = await deals.get(session, ctx.workspace, unique_id)
        return document(lead(deal, await _linked_contact(ctx, session, deal)))


@router.put("/leads/{unique_id}", summary="Update a lead")
async def update_lead(unique_id: str, request: Request) -> Response:
    ctx = await _ctx(request, "deals.write")
    data, person = to_deal(await read_body(request, "lead"))
    async with ctx.write() as tx:
        deal = await deals.get(tx.session, ctx.workspace, unique_id)
        if person is not None:
            linked = data.contact_id or (ids.encode(ids.CONTACT, deal.contact_id) if deal.contact_id else None)
            contact = await _person(ctx, tx.session, person, linked)
            data = data.model_copy(update={"contact_id": contact.public_id})
        deal = await deals.patch(tx.session, ctx.workspace, ctx.actor, deal.public_id, data)
        body = {"data": lead(deal, await _linked_contact(ctx, tx.session, deal))}
        return tx.respond(body, media_type=MEDIA_TYPE)


@router.delete("/leads/{unique_id}", status_code=204, summary="Delete a lead (restorable)")
async def delete_lead(unique_id: str, request: Request) -> Response:
    ctx = await _ctx(request, "deals.write")
    async with ctx.write() as tx:
        await deals.delete(tx.session, ctx.workspace, ctx.actor, unique_id)
        return tx.respond(None, 204, media_type=MEDIA_TYPE)


@router.put("/leads/{unique_id}/recover", summary="Restore a deleted lead")
async def recover_lead(unique_id: str, request: Request) -> Response:
    ctx = await _ctx(request, "deals.write")
    async with ctx.write() as tx:
        deal = await deals.restore(tx.session, ctx.workspace, ctx.actor, unique_id)
        body = {"data": lead(deal, await _linked_contact(ctx, tx.session, deal))}
        return tx.respond(body, media_type=MEDIA_TYPE)


# ---------------------------------------------------------------- follows


def to_task(attrs: dict[str, Any]) -> TaskIn:
    """The canonical task of a follow body: ``code`` → title, ``notes`` → description, ``next_action_at``
    → due date, owner fields → assignee; ``overdue`` as a status means still pending."""
    data: dict[str, Any] = {}
    for canonical, names in (
        ("title", ("title", "code")),
        ("description", ("description", "notes")),
        ("due_at", ("due_date", "next_action_at")),
        ("assignee", _OWNER_FIELDS),
    ):
        for name in names:
            if name in attrs:
                data[canonical] = attrs[name]
                break
    if "status" in attrs:
        data["status"] = "pending" if attrs["status"] == "overdue" else attrs["status"]
    if "reminder" in attrs:
        data["custom_fields"] = {"reminder": attrs["reminder"]}
    try:
        return parse(TaskIn, data)
    except Invalid as exc:
        raise Invalid(renamed(exc.errors, _FOLLOW_RENAMES)) from None


def follow(task: Task, now: datetime | None = None) -> dict[str, Any]:
    out = tasks.to_out(task, now)
    attributes = {
        "unique_id": str(task.id),
        "title": out.title,
        "code": out.title,
        "description": out.description,
        "notes": out.description,
        "due_date": timestamp(out.due_at),
        "next_action_at": timestamp(out.due_at),
        "status": "overdue" if out.overdue else out.status,
        "overdue": out.overdue,
        "completed_at": timestamp(out.completed_at),
        "owner_id": out.assignee,
        "lead_unique_id": _uuid(task.deal_id),
        "created_at": timestamp(out.created_at),
        "updated_at": timestamp(out.updated_at),
    }
    if "reminder" in out.custom_fields:
        attributes["reminder"] = out.custom_fields["reminder"]
    return {"id": str(task.id), "type": "follow", "attributes": attributes}


@router.get("/leads/{unique_id}/follows", summary="List a lead's follows")
async def list_follows(
    unique_id: str, request: Request, page: Page = 1, records: Records = DEFAULT_RECORDS
) -> Response:
    ctx = await _ctx(request, "tasks.read")
    async with ctx.read() as session:
        deal_key = await tasks.live_deal(session, ctx.workspace.id, unique_id)
        rows, total = await tasks.numbered_page(
            session, ctx.workspace, tasks.TaskFilters(deal_id=deal_key), page, records
        )
        return document([follow(t) for t in rows], meta=page_meta(total, page, records))


@router.get("/leads/{unique_id}/follows/{follow_id}", summary="Get a follow")
async def get_follow(unique_id: str, follow_id: str, request: Request) -> Response:
    ctx = await _ctx(request, "tasks.read")
    async with ctx.read() as session:
        deal_key = await tasks.live_deal(session, ctx.workspace.id, unique_id)
        return document(follow(await tasks.get(session, ctx.workspace, follow_id, deal_id=deal_key)))


@router.post("/leads/{unique_id}/follows", status_code=201, summary="Create a follow")
async def create_follow(unique_id: str, request: Request) -> Response:
    ctx = await _ctx(request, "tasks.write")
    data = to_task(await read_body(request, "follow"))
    async with ctx.write() as tx:
        deal_key = await tasks.live_deal(tx.session, ctx.workspace.id, unique_id)
        data = data.model_copy(update={"deal_id": ids.encode(ids.DEAL, deal_key)})
        task = await tasks.create(tx.session, ctx.workspace, ctx.actor, data)
        return tx.respond({"data": follow(task)}, 201, media_type=MEDIA_TYPE)


@router.put("/leads/{unique_id}/follows/{follow_id}", summary="Update a follow")
async def update_follow(unique_id: str, follow_id: str, request: Request) -> Response:
    ctx = await _ctx(request, "tasks.write")
    data = to_task(await read_body(request, "follow"))
    async with ctx.write() as tx:
        deal_key = await tasks.live_deal(tx.session, ctx.workspace.id, unique_id)
        task = await tasks.patch(tx.session, ctx.workspace, ctx.actor, follow_id, data, deal_id=deal_key)
        return tx.respond({"data": follow(task)}, media_type=MEDIA_TYPE)


@router.delete("/leads/{unique_id}/follows/{follow_id}", status_code=204, summary="Delete a follow")
async def delete_follow(unique_id: str, follow_id: str, request: Request) -> Response:
    ctx = await _ctx(request, "tasks.write")
    async with ctx.write() as tx:
        deal_key = await tasks.live_deal(tx.session, ctx.workspace.id, unique_id)
        await tasks.delete(tx.session, ctx.workspace, ctx.actor, follow_id, deal_id=deal_key)
        return tx.respond(None, 204, media_type=MEDIA_TYPE)


# ---------------------------------------------------------------- errors

_NOT_FOUND = {
    "deal": ("Lead Not Found", "The requested lead could not be found."),
    "task": ("Follow Not Found", "The requested follow could not be found."),
    "contact": ("Contact Not Found", "The requested contact could not be found."),
}
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 409: "Conflict", 422: "Unprocessable Entity"}


def _entry(status: int, code: str, title: str, detail: str, source: dict[str, str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": str(status), "code": code, "title": title, "detail": detail}
    if source is not None:
        entry["source"] = source
    return entry


def _source(request: Request, field: str) -> dict[str, str]:
    """A JSON pointer into the request document for a body field; the parameter name for a query one."""
    wrapper = getattr(request.state, "blocks23_wrapper", None)
    if wrapper is None:
        return {"parameter": field}
    return {"pointer": f"/{wrapper}/{field.replace('.', '/')}" if wrapper else f"/{field.replace('.', '/')}"}


def render_error(request: Request, exc: DomainError) -> Response:
    """The page's ``errors[]`` body; a field error points into the request document (``/lead/name``), or
    names the query parameter."""
    if isinstance(exc, Invalid):
        names = _FOLLOW_RENAMES if "/follows" in request.url.path else _LEAD_RENAMES
        entries = [
            _entry(
                422,
                "validation_error",
                "Validation Error",
                f"{e.field} {e.message}" if e.message[:1].islower() else f"{e.field}: {e.message}",
                _source(request, e.field),
            )
            for e in renamed(exc.errors, names)
        ]
        status = 422
    elif isinstance(exc, NotFound) and exc.resource in _NOT_FOUND:
        title, detail = _NOT_FOUND[exc.resource]
        entries, status = [_entry(404, "not_found", title, detail)], 404
    elif isinstance(exc, Conflict):
        field = _LEAD_RENAMES.get(exc.field, exc.field)
        detail = exc.detail.replace(exc.field, field)
        entries, status = [_entry(409, exc.code, "Conflict", detail, _source(request, field))], 409
    else:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(exc.status, exc.code)
        entries, status = [_entry(exc.status, code, _TITLES.get(exc.status, exc.title), exc.detail)], exc.status
    return Response(serialize({"errors": entries}), status_code=status, media_type=MEDIA_TYPE)


errors.register_renderer(PREFIX, render_error)
