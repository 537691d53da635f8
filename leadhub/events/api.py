"""Native /v1/events: the workspace's event log, oldest first for tailing (or newest first)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from leadhub.core.pagination import MAX_LIMIT, PageRequest
from leadhub.events import service
from leadhub.events.schemas import EventList, event_page
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS

router = APIRouter(prefix="/v1/events", tags=["events"], responses=ERRORS)


@router.get("", response_model=EventList, summary="List events")
async def list_events(
    ctx: Ctx = Depends(ctx_for("events.read")),
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
    type: Annotated[list[str] | None, Query(description="Event type, or prefix like `contact.*`")] = None,
    order: Literal["asc", "desc"] = "asc",
) -> Response:
    async with ctx.read() as session:
        page = await service.list_events(
            session, ctx.workspace.id, PageRequest(limit, cursor), types=type, newest_first=order == "desc"
        )
        return Response(serialize(event_page(page)), media_type="application/json")
