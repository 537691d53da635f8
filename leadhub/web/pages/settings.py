"""Settings: API keys (the secret shown once), webhook endpoints with their delivery log and replay,
custom-field definitions, users and roles. Each screen calls the same service as its API route."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from leadhub import uow
from leadhub.auth import scopes as scope_rules
from leadhub.auth import service as auth
from leadhub.auth.schemas import ApiKeyCreate
from leadhub.core import ids
from leadhub.core.errors import DomainError, Forbidden
from leadhub.core.pagination import PageRequest
from leadhub.custom_fields import service as custom_fields
from leadhub.custom_fields.schemas import FIELD_TYPES, CustomFieldCreate
from leadhub.users import roles
from leadhub.users import service as users
from leadhub.web import forms, messages, render
from leadhub.web.context import Web, in_workspace
from leadhub.webhooks import service as webhooks
from leadhub.webhooks.schemas import EndpointIn

router = APIRouter(prefix="/app/{ws_id}/settings", include_in_schema=False)
NOTICES = {
    "keys.revoked_notice",
    "webhooks.replayed",
    "fields.created",
    "fields.deleted",
    "users.created",
    "users.role_changed",
    "users.removed",
}


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice", "")
    return messages.t(key) if key in NOTICES else None


def _page(web: Web, request: Request, template: str, tab: str, status: int = 200, **extra: Any) -> Response:
    return render.html(
        template,
        web.page(title=messages.t(f"settings.{tab}"), section="settings", tab=tab, notice=_notice(request), **extra),
        status=status,
    )


def _user_error(exc: DomainError) -> forms.Problems:
    if exc.status in (401, 403, 404):
        raise exc
    return forms.problems(exc)


@router.get("")
async def index(web: Web = Depends(in_workspace("contacts.read"))) -> Response:
    tab = "keys" if web.can("admin") else "webhooks" if web.can("webhooks.read") else "fields"
    return RedirectResponse(f"{web.base()}/settings/{tab}", status_code=303)


# ---------------------------------------------------------------- API keys


async def _keys_page(web: Web, request: Request, status: int = 200, **extra: Any) -> Response:
    async with web.db.read_session() as session:
        keys = [
            k
            for k in await auth.list_api_keys(session, web.user.organization_id)
            if k.workspace_id is None or k.workspace_id == web.ws.id
        ]
    return _page(web, request, "settings/keys.html", "keys", status, keys=keys, scopes=scope_rules.SCOPES, **extra)


@router.get("/keys")
async def keys_page(request: Request, web: Web = Depends(in_workspace("admin"))) -> Response:
    return await _keys_page(web, request)


@router.post("/keys")
async def create_key(request: Request, web: Web = Depends(in_workspace("admin"))) -> Response:
    """Answers with the page itself (no redirect): the secret is in this answer and nowhere else."""
    form = await request.form()
    data: dict[str, Any] = {"name": forms.text(form, "name", 300) or "web key", "scopes": forms.texts(form, "scopes")}
    if form.get("organization") != "on":
        data["workspace_id"] = web.ws.public_id
    try:
        body = forms.parse(ApiKeyCreate, data)
        async with uow.unit_of_work(web.db) as session:
            _, raw = await auth.create_api_key(
                session,
                web.user.organization_id,
                workspace_id=web.ws.id if body.workspace_id else None,
                name=body.name,
                scopes=body.scopes,
            )
    except DomainError as exc:
        return await _keys_page(web, request, exc.status, problems=_user_error(exc))
    return await _keys_page(web, request, 201, secret=raw)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(key_id: str, web: Web = Depends(in_workspace("admin"))) -> Response:
    async with uow.unit_of_work(web.db) as session:
        await auth.revoke_api_key(session, web.user.organization_id, key_id)
    return RedirectResponse(f"{web.base()}/settings/keys?notice=keys.revoked_notice", status_code=303)


# ---------------------------------------------------------------- webhooks


async def _webhooks_page(web: Web, request: Request, status: int = 200, **extra: Any) -> Response:
    async with web.db.read_session() as session:
        page = await webhooks.list_endpoints(session, web.ws.id, PageRequest(100))
    return _page(web, request, "settings/webhooks.html", "webhooks", status, endpoints=page.items, **extra)


@router.get("/webhooks")
async def webhooks_page(request: Request, web: Web = Depends(in_workspace("webhooks.read"))) -> Response:
    return await _webhooks_page(web, request)


@router.post("/webhooks")
async def create_endpoint(request: Request, web: Web = Depends(in_workspace("webhooks.write"))) -> Response:
    form = await request.form()
    types = [t.strip() for t in forms.text(form, "event_types").split(",") if t.strip()] or ["*"]
    data = {"url": forms.text(form, "url", 3000), "description": forms.text(form, "description", 600) or None}
    try:
        body = forms.parse(EndpointIn, {**data, "event_types": types})
        async with uow.unit_of_work(web.db) as session:
            endpoint = await webhooks.create_endpoint(
                session, web.ws.id, web.actor, body, allow_private=web.settings.webhook_allow_private
            )
            secret = endpoint.secret
    except DomainError as exc:
        return await _webhooks_page(web, request, exc.status, problems=_user_error(exc), values=data)
    return await _webhooks_page(web, request, 201, secret=secret)


@router.get("/webhooks/{endpoint_id}")
async def deliveries_page(
    endpoint_id: str, request: Request, cursor: str | None = None, web: Web = Depends(in_workspace("webhooks.read"))
) -> Response:
    async with web.db.read_session() as session:
        endpoint = await webhooks.get_endpoint(session, web.ws.id, endpoint_id)
        page = await webhooks.list_deliveries(session, web.ws.id, endpoint_id, PageRequest(50, cursor))
    return _page(
        web,
        request,
        "settings/deliveries.html",
        "webhooks",
        endpoint=endpoint,
        deliveries=page.items,
        next_cursor=page.next_cursor,
    )


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
async def replay(endpoint_id: str, delivery_id: str, web: Web = Depends(in_workspace("webhooks.write"))) -> Response:
    async with uow.unit_of_work(web.db) as session:
        await webhooks.replay_delivery(session, web.ws.id, endpoint_id, delivery_id)
    return RedirectResponse(f"{web.base()}/settings/webhooks/{endpoint_id}?notice=webhooks.replayed", status_code=303)


# ---------------------------------------------------------------- custom fields


async def _fields_page(web: Web, request: Request, status: int = 200, **extra: Any) -> Response:
    async with web.db.read_session() as session:
        definitions = await custom_fields.list_all(session, web.ws.id)
    return _page(
        web, request, "settings/fields.html", "fields", status, definitions=definitions, types=FIELD_TYPES, **extra
    )


@router.get("/fields")
async def fields_page(request: Request, web: Web = Depends(in_workspace("contacts.read"))) -> Response:
    return await _fields_page(web, request)


@router.post("/fields")
async def create_field(request: Request, web: Web = Depends(in_workspace("contacts.write"))) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name, 300) for name in ("key", "label", "type", "options")}
    options = [o.strip() for o in values["options"].split(",") if o.strip()]
    try:
        body = forms.parse(
            CustomFieldCreate,
            {"key": values["key"], "label": values["label"], "type": values["type"], "options": options},
        )
        async with uow.unit_of_work(web.db) as session:
            await custom_fields.create(session, web.ws.id, web.actor, body)
    except DomainError as exc:
        return await _fields_page(web, request, exc.status, problems=_user_error(exc), values=values)
    return RedirectResponse(f"{web.base()}/settings/fields?notice=fields.created", status_code=303)


@router.post("/fields/{field_id}/delete")
async def delete_field(field_id: str, web: Web = Depends(in_workspace("contacts.write"))) -> Response:
    async with uow.unit_of_work(web.db) as session:
        await custom_fields.delete(session, web.ws.id, web.actor, field_id)
    return RedirectResponse(f"{web.base()}/settings/fields?notice=fields.deleted", status_code=303)


# ---------------------------------------------------------------- users and roles


async def _users_page(web: Web, request: Request, status: int = 200, **extra: Any) -> Response:
    async with web.db.read_session() as session:
        people = await users.list_users(session, web.user.organization_id)
        workspaces = await auth.list_workspaces(session, web.user.organization_id)
        names = {w.id: w.name for w in workspaces}
        memberships = {
            ids.encode(ids.USER, user_id): [names.get(w, "") for w in member_of]
            for user_id, member_of in (await users.memberships(session, web.user.organization_id)).items()
        }
    return _page(
        web,
        request,
        "settings/users.html",
        "users",
        status,
        people=people,
        roles=roles.ROLES,
        all_workspaces=workspaces,
        memberships=memberships,
        sees_all=roles.sees_every_workspace,
        **extra,
    )


@router.get("/users")
async def users_page(request: Request, web: Web = Depends(in_workspace("admin"))) -> Response:
    return await _users_page(web, request)


@router.post("/users")
async def create_user(request: Request, web: Web = Depends(in_workspace("admin"))) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name, 400) for name in ("email", "name", "role")}
    role = values["role"] or roles.MEMBER
    try:
        if role == roles.OWNER and web.user.role != roles.OWNER:
            raise Forbidden(messages.t("error.forbidden"))
        async with uow.unit_of_work(web.db) as session:
            await users.create_user(
                session,
                web.user.organization_id,
                email=values["email"],
                password=str(form.get("password") or "")[:2000],
                role=role,
                workspaces=forms.texts(form, "workspaces") or [web.ws.public_id],
                name=values["name"] or None,
            )
    except DomainError as exc:
        return await _users_page(web, request, exc.status, problems=_user_error(exc), values=values)
    return RedirectResponse(f"{web.base()}/settings/users?notice=users.created", status_code=303)


@router.post("/users/{user_id}/role")
async def change_role(user_id: str, request: Request, web: Web = Depends(in_workspace("admin"))) -> Response:
    form = await request.form()
    try:
        async with uow.unit_of_work(web.db) as session:
            await users.change_role(session, web.user, user_id, forms.text(form, "role", 40))
    except DomainError as exc:
        return await _users_page(web, request, exc.status, problems=_user_error(exc))
    return RedirectResponse(f"{web.base()}/settings/users?notice=users.role_changed", status_code=303)


@router.post("/users/{user_id}/remove")
async def remove_user(user_id: str, request: Request, web: Web = Depends(in_workspace("admin"))) -> Response:
    try:
        async with uow.unit_of_work(web.db) as session:
            await users.remove_user(session, web.user, user_id)
    except DomainError as exc:
        return await _users_page(web, request, exc.status, problems=_user_error(exc))
    return RedirectResponse(f"{web.base()}/settings/users?notice=users.removed", status_code=303)
