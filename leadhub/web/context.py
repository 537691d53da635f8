"""Who is signed in, in which workspace, and may they do this: the front of every web route.

The session lives in the database; the browser holds only a random token in an HttpOnly, SameSite=Lax
cookie (Secure, with the ``__Host-`` prefix, when the public URL is https). Every unsafe request must echo
the session's CSRF token, as a form field or the ``X-CSRF-Token`` header HTMX sends."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.responses import Response

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.config import Settings
from leadhub.core.errors import Forbidden, Unauthenticated
from leadhub.db.engine import Database
from leadhub.users import roles
from leadhub.users import service as users
from leadhub.users.models import User, WebSession
from leadhub.web import messages

CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = {"GET", "HEAD", "OPTIONS"}


class SignInRequired(Unauthenticated):
    """No live session: the web door answers with a redirect to the sign-in page."""


class CsrfRefused(Forbidden):
    code = "csrf"


def secure_cookies(settings: Settings) -> bool:
    return settings.resolved_public_url.startswith("https://")


def cookie_name(settings: Settings) -> str:
    # The __Host- prefix makes the browser refuse the cookie unless it is Secure, host-only and Path=/.
    return "__Host-leadhub_session" if secure_cookies(settings) else "leadhub_session"


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        cookie_name(settings),
        token,
        max_age=int(users.ABSOLUTE_TIMEOUT.total_seconds()),
        path="/",
        secure=secure_cookies(settings),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(cookie_name(settings), path="/", secure=secure_cookies(settings), httponly=True)


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


async def _given_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


@dataclass
class Web:
    """The signed-in user's request: database, user, session, and (on workspace pages) the workspace."""

    request: Request
    db: Database
    settings: Settings
    user: User
    session: WebSession
    token: str
    workspace: Workspace | None = None
    workspaces: list[Workspace] = field(default_factory=list)

    @property
    def ws(self) -> Workspace:
        assert self.workspace is not None, "a workspace route"
        return self.workspace

    @property
    def actor(self) -> Actor:
        return Actor(type="user", id=self.user.public_id, door="web")

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    def can(self, scope: str) -> bool:
        return roles.grants(self.user.role, scope)

    def require(self, scope: str) -> None:
        if not self.can(scope):
            raise Forbidden(messages.t("error.forbidden"))

    def base(self) -> str:
        return f"/app/{self.ws.public_id}"

    def page(self, **extra: Any) -> dict[str, Any]:
        """The context every full page template gets."""
        return {
            "web": self,
            "user": self.user,
            "workspace": self.workspace,
            "workspaces": self.workspaces,
            "csrf": self.csrf,
            "base": self.base() if self.workspace is not None else "/app",
            "can": self.can,
            **extra,
        }


async def _signed_in(request: Request, workspace_id: str | None) -> Web:
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    token = request.cookies.get(cookie_name(settings))
    async with db.read_session() as session:
        found = await users.current(session, token)
        if found is None or token is None:
            raise SignInRequired(messages.t("error.sign_in_required"))
        workspace = await users.workspace_for(session, found.user, workspace_id) if workspace_id else None
        workspaces = await users.workspaces_for(session, found.user)
    if request.method not in _SAFE and not csrf_matches(found.session.csrf_token, await _given_csrf(request)):
        raise CsrfRefused(messages.t("error.csrf"))
    if found.needs_touch:
        async with db.session() as session, session.begin():
            await users.touch(session, token)
    if workspace is not None:
        request.state.workspace_id = workspace.public_id
        limiter = getattr(request.app.state, "limiter", None)
        if limiter is not None:  # workspace pages are charged to the user, not to the client's address
            await limiter.enforce_user(request, found.user.id, workspace)
    return Web(request, db, settings, found.user, found.session, token, workspace, workspaces)


def signed_in() -> Callable[..., Awaitable[Web]]:
    """Dependency: a signed-in user, outside any workspace."""

    async def dependency(request: Request) -> Web:
        return await _signed_in(request, None)

    return dependency


def in_workspace(scope: str) -> Callable[..., Awaitable[Web]]:
    """Dependency for a route under ``/app/{ws_id}/…``: the user may open that workspace and holds ``scope``."""

    async def dependency(request: Request, ws_id: str) -> Web:
        web = await _signed_in(request, ws_id)
        web.require(scope)
        return web

    return dependency
