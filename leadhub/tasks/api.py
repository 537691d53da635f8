"""Native /v1/tasks routes, and the same tasks nested under a deal and a contact."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from leadhub.core import clock
from leadhub.core.pagination import MAX_LIMIT, Page, PageRequest
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS
from leadhub.tasks import service
from leadhub.tasks.models import Task
from leadhub.tasks.schemas import Status, TaskIn, TaskList, TaskOut

router = APIRouter(tags=["tasks"], responses=ERRORS)
read = ctx_for("tasks.read")
write = ctx_for("tasks.write")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


def _json(content: object, status: int = 200) -> Response:
    return Response(serialize(content), status_code=status, media_type="application/json")


class _Filters:
    """The listing's query parameters, shared by the flat and nested routes."""

    def __init__(
        self,
        limit: Limit = 50,
        cursor: Cursor = None,
        status: Status | None = None,
        overdue: Annotated[bool | None, Query(description="Pending and past due (by the clock now)")] = None,
        due_before: Annotated[datetime | None, Query(description="Due strictly before this time")] = None,
        due_after: Annotated[datetime | None, Query(description="Due at or after this time")] = None,
        assignee: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
    ) -> None:
        self.page = PageRequest(limit, cursor)
        self.filters = service.TaskFilters(
            status=status, overdue=overdue, due_before=due_before, due_after=due_after, assignee=assignee
        )


def _page(page: Page[Task]) -> Response:
    now = clock.now()
    return _json(
        TaskList(
            data=[service.to_out(t, now) for t in page.items], next_cursor=page.next_cursor, has_more=page.has_more
        )
    )


@router.post("/v1/tasks", status_code=201, response_model=TaskOut, summary="Create a task")
async def create_task(body: TaskIn, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        task = await service.create(tx.session, ctx.workspace, ctx.actor, body)
        return tx.respond(service.to_out(task), 201)


@router.get("/v1/tasks", response_model=TaskList, summary="List tasks")
async def list_tasks(
    params: _Filters = Depends(),
    ctx: Ctx = Depends(read),
    deal_id: Annotated[str | None, Query(max_length=64)] = None,
    contact_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    async with ctx.read() as session:
        if deal_id is not None:
            params.filters.deal_id = await service.live_deal(session, ctx.workspace.id, deal_id)
        if contact_id is not None:
            params.filters.contact_id = await service.contact_ref(session, ctx.workspace.id, contact_id)
        return _page(await service.list_tasks(session, ctx.workspace, params.filters, params.page))


@router.get("/v1/tasks/{task_id}", response_model=TaskOut, summary="Get a task")
async def get_task(task_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        return _json(service.to_out(await service.get(session, ctx.workspace, task_id)))


@router.patch("/v1/tasks/{task_id}", response_model=TaskOut, summary="Update a task; `status` completes or reopens")
async def patch_task(task_id: str, body: TaskIn, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        task = await service.patch(tx.session, ctx.workspace, ctx.actor, task_id, body)
        return tx.respond(service.to_out(task))


@router.delete("/v1/tasks/{task_id}", status_code=204, summary="Delete a task")
async def delete_task(task_id: str, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        await service.delete(tx.session, ctx.workspace, ctx.actor, task_id)
        return tx.respond(None, 204)


@router.get("/v1/deals/{deal_id}/tasks", response_model=TaskList, summary="A deal's tasks")
async def deal_tasks(deal_id: str, params: _Filters = Depends(), ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        params.filters.deal_id = await service.live_deal(session, ctx.workspace.id, deal_id)
        return _page(await service.list_tasks(session, ctx.workspace, params.filters, params.page))


@router.post("/v1/deals/{deal_id}/tasks", status_code=201, response_model=TaskOut, summary="Add a task to a deal")
async def create_deal_task(deal_id: str, body: TaskIn, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        await service.live_deal(tx.session, ctx.workspace.id, deal_id)
        data = body.model_copy(update={"deal_id": deal_id})
        task = await service.create(tx.session, ctx.workspace, ctx.actor, data)
        return tx.respond(service.to_out(task), 201)


@router.get("/v1/contacts/{contact_id}/tasks", response_model=TaskList, summary="A contact's tasks")
async def contact_tasks(contact_id: str, params: _Filters = Depends(), ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        params.filters.contact_id = await service.contact_ref(session, ctx.workspace.id, contact_id)
        return _page(await service.list_tasks(session, ctx.workspace, params.filters, params.page))


@router.post(
    "/v1/contacts/{contact_id}/tasks", status_code=201, response_model=TaskOut, summary="Add a task to a contact"
)
async def create_contact_task(contact_id: str, body: TaskIn, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        await service.contact_ref(tx.session, ctx.workspace.id, contact_id)
        data = body.model_copy(update={"contact_id": contact_id})
        task = await service.create(tx.session, ctx.workspace, ctx.actor, data)
        return tx.respond(service.to_out(task), 201)
