"""Native privacy routes: export one person's data, erase by email/phone, unsubscribe, and the
suppression list. (Erasing by id is ``DELETE /v1/contacts/{id}?erase=true`` on the contacts router.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from leadhub.contacts import service as contacts
from leadhub.contacts.schemas import ConsentEntry, ContactIn, ContactOut
from leadhub.core import clock
from leadhub.core.errors import FieldError, Invalid, NotFound
from leadhub.core.pagination import MAX_LIMIT
from leadhub.core.validation import ValidationFailure, kind_of, normalize_email, normalize_phone
from leadhub.events.schemas import to_out as event_out
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS
from leadhub.privacy import service, suppression
from leadhub.privacy.schemas import (
    ErasureIn,
    ErasureOut,
    ExportOut,
    SuppressionIn,
    SuppressionList,
    SuppressionOut,
    UnsubscribeIn,
)
from leadhub.webhooks.api import delivery_out

router = APIRouter(tags=["privacy"], responses=ERRORS)
read = ctx_for("contacts.read")
write = ctx_for("contacts.write")
Digest = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The entry's SHA-256 digest")]


def _json(content: object, status: int = 200) -> Response:
    return Response(serialize(content), status_code=status, media_type="application/json")


def erasure_out(result: service.Erasure) -> ErasureOut:
    return ErasureOut(erased=result.contact_ids, events_scrubbed=result.events_scrubbed, suppressed=result.suppressed)


def suppress_default(ctx: Ctx, asked: bool | None) -> bool:
    return ctx.settings.suppress_erased if asked is None else asked


@router.get(
    "/v1/contacts/{contact_id}/export", response_model=ExportOut, summary="Everything held about one person (JSON)"
)
async def export_contact(contact_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        found = await service.export(session, ctx.workspace, contact_id)
        return _json(
            ExportOut(
                exported_at=clock.now(),
                contact=contacts.to_out(found.contact),
                events=[event_out(e) for e in found.events],
                webhook_deliveries=[delivery_out(d) for d in found.deliveries],
            )
        )


@router.post(
    "/v1/contacts/{contact_id}/unsubscribe",
    response_model=ContactOut,
    summary="Global unsubscribe: DND on, marketing consent withdrawn",
)
async def unsubscribe(contact_id: str, body: UnsubscribeIn, ctx: Ctx = Depends(write)) -> Response:
    """Sets `dnd` and records `consent.marketing` as withdrawn (with source, time and text version);
    outreach skips the contact from then on."""
    withdrawn = ConsentEntry(granted=False, source=body.source, recorded_at=clock.now(), text_version=body.text_version)
    data = ContactIn(dnd=True, consent={"marketing": withdrawn})
    async with ctx.write() as tx:
        contact = await contacts.patch(tx.session, ctx.workspace, ctx.actor, contact_id, data)
        return tx.respond(contacts.to_out(contact))


@router.post("/v1/privacy/erasures", response_model=ErasureOut, summary="Erase a person by email and/or phone")
async def erase_identity(body: ErasureIn, ctx: Ctx = Depends(write)) -> Response:
    """Erases every contact holding the email or phone, blanks events quoting them (also of contacts
    deleted earlier), and with `suppress` keeps them from being re-imported silently."""
    async with ctx.write() as tx:
        result = await service.erase_identity(
            tx.session, ctx.workspace, ctx.actor, body.email, body.phone, suppress=suppress_default(ctx, body.suppress)
        )
        return tx.respond(erasure_out(result))


@router.get("/v1/privacy/suppressions", response_model=SuppressionList, summary="The suppression list")
async def list_suppressions(
    ctx: Ctx = Depends(read),
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{64}$", description="`next_cursor` of the previous page")
    ] = None,
) -> Response:
    async with ctx.read() as session:
        rows = await suppression.page(session, ctx.workspace.id, limit, cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    return _json(
        SuppressionList(
            data=[SuppressionOut(digest=r.digest, kind=r.kind, reason=r.reason, created_at=r.created_at) for r in rows],
            next_cursor=rows[-1].digest if more else None,
            has_more=more,
        )
    )


@router.post(
    "/v1/privacy/suppressions",
    status_code=201,
    response_model=SuppressionOut,
    summary="Suppress an email or phone (only its digest is kept)",
)
async def add_suppression(body: SuppressionIn, ctx: Ctx = Depends(write)) -> Response:
    if (body.email is None) == (body.phone is None):
        raise Invalid([FieldError("email", "one_of", "give exactly one of email or phone", "null")])
    try:
        kind, value = (
            ("email", normalize_email(body.email))
            if body.email is not None
            else ("phone", normalize_phone(body.phone or "", ctx.workspace.default_region))
        )
    except ValidationFailure as exc:
        name = "email" if body.email is not None else "phone"
        raise Invalid([FieldError(name, exc.rule, exc.message, kind_of(body.email or body.phone))]) from None
    async with ctx.write() as tx:
        key = await suppression.add(tx.session, ctx.workspace.id, kind, value, "manual")
        row = await suppression.get(tx.session, ctx.workspace.id, key)
        assert row is not None
        return tx.respond(
            SuppressionOut(digest=row.digest, kind=row.kind, reason=row.reason, created_at=row.created_at),
            201,
        )


@router.delete("/v1/privacy/suppressions/{digest}", status_code=204, summary="Allow a suppressed email or phone again")
async def remove_suppression(digest: Digest, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        if not await suppression.remove(tx.session, ctx.workspace.id, digest):
            raise NotFound("suppression")
        return tx.respond(None, 204)
