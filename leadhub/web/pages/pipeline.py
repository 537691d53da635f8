"""The pipeline board (deals as cards in stage columns; drag and drop, or the cards' move buttons from the
keyboard), a deal's page, and My tasks — over the deals, pipelines and tasks services of issue 10."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from leadhub import uow
from leadhub.core import clock
from leadhub.core.errors import DomainError
from leadhub.core.pagination import PageRequest
from leadhub.deals import service as deals
from leadhub.deals.schemas import DealIn
from leadhub.pipelines import service as pipelines
from leadhub.tasks import service as tasks
from leadhub.tasks.schemas import TaskIn
from leadhub.web import forms, messages, render
from leadhub.web.context import Web, in_workspace

router = APIRouter(prefix="/app/{ws_id}", include_in_schema=False)
BOARD_LIMIT = 200


@router.get("/pipeline")
async def board(
    request: Request,
    pipeline: str | None = None,
    owner: str | None = None,
    web: Web = Depends(in_workspace("deals.read")),
) -> Response:
    owner = (owner or "").strip()[:100] or None
    async with uow.unit_of_work(web.db) as session:
        # The default pipeline is made on first use (a write), as the API's summary does.
        chosen = (
            await pipelines.get(session, web.ws, pipeline)
            if pipeline
            else await pipelines.ensure_default(session, web.ws, web.actor)
        )
        every = await pipelines.list_pipelines(session, web.ws)
        filters = deals.DealFilters(pipeline_id=chosen.public_id, status=["active"], owner=owner)
        page = await deals.list_deals(session, web.ws, filters, PageRequest(BOARD_LIMIT))
        summary = await deals.summary(session, web.ws, web.actor, chosen.public_id, ["active"])
        stages = [(s.key, s.name) for s in chosen.stages]
        cards = [deals.to_out(d) for d in page.items]
    columns: list[dict[str, Any]] = []
    totals = {s.key: s for s in summary.stages}
    for index, (key, name) in enumerate(stages):
        columns.append(
            {
                "key": key,
                "name": name,
                "deals": [d for d in cards if d.stage == key],
                "summary": totals.get(key),
                "previous": stages[index - 1][0] if index > 0 else None,
                "next": stages[index + 1][0] if index + 1 < len(stages) else None,
            }
        )
    notice = messages.t("board.moved") if request.query_params.get("notice") == "moved" else None
    return render.html(
        "pipeline/board.html",
        web.page(
            title=messages.t("board.title"),
            section="pipeline",
            columns=columns,
            pipelines=every,
            chosen=chosen,
            owner=owner or "",
            notice=notice,
            truncated=page.has_more,
        ),
    )


@router.post("/deals/{deal_id}/move")
async def move(deal_id: str, request: Request, web: Web = Depends(in_workspace("deals.write"))) -> Response:
    form = await request.form()
    back = forms.text(form, "back", 500)
    try:
        # The card's form holds its current stage and a button per move: the pressed button's value comes last.
        stage = (forms.texts(form, "stage") or [""])[-1][:100]
        change = forms.parse(DealIn, {"stage": stage})
        async with uow.unit_of_work(web.db) as session:
            await deals.patch(session, web.ws, web.actor, deal_id, change)
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        return render.html(
            "error.html",
            web.page(title=messages.t("error.title.422"), detail="; ".join(forms.problems(exc).summary), problems=[]),
            status=exc.status,
        )
    query = back if back.startswith("pipeline=") or back.startswith("owner=") else ""
    target = f"{web.base()}/pipeline?{'&'.join(p for p in (query, 'notice=moved') if p)}"
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/deals/{deal_id}")
async def deal_page(deal_id: str, web: Web = Depends(in_workspace("deals.read"))) -> Response:
    async with web.db.read_session() as session:
        deal = await deals.get(session, web.ws, deal_id)
        history = await deals.stage_history(session, web.ws, deal_id)
        now = clock.now()
        items = await tasks.list_tasks(session, web.ws, tasks.TaskFilters(deal_id=deal.id), PageRequest(50))
        out = deals.to_out(deal)
    return render.html(
        "pipeline/deal.html",
        web.page(
            title=out.name,
            section="pipeline",
            deal=out,
            history=history,
            tasks=[tasks.to_out(t, now) for t in items.items],
        ),
    )


def _day_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


@router.get("/tasks")
async def my_tasks(request: Request, web: Web = Depends(in_workspace("tasks.read"))) -> Response:
    """Pending tasks assigned to me (by my email): overdue, due today, upcoming."""
    now = clock.now()
    start, end = _day_bounds(now)
    mine = web.user.email
    groups: list[tuple[str, list[Any]]] = []
    async with web.db.read_session() as session:
        for label, filters in (
            ("tasks.overdue", tasks.TaskFilters(status="pending", overdue=True, assignee=mine)),
            (
                "tasks.today",
                tasks.TaskFilters(status="pending", overdue=False, due_after=start, due_before=end, assignee=mine),
            ),
            ("tasks.upcoming", tasks.TaskFilters(status="pending", due_after=end, assignee=mine)),
        ):
            page = await tasks.list_tasks(session, web.ws, filters, PageRequest(100))
            groups.append((label, [tasks.to_out(t, now) for t in page.items]))
    notice = messages.t("tasks.completed") if request.query_params.get("notice") == "done" else None
    return render.html(
        "pipeline/tasks.html", web.page(title=messages.t("tasks.title"), section="tasks", groups=groups, notice=notice)
    )


@router.post("/tasks/{task_id}/complete")
async def complete(task_id: str, web: Web = Depends(in_workspace("tasks.write"))) -> Response:
    async with uow.unit_of_work(web.db) as session:
        await tasks.patch(session, web.ws, web.actor, task_id, TaskIn(status="completed"))
    return RedirectResponse(f"{web.base()}/tasks?notice=done", status_code=303)
