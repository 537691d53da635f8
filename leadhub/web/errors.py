"""Domain errors under /app rendered as pages people can read (and a sign-in redirect when signed out)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from leadhub.core.errors import DomainError, Invalid, Unauthenticated
from leadhub.http import errors
from leadhub.web import messages, render

PREFIX = "/app"


def sign_in_url(request: Request) -> str:
    target = request.url.path + ("?" + request.url.query if request.url.query else "")
    return f"{PREFIX}/sign-in?next={quote(target, safe='')}"


def render_error(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, Unauthenticated):
        url = sign_in_url(request) if request.method == "GET" else f"{PREFIX}/sign-in"
        if request.headers.get("HX-Request"):
            # HTMX swaps answers into the page; a full-page redirect must be asked for explicitly.
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)
    title = messages.t(f"error.title.{exc.status}", default=messages.t("error.title.other"))
    detail = exc.detail
    if exc.status == 404:
        detail = messages.t("error.not_found")
    elif exc.status >= 500:
        detail = messages.t("error.server")
    problems = [f"{e.field}: {e.message}" for e in exc.errors] if isinstance(exc, Invalid) else []
    context = {"title": title, "detail": detail, "problems": problems, "status": exc.status}
    return render.html("error.html", context, status=exc.status)


errors.register_renderer(PREFIX + "/", render_error)
