"""Native /v1 contact routes: parse → one service call → render."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import ValidationError
from starlette.responses import Response

from leadhub.contacts import batch as batches
from leadhub.contacts import listing, lookup, service
from leadhub.contacts.schemas import (
    BatchIn,
    BatchOut,
    ContactIn,
    ContactList,
    ContactOut,
    Status,
    TagsIn,
)
from leadhub.core.errors import FieldError, Invalid, NotFound
from leadhub.core.pagination import MAX_LIMIT, PageRequest
from leadhub.core.validation import ValidationFailure, has_nul, kind_of, normalize_email, normalize_phone
from leadhub.events import service as events
from leadhub.events.schemas import EventList, event_page
from leadhub.http.context import IDEMPOTENCY_HEADER, Ctx, ctx_for, serialize
from leadhub.http.errors import pydantic_errors
from leadhub.http.openapi import ERRORS
from leadhub.privacy import service as privacy

router = APIRouter(prefix="/v1/contacts", tags=["contacts"], responses=ERRORS)
read = ctx_for("contacts.read")
write = ctx_for("contacts.write")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


def _json(content: object, status: int = 200) -> Response:
    return Response(serialize(content), status_code=status, media_type="application/json")


def _plain(content: dict[str, Any]) -> Response:
    # The read routes build ContactOut's JSON from plain rows (leadhub.contacts.listing.out_json).
    return Response(listing.out_json(content), media_type="application/json")


@router.post("", status_code=201, response_model=ContactOut, summary="Create a contact")
async def create_contact(body: ContactIn, ctx: Ctx = Depends(write)) -> Response:
    """409 when an email or phone already belongs to another contact (the answer names the field and
    the existing contact's id)."""
    if ctx.db.is_postgres and ctx.request.headers.get(IDEMPOTENCY_HEADER) is None:
        # The hot write: two statements and no session (a retry with a key replays through the unit of work).
        answer = await service.create_direct(ctx.db, ctx.workspace, ctx.actor, body)
        if answer is not None:
            return Response(answer, status_code=201, media_type="application/json")
    async with ctx.write() as tx:
        contact = await service.create(tx.session, ctx.workspace, ctx.actor, body)
        return tx.respond(service.to_out(contact), 201)


@router.get("", response_model=ContactList, summary="List and search contacts")
async def list_contacts(
    ctx: Ctx = Depends(read),
    limit: Limit = 50,
    cursor: Cursor = None,
    sort: Annotated[str, Query(description="created_at, -created_at, updated_at or -updated_at")] = "-created_at",
    status: Annotated[list[Status] | None, Query(description="Lifecycle status; repeat for any of several")] = None,
    source: str | None = None,
    tag: Annotated[list[str] | None, Query(description="Has this tag; repeat for all of several")] = None,
    email: str | None = None,
    phone: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    updated_after: datetime | None = None,
    updated_before: datetime | None = None,
    custom_field: Annotated[list[str] | None, Query(description="`key:value` equality; repeatable")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Search name, email, phone, company")] = None,
) -> Response:
    errors: list[FieldError] = []
    filters = service.ContactFilters(
        status=[str(s) for s in status or []],
        source=source,
        tags=tag or [],
        q=q,
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
        updated_before=updated_before,
    )
    try:
        filters.email = normalize_email(email) if email is not None else None
    except ValidationFailure as exc:
        errors.append(FieldError("email", exc.rule, exc.message, kind_of(email)))
    try:
        filters.phone = normalize_phone(phone, ctx.workspace.default_region) if phone is not None else None
    except ValidationFailure as exc:
        errors.append(FieldError("phone", exc.rule, exc.message, kind_of(phone)))
    for name, values in (
        ("status", status),
        ("source", [source]),
        ("tag", tag),
        ("custom_field", custom_field),
        ("q", [q]),
    ):
        # PostgreSQL cannot compare text holding U+0000; refuse it here rather than fail in the query.
        if any(v is not None and has_nul(v) for v in values or []):
            errors.append(FieldError(name, "nul_character", "must not contain the NUL character (U+0000)", "string"))
    for item in custom_field or []:
        key, sep, value = item.partition(":")
        if not sep or not key:
            errors.append(FieldError("custom_field", "format", "must be key:value", "string"))
        else:
            filters.custom_fields[key] = value
    if errors:
        raise Invalid(errors)
    async with ctx.read() as session:
        page = await listing.contact_page(session, ctx.workspace, filters, PageRequest(limit, cursor), sort)
    return _plain(page)


@router.post(
    "/upsert",
    response_model=ContactOut,
    summary="Create or update by email, then phone",
    responses={201: {"model": ContactOut, "description": "Created"}, 200: {"description": "Updated"}},
)
async def upsert_contact(body: ContactIn, ctx: Ctx = Depends(write)) -> Response:
    """Matches any of the body's emails, then any phone; updates the match (adding emails, phones and
    tags to its lists) or creates a contact. 201 when created, 200 when updated."""
    async with ctx.write() as tx:
        result = await service.upsert(tx.session, ctx.workspace, ctx.actor, body)
        return tx.respond(service.to_out(result.contact), 201 if result.created else 200)


@router.post("/batch", response_model=BatchOut, summary="Create or upsert up to 1,000 contacts")
async def batch_contacts(body: BatchIn, ctx: Ctx = Depends(write)) -> Response:
    """Each item is validated and answered on its own; one bad item does not sink the others."""
    items: list[ContactIn | Invalid] = []
    for raw in body.items:
        try:
            items.append(ContactIn.model_validate(raw))
        except ValidationError as exc:
            items.append(Invalid(pydantic_errors(list(exc.errors()))))
    await batches.keep_statistics(ctx.db, len(items))
    async with ctx.write() as tx:
        results = await batches.batch(tx.session, ctx.workspace, ctx.actor, items, body.mode)
        counts = {s: sum(1 for r in results if r.status == s) for s in ("created", "updated", "error")}
        return tx.respond(
            BatchOut(results=results, created=counts["created"], updated=counts["updated"], failed=counts["error"])
        )


@router.get("/lookup", response_model=ContactOut, summary="Find a contact by email or phone")
async def lookup_contact(ctx: Ctx = Depends(read), email: str | None = None, phone: str | None = None) -> Response:
    if (email is None) == (phone is None):
        raise Invalid([FieldError("email", "one_of", "give exactly one of email or phone", "null")])
    async with ctx.read() as session:
        if email is not None:
            found = await lookup.out_by_email(session, ctx.workspace, email)
        else:
            found = await lookup.out_by_phone(session, ctx.workspace, phone or "")
    if found is None:
        raise NotFound("contact")
    return _plain(found)


@router.get("/{contact_id}", response_model=ContactOut, summary="Get a contact")
async def get_contact(contact_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        found = await lookup.out_by_id(session, ctx.workspace, contact_id)
    return _plain(found)


@router.patch("/{contact_id}", response_model=ContactOut, summary="Update some fields of a contact")
async def patch_contact(contact_id: str, body: ContactIn, ctx: Ctx = Depends(write)) -> Response:
    """Absent fields stay; custom_fields merge key by key (null deletes a key); a given list replaces
    the list; `email`/`phone` alone replace the primary one."""
    async with ctx.write() as tx:
        contact = await service.patch(tx.session, ctx.workspace, ctx.actor, contact_id, body)
        return tx.respond(service.to_out(contact))


@router.delete("/{contact_id}", status_code=204, summary="Delete a contact")
async def delete_contact(
    contact_id: str,
    ctx: Ctx = Depends(write),
    erase: Annotated[
        bool, Query(description="Erase the person's data everywhere (events, webhook replies), not only the record")
    ] = False,
    suppress: Annotated[
        bool | None, Query(description="With erase: keep their emails/phones from being re-imported silently")
    ] = None,
) -> Response:
    async with ctx.write() as tx:
        if erase:  # leadhub.privacy: GDPR/CCPA erasure
            keep_out = ctx.settings.suppress_erased if suppress is None else suppress
            await privacy.erase(tx.session, ctx.workspace, ctx.actor, contact_id, suppress=keep_out)
        else:
            await service.delete(tx.session, ctx.workspace, ctx.actor, contact_id)
        return tx.respond(None, 204)


@router.post("/{contact_id}/tags", response_model=ContactOut, summary="Add tags")
async def add_tags(contact_id: str, body: TagsIn, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        contact = await service.add_tags(tx.session, ctx.workspace, ctx.actor, contact_id, body.tags)
        return tx.respond(service.to_out(contact))


@router.delete("/{contact_id}/tags", response_model=ContactOut, summary="Remove tags")
async def remove_tags(contact_id: str, body: TagsIn, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        contact = await service.remove_tags(tx.session, ctx.workspace, ctx.actor, contact_id, body.tags)
        return tx.respond(service.to_out(contact))


@router.get("/{contact_id}/timeline", response_model=EventList, summary="A contact's events, newest first")
async def contact_timeline(
    contact_id: str,
    ctx: Ctx = Depends(read),
    limit: Limit = 50,
    cursor: Cursor = None,
    type: Annotated[list[str] | None, Query(description="Event type, or prefix like `contact.*`")] = None,
) -> Response:
    async with ctx.read() as session:
        contact = await service.get(session, ctx.workspace, contact_id)
        page = await events.timeline(session, ctx.workspace.id, contact.id, PageRequest(limit, cursor), types=type)
        return _json(event_page(page))
