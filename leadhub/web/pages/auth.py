"""Sign-in, sign-out and the workspace switcher."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from leadhub import uow
from leadhub.config import Settings
from leadhub.db.engine import Database
from leadhub.users import service as users
from leadhub.web import messages, render
from leadhub.web.context import (
    Web,
    clear_session_cookie,
    cookie_name,
    csrf_matches,
    secure_cookies,
    set_session_cookie,
    signed_in,
)

router = APIRouter(prefix="/app", include_in_schema=False)
# Sign-in has no session yet, so its form is guarded by a double-submit token: a cookie this origin set
# and the same value in the form (a cross-site page can do neither).
SIGN_IN_COOKIE = "leadhub_signin"


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the app: never another host (``//evil``, ``https://…``) — no open redirect."""
    if not target or not target.startswith("/app/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def _sign_in_page(
    settings: Settings,
    next_url: str | None,
    error: str | None = None,
    email: str = "",
    status: int = 200,
    notice: str | None = None,
) -> Response:
    token = secrets.token_urlsafe(24)
    context = {"csrf": token, "next": next_url or "", "error": error, "email": email, "notice": notice}
    response = render.html("sign_in.html", {**context, "title": messages.t("sign_in.title")}, status=status)
    response.set_cookie(
        SIGN_IN_COOKIE, token, max_age=3600, path="/app", secure=secure_cookies(settings), httponly=True, samesite="lax"
    )
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    notice = messages.t("signed_out") if request.query_params.get("signed_out") else None
    return _sign_in_page(request.app.state.settings, _safe_next(next), notice=notice)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    db: Database = request.app.state.db
    form = await request.form()
    email = str(form.get("email") or "")[:320]
    password = str(form.get("password") or "")[:1024]
    next_url = _safe_next(str(form.get("next") or ""))
    if not csrf_matches(request.cookies.get(SIGN_IN_COOKIE, ""), str(form.get("csrf") or "")):
        return _sign_in_page(settings, next_url, messages.t("sign_in.expired_form"), email, status=403)
    async with uow.unit_of_work(db) as session:
        outcome = await users.sign_in(session, email, password)
        started = None
        workspaces = []
        if outcome.user is not None:
            workspaces = await users.workspaces_for(session, outcome.user)
            started = await users.start_session(session, outcome.user, workspaces[0].id if workspaces else None)
    if started is None:
        if outcome.locked_until is not None:
            until = outcome.locked_until.strftime("%Y-%m-%d %H:%M")
            return _sign_in_page(settings, next_url, messages.t("sign_in.locked", until=until), email, status=429)
        return _sign_in_page(settings, next_url, messages.t("sign_in.failed"), email, status=401)
    target = next_url or f"/app/{workspaces[0].public_id}" if workspaces else "/app/no-workspace"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, settings, started.token)
    response.delete_cookie(SIGN_IN_COOKIE, path="/app")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, web: Web = Depends(signed_in())) -> Response:
    async with uow.unit_of_work(web.db) as session:
        await users.end_session(session, request.cookies.get(cookie_name(web.settings)))
    response = RedirectResponse("/app/sign-in?signed_out=1", status_code=303)
    clear_session_cookie(response, web.settings)
    return response


@router.get("")
@router.get("/")
async def home(web: Web = Depends(signed_in())) -> Response:
    """The workspace the switcher last chose (if still allowed), else the first one."""
    chosen = next((w for w in web.workspaces if w.id == web.session.workspace_id), None)
    chosen = chosen or (web.workspaces[0] if web.workspaces else None)
    if chosen is None:
        return RedirectResponse("/app/no-workspace", status_code=303)
    return RedirectResponse(f"/app/{chosen.public_id}", status_code=303)


@router.get("/no-workspace")
async def no_workspace(web: Web = Depends(signed_in())) -> Response:
    return render.html(
        "error.html",
        web.page(title=messages.t("nav.workspace"), detail=messages.t("sign_in.no_workspace"), problems=[], status=200),
    )


@router.post("/switch")
async def switch(request: Request, web: Web = Depends(signed_in())) -> Response:
    form = await request.form()
    wanted = str(form.get("workspace") or "")
    async with uow.unit_of_work(web.db) as session:
        ws = await users.workspace_for(session, web.user, wanted)
        await users.remember_workspace(session, web.token, ws)
    return RedirectResponse(f"/app/{ws.public_id}", status_code=303)
