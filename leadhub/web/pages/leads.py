"""The leads list: instant search, filters, sorting, cursor paging, bulk actions and saved views.

Everything here is the contacts service's listing and writes; this module only reads the query string
and the forms, and renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import QueryParams
from starlette.responses import RedirectResponse, Response

from leadhub import uow
from leadhub.contacts import service as contacts
from leadhub.contacts.schemas import STATUSES, ContactIn
from leadhub.core.errors import DomainError, FieldError, Invalid
from leadhub.core.pagination import PageRequest
from leadhub.core.validation import has_nul
from leadhub.users import service as users
from leadhub.web import forms, messages, render
from leadhub.web.context import Web, in_workspace

router = APIRouter(prefix="/app/{ws_id}", include_in_schema=False)
PAGE_SIZE = 50
# Keys a list URL may carry; a saved view stores these and nothing else.
LIST_KEYS = ("q", "status", "source", "tag", "created_after", "created_before", "custom_field", "sort")
NOTICES = {
    "leads.bulk.done",
    "leads.bulk.deleted",
    "leads.views.saved",
    "leads.views.deleted",
    "contact.deleted",
}
BULK_ACTIONS = ("add_tag", "remove_tag", "set_status", "set_owner", "delete")


@dataclass
class ListQuery:
    """The leads list as its URL describes it."""

    params: dict[str, Any] = field(default_factory=dict)
    filters: contacts.ContactFilters = field(default_factory=contacts.ContactFilters)
    sort: str = "-created_at"
    cursor: str | None = None
    errors: list[FieldError] = field(default_factory=list)

    def as_query(self) -> str:
        return render.query_string(self.params)


def _day(value: str, name: str, errors: list[FieldError]) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    except ValueError:
        errors.append(FieldError(name, "date", "must be a date (YYYY-MM-DD)", "string"))
        return None


def read_query(query: QueryParams) -> ListQuery:
    lq = ListQuery()
    errors = lq.errors
    for key in LIST_KEYS:
        values = [v.strip() for v in query.getlist(key) if v.strip()]
        if any(has_nul(v) for v in values):
            errors.append(FieldError(key, "nul_character", "must not contain the NUL character (U+0000)", "string"))
            values = []
        if values:
            lq.params[key] = values if key in ("status", "tag", "custom_field") else values[0][:200]
    statuses = [s for s in lq.params.get("status", []) if s in STATUSES]
    lq.params["status"] = statuses
    lq.filters = contacts.ContactFilters(
        status=statuses,
        source=lq.params.get("source"),
        tags=lq.params.get("tag", []),
        q=lq.params.get("q"),
        created_after=_day(lq.params.get("created_after", ""), "created_after", errors),
    )
    before = _day(lq.params.get("created_before", ""), "created_before", errors)
    # "Created before" names a day people mean to include: the bound is the next midnight.
    lq.filters.created_before = before + timedelta(days=1) if before else None
    for item in lq.params.get("custom_field", []):
        key, sep, value = item.partition(":")
        if not sep or not key.strip():
            errors.append(FieldError("custom_field", "format", "must be key:value", "string"))
        else:
            lq.filters.custom_fields[key.strip()] = value.strip()
    sort = str(lq.params.get("sort", "-created_at"))
    lq.sort = sort if sort in contacts.SORTS else "-created_at"
    lq.params["sort"] = None if lq.sort == "-created_at" else lq.sort
    lq.cursor = query.get("cursor") or None
    return lq


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice", "")
    if key not in NOTICES:
        return None
    n = request.query_params.get("n", "0")
    return messages.t(key, n=int(n) if n.isdigit() else 0)


async def _list_context(web: Web, lq: ListQuery) -> dict[str, Any]:
    rows: list[Any] = []
    next_cursor = None
    errors = list(lq.errors)
    if not errors:
        try:
            async with web.db.read_session() as session:
                page = await contacts.list_contacts(
                    session, web.ws, lq.filters, PageRequest(PAGE_SIZE, lq.cursor), lq.sort
                )
                rows = [contacts.to_out(c) for c in page.items]
                next_cursor = page.next_cursor
        except Invalid as exc:
            errors = exc.errors
    return {
        "rows": rows,
        "next_cursor": next_cursor,
        "lq": lq,
        "params": lq.params,
        "list_errors": [f"{e.field}: {e.message}" for e in errors],
        "statuses": STATUSES,
        "paged": bool(lq.cursor),
    }


@router.get("/leads")
async def leads(request: Request, web: Web = Depends(in_workspace("contacts.read"))) -> Response:
    lq = read_query(request.query_params)
    context = await _list_context(web, lq)
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "results":
        return render.html("leads/_results.html", web.page(**context))
    async with web.db.read_session() as session:
        views = await users.list_views(session, web.ws, web.user)
    return render.html(
        "leads/list.html",
        web.page(
            title=messages.t("leads.title"),
            section="leads",
            views=views,
            notice=_notice(request),
            bulk_actions=BULK_ACTIONS,
            **context,
        ),
    )


def _back(form_value: str) -> str:
    """The list's own query string, as the bulk form carried it (only list keys survive)."""
    lq = read_query(QueryParams(form_value))
    return lq.as_query()


async def _bulk_apply(web: Web, ids: list[str], action: str, value: str) -> int:
    if action not in BULK_ACTIONS:
        raise Invalid([FieldError("action", "enum", f"must be one of: {', '.join(BULK_ACTIONS)}", "string")])
    if action == "delete":
        web.require("contacts.write")
    change: ContactIn | None = None
    if action == "set_status":
        change = forms.parse(ContactIn, {"status": value})
    elif action == "set_owner":
        change = forms.parse(ContactIn, {"assigned_to": value or None})
    elif action in ("add_tag", "remove_tag"):
        forms.parse(ContactIn, {"tags": [value]})  # the API's rules for a tag, and its messages
    async with uow.unit_of_work(web.db) as session:
        for contact_id in ids:
            if action == "delete":
                await contacts.delete(session, web.ws, web.actor, contact_id)
            elif action == "add_tag":
                await contacts.add_tags(session, web.ws, web.actor, contact_id, [value])
            elif action == "remove_tag":
                await contacts.remove_tags(session, web.ws, web.actor, contact_id, [value])
            elif change is not None:
                await contacts.patch(session, web.ws, web.actor, contact_id, change)
    return len(ids)


@router.post("/leads/bulk")
async def bulk(request: Request, web: Web = Depends(in_workspace("contacts.write"))) -> Response:
    """One unit of work for the whole selection: it all changes, or (on an error) nothing does."""
    form = await request.form()
    ids = forms.texts(form, "ids")[: PAGE_SIZE * 4]
    action = forms.text(form, "action")
    value = forms.text(form, "value", 200)
    back = _back(forms.text(form, "back", 2000))
    if not ids:
        return await _list_error(web, request, back, messages.t("leads.bulk.none_selected"))
    try:
        count = await _bulk_apply(web, ids, action, value)
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        return await _list_error(web, request, back, "; ".join(forms.problems(exc).summary))
    key = "leads.bulk.deleted" if action == "delete" else "leads.bulk.done"
    return RedirectResponse(f"{web.base()}/leads?{_with(back, notice=key, n=count)}", status_code=303)


def _with(query: str, **extra: Any) -> str:
    return "&".join(p for p in (query, urlencode(extra)) if p)


async def _list_error(web: Web, request: Request, back: str, detail: str) -> Response:
    lq = read_query(QueryParams(back))
    context = await _list_context(web, lq)
    async with web.db.read_session() as session:
        views = await users.list_views(session, web.ws, web.user)
    return render.html(
        "leads/list.html",
        web.page(
            title=messages.t("leads.title"),
            section="leads",
            views=views,
            bulk_error=detail,
            bulk_actions=BULK_ACTIONS,
            **context,
        ),
        status=422,
    )


@router.post("/views")
async def save_view(request: Request, web: Web = Depends(in_workspace("contacts.read"))) -> Response:
    form = await request.form()
    query = _back(forms.text(form, "query", 2000))
    async with uow.unit_of_work(web.db) as session:
        await users.save_view(session, web.ws, web.user, forms.text(form, "name", 200), query)
    return RedirectResponse(f"{web.base()}/leads?{_with(query, notice='leads.views.saved')}", status_code=303)


@router.post("/views/{view_id}/delete")
async def delete_view(view_id: str, web: Web = Depends(in_workspace("contacts.read"))) -> Response:
    async with uow.unit_of_work(web.db) as session:
        await users.delete_view(session, web.ws, web.user, view_id)
    return RedirectResponse(f"{web.base()}/leads?notice=leads.views.deleted", status_code=303)
