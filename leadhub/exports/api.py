"""Native /v1/exports routes: the listing's filters in, a streamed CSV or JSON Lines file out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import StreamingResponse

from leadhub.companies import service as companies
from leadhub.contacts import service as contacts
from leadhub.contacts.schemas import Status
from leadhub.core.errors import FieldError, Invalid
from leadhub.core.validation import ValidationFailure, has_nul, kind_of, normalize_email
from leadhub.deals import service as deals
from leadhub.deals.schemas import Status as DealStatus
from leadhub.exports import service
from leadhub.http.context import Ctx, ctx_for
from leadhub.http.openapi import ERRORS

router = APIRouter(prefix="/v1/exports", tags=["exports"], responses=ERRORS)
Fmt = Annotated[service.Format, Query(description="csv or jsonl")]
Text = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
_MEDIA = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {}, "application/x-ndjson": {}},
        "description": "The file, streamed: one row (CSV) or one JSON object (JSON Lines) per record",
    }
}


def _no_nul(**values: str | list[str] | None) -> None:
    bad = [
        FieldError(name, "nul_character", "must not contain the NUL character (U+0000)", "string")
        for name, value in values.items()
        if value is not None and any(has_nul(v) for v in (value if isinstance(value, list) else [value]))
    ]
    if bad:
        raise Invalid(bad)


async def _file(
    ctx: Ctx, resource: service.Resource, format: service.Format, filters: service.Filters
) -> StreamingResponse:
    body = service.stream(ctx.db, ctx.workspace, resource, format, filters)
    # The first page is read before the answer starts, so a bad filter is a 422, not a broken stream.
    first = await anext(body, b"")

    async def chained() -> AsyncIterator[bytes]:
        # Closed with the answer (a client gone away too): the export's connections go back to the pool then.
        async with aclosing(body):
            yield first
            async for block in body:
                yield block

    name = f"{resource}.{format}"
    return StreamingResponse(
        chained(),
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/contacts", summary="Export contacts (the list filters apply)", responses=_FILE)
async def export_contacts(
    ctx: Ctx = Depends(ctx_for("contacts.read")),
    format: Fmt = "csv",
    status: Annotated[list[Status] | None, Query()] = None,
    source: Text = None,
    tag: Annotated[list[str] | None, Query()] = None,
    email: Text = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    updated_after: datetime | None = None,
    updated_before: datetime | None = None,
    q: Text = None,
) -> StreamingResponse:
    _no_nul(source=source, tag=tag, email=email, q=q)
    filters = contacts.ContactFilters(
        status=[str(s) for s in status or []],
        source=source,
        tags=tag or [],
        q=q,
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
        updated_before=updated_before,
    )
    if email is not None:
        try:
            filters.email = normalize_email(email)
        except ValidationFailure as exc:
            raise Invalid([FieldError("email", exc.rule, exc.message, kind_of(email))]) from None
    return await _file(ctx, "contacts", format, filters)


@router.get("/companies", summary="Export companies (the list filters apply)", responses=_FILE)
async def export_companies(
    ctx: Ctx = Depends(ctx_for("companies.read")),
    format: Fmt = "csv",
    q: Text = None,
    industry: Text = None,
    country: Text = None,
) -> StreamingResponse:
    _no_nul(q=q, industry=industry, country=country)
    return await _file(ctx, "companies", format, companies.CompanyFilters(q=q, industry=industry, country=country))


@router.get("/deals", summary="Export deals (the list filters apply)", responses=_FILE)
async def export_deals(
    ctx: Ctx = Depends(ctx_for("deals.read")),
    format: Fmt = "csv",
    stage: Annotated[list[str] | None, Query()] = None,
    status: Annotated[list[DealStatus] | None, Query()] = None,
    q: Text = None,
) -> StreamingResponse:
    _no_nul(stage=stage, q=q)
    return await _file(
        ctx,
        "deals",
        format,
        deals.DealFilters(stage=stage or [], status=[str(x) for x in status or []], q=q),
    )
