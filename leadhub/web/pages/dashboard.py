"""The dashboard: new leads per day by source, the conversion funnel, pipeline value by stage, overdue
tasks and webhook delivery health — aggregates from the services, drawn server-side as SVG."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from leadhub import uow
from leadhub.campaigns import service as campaigns
from leadhub.core import clock
from leadhub.core.pagination import PageRequest
from leadhub.deals import service as deals
from leadhub.reports import service as reports
from leadhub.tasks import service as tasks
from leadhub.web import charts, messages, render
from leadhub.web.context import Web, in_workspace

router = APIRouter(prefix="/app/{ws_id}", include_in_schema=False)
# Active campaigns shown with their queues (each costs one count query).
DASHBOARD_CAMPAIGNS = 5


@router.get("")
async def dashboard(web: Web = Depends(in_workspace("contacts.read"))) -> Response:
    now = clock.now()
    async with web.db.read_session() as session:
        per_day = await reports.new_leads_per_day(session, web.ws.id, now)
        funnel = await reports.funnel(session, web.ws.id)
        health = await reports.delivery_health(session, web.ws.id, now) if web.can("webhooks.read") else None
        overdue = None
        if web.can("tasks.read"):
            _, overdue = await tasks.numbered_page(session, web.ws, tasks.TaskFilters(overdue=True), 1, 1)
        queues = None
        if web.can("campaigns.read"):
            active = await campaigns.list_campaigns(session, web.ws, "active", PageRequest(DASHBOARD_CAMPAIGNS))
            queues = [(c, await campaigns.counts(session, web.ws, c.public_id)) for c in active.items]
    pipeline = None
    if web.can("deals.read"):
        # The summary creates the workspace's default pipeline on first use: a write.
        async with uow.unit_of_work(web.db) as session:
            pipeline = await deals.summary(session, web.ws, web.actor, None, ["active"])
    delivered = (health or {}).get("succeeded", 0)
    failed = (health or {}).get("failed", 0)
    pending = (health or {}).get("pending", 0) + (health or {}).get("retrying", 0)
    finished = delivered + failed
    return render.html(
        "dashboard.html",
        web.page(
            title=messages.t("dash.title"),
            section="dashboard",
            leads_chart=charts.new_leads(per_day, now.date()),
            funnel=charts.funnel(funnel),
            health=health,
            delivered=delivered,
            failed=failed,
            pending=pending,
            success_rate=f"{delivered / finished:.0%}" if finished else messages.t("dash.no_rate"),
            pipeline=pipeline,
            overdue=overdue,
            queues=queues,
        ),
    )
