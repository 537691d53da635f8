"""Export from the leads list: every lead matching the list's current filters, streamed as CSV or JSON
Lines through the exports service (the same file ``GET /v1/exports/contacts`` gives)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from starlette.responses import StreamingResponse

from leadhub.core.errors import FieldError, Invalid
from leadhub.exports import service as exports
from leadhub.web import render
from leadhub.web.context import Web, in_workspace
from leadhub.web.pages.leads import read_query

router = APIRouter(prefix="/app/{ws_id}", include_in_schema=False)
MEDIA = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


@router.get("/leads/export")
async def export_leads(request: Request, web: Web = Depends(in_workspace("contacts.read"))) -> StreamingResponse:
    """The list's own query string decides the rows (sort aside: an export runs in the listing's order)."""
    fmt = request.query_params.get("format", "csv")
    lq = read_query(request.query_params)
    errors = list(lq.errors)
    if fmt not in MEDIA:
        errors.append(FieldError("format", "enum", "must be one of: csv, jsonl", "string"))
    if errors:
        raise Invalid(errors)
    body = exports.stream(web.db, web.ws, "contacts", "csv" if fmt == "csv" else "jsonl", lq.filters)
    # The first page is read before the answer starts, so a bad filter is an error page, not a cut file.
    first = await anext(body, b"")

    async def chained() -> AsyncIterator[bytes]:
        yield first
        async for block in body:
            yield block

    return StreamingResponse(
        chained(),
        media_type=MEDIA[fmt],
        headers={**render.SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="leads.{fmt}"'},
    )
