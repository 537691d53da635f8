"""The dashboard: the workspace's home page."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from leadhub.web import messages, render
from leadhub.web.context import Web, in_workspace

router = APIRouter(prefix="/app/{ws_id}", include_in_schema=False)


@router.get("")
async def dashboard(web: Web = Depends(in_workspace("contacts.read"))) -> Response:
    return render.html("dashboard.html", web.page(title=messages.t("dash.title"), section="dashboard"))
