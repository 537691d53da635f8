"""A lead's page: every field editable in place (each section is one form posting one patch), emails and
phones with their primary, tags, custom fields by their definitions, DND per channel, deals, tasks and the
full timeline. Validation is the contacts service's, with the API's messages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from leadhub import uow
from leadhub.contacts import service as contacts
from leadhub.contacts.schemas import DND_CHANNELS, EMAIL_TYPES, PHONE_TYPES, STATUSES, ContactIn, ContactOut
from leadhub.core import clock, ids
from leadhub.core.errors import DomainError
from leadhub.core.pagination import PageRequest
from leadhub.custom_fields import service as custom_fields
from leadhub.deals import service as deals
from leadhub.events import service as events
from leadhub.tasks import service as tasks
from leadhub.web import forms, messages, render, timeline
from leadhub.web.context import Web, in_workspace
from leadhub.web.pages import campaigns as campaign_pages

router = APIRouter(prefix="/app/{ws_id}", include_in_schema=False)
SECTIONS = ("details", "emails", "phones", "tags", "custom", "dnd")
DETAIL_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "title",
    "website",
    "status",
    "source",
    "country",
    "timezone",
    "date_of_birth",
    "assigned_to",
    "notes",
)
DND_STATES = ("active", "inactive", "permanent")
TIMELINE_PAGE = 25
# Empty rows offered for adding an email or phone.
SPARE_ROWS = 1


def _rows(
    form: FormData, prefix: str, value_name: str, types: tuple[str, ...]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The filled rows of an emails/phones table, and where each list index came from (for error messages)."""
    primary = forms.text(form, f"{prefix}-primary")
    rows: list[dict[str, Any]] = []
    inputs: dict[str, str] = {}
    index = 0
    while f"{prefix}-{index}-{value_name}" in form:
        value = forms.text(form, f"{prefix}-{index}-{value_name}", 400)
        kind = forms.text(form, f"{prefix}-{index}-type")
        if value:
            inputs[f"{prefix}[{len(rows)}].{value_name}"] = f"{prefix}-{index}-{value_name}"
            rows.append(
                {value_name: value, "type": kind if kind in types else "other", "primary": primary == str(index)}
            )
        index += 1
        if index > 40:
            break
    return rows, inputs


def _section_input(section: str, form: FormData, definitions: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The patch one section's form means, and the map from service field paths to its inputs."""
    if section == "details":
        data: dict[str, Any] = {name: forms.blank_to_none(forms.text(form, name)) for name in DETAIL_FIELDS}
        if data["status"] is None:
            data.pop("status")
        return data, {}
    if section == "emails":
        rows, inputs = _rows(form, "emails", "address", EMAIL_TYPES)
        return {"emails": rows}, inputs
    if section == "phones":
        rows, inputs = _rows(form, "phones", "number", PHONE_TYPES)
        return {"phones": rows}, inputs
    if section == "tags":
        tags = [t.strip() for t in forms.text(form, "tags").split(",") if t.strip()]
        return {"tags": tags}, {f"tags[{i}]": "tags" for i in range(len(tags))}
    if section == "custom":
        values: dict[str, Any] = {}
        for key, definition in definitions.items():
            name = f"cf-{key}"
            if definition.type == "multiselect":
                chosen = forms.texts(form, name)
                values[key] = chosen or None
            else:
                values[key] = forms.blank_to_none(forms.text(form, name))
        return {"custom_fields": values}, {f"custom_fields.{k}": f"cf-{k}" for k in definitions}
    # dnd
    settings: dict[str, Any] = {}
    for channel in DND_CHANNELS:
        state = forms.text(form, f"dnd-{channel}")
        settings[channel] = {"status": state} if state else None
    inputs = {f"dnd_settings.{c}.status": f"dnd-{c}" for c in DND_CHANNELS}
    return {"dnd": form.get("dnd") == "on", "dnd_settings": settings}, inputs


async def _page_context(web: Web, contact: ContactOut, cursor: str | None = None) -> dict[str, Any]:
    key = ids.decode(ids.CONTACT, contact.id)
    async with web.db.read_session() as session:
        definitions = await custom_fields.list_all(session, web.ws.id)
        page = await events.timeline(session, web.ws.id, key, PageRequest(TIMELINE_PAGE, cursor))
        entries = await timeline.entries(session, page.items)
        contact_deals = await deals.list_deals(
            session, web.ws, deals.DealFilters(contact_id=contact.id), PageRequest(20)
        )
        now = clock.now()
        contact_tasks = await tasks.list_tasks(session, web.ws, tasks.TaskFilters(contact_id=key), PageRequest(20))
        in_campaigns = await campaign_pages.memberships(session, web.ws.id, key) if web.can("campaigns.read") else None
    defined = {d.key for d in definitions}
    return {
        "contact": contact,
        "definitions": definitions,
        "untyped": {k: v for k, v in contact.custom_fields.items() if k not in defined},
        "entries": entries,
        "timeline_cursor": page.next_cursor,
        "deals": [deals.to_out(d) for d in contact_deals.items],
        "tasks": [tasks.to_out(t, now) for t in contact_tasks.items],
        "memberships": in_campaigns,
        "statuses": STATUSES,
        "email_types": EMAIL_TYPES,
        "phone_types": PHONE_TYPES,
        "dnd_channels": DND_CHANNELS,
        "dnd_states": DND_STATES,
        "spare": SPARE_ROWS,
        "problems": {},
        "saved": None,
    }


async def _load(web: Web, contact_id: str) -> ContactOut:
    async with web.db.read_session() as session:
        return contacts.to_out(await contacts.get(session, web.ws, contact_id))


@router.get("/leads/new")
async def new_form(web: Web = Depends(in_workspace("contacts.write"))) -> Response:
    return render.html(
        "contact/new.html",
        web.page(title=messages.t("contact.new_title"), section="leads", values={}, problems=forms.Problems()),
    )


@router.post("/leads/new")
async def create(request: Request, web: Web = Depends(in_workspace("contacts.write"))) -> Response:
    form = await request.form()
    names = ("first_name", "last_name", "email", "phone", "company_name", "title", "source", "status", "tags")
    values = {name: forms.text(form, name, 400) for name in names}
    data: dict[str, Any] = {k: v for k, v in values.items() if v and k != "tags"}
    tags = [t.strip() for t in values["tags"].split(",") if t.strip()]
    if tags:
        data["tags"] = tags
    try:
        body = forms.parse(ContactIn, data)
        async with uow.unit_of_work(web.db) as session:
            contact = await contacts.create(session, web.ws, web.actor, body)
            created = contact.public_id
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        return render.html(
            "contact/new.html",
            web.page(
                title=messages.t("contact.new_title"), section="leads", values=values, problems=forms.problems(exc)
            ),
            status=exc.status,
        )
    return RedirectResponse(f"{web.base()}/leads/{created}", status_code=303)


@router.get("/leads/{contact_id}")
async def show(contact_id: str, web: Web = Depends(in_workspace("contacts.read"))) -> Response:
    contact = await _load(web, contact_id)
    context = await _page_context(web, contact)
    title = contact.name or messages.t("contact.untitled")
    return render.html("contact/page.html", web.page(title=title, section="leads", **context))


@router.get("/leads/{contact_id}/timeline")
async def older_events(
    contact_id: str, cursor: str | None = None, web: Web = Depends(in_workspace("contacts.read"))
) -> Response:
    contact = await _load(web, contact_id)
    context = await _page_context(web, contact, cursor)
    return render.html("contact/_timeline_items.html", web.page(**context))


@router.post("/leads/{contact_id}/delete")
async def delete(contact_id: str, web: Web = Depends(in_workspace("contacts.write"))) -> Response:
    async with uow.unit_of_work(web.db) as session:
        await contacts.delete(session, web.ws, web.actor, contact_id)
    return RedirectResponse(f"{web.base()}/leads?notice=contact.deleted", status_code=303)


@router.post("/leads/{contact_id}/{section}")
async def save_section(
    contact_id: str, section: str, request: Request, web: Web = Depends(in_workspace("contacts.write"))
) -> Response:
    """Patch the fields of one section. HTMX gets the section back (with its errors, or saved) and the
    refreshed timeline; a plain form post is redirected to the page, or gets it with the errors."""
    if section not in SECTIONS:
        return render.html(
            "error.html", {"title": messages.t("error.title.404"), "detail": messages.t("error.not_found")}, status=404
        )
    form = await request.form()
    async with web.db.read_session() as session:
        definitions = await custom_fields.definitions_by_key(session, web.ws.id)
    data, inputs = _section_input(section, form, definitions)
    problems: forms.Problems | None = None
    status = 200
    try:
        body = forms.parse(ContactIn, data)
        async with uow.unit_of_work(web.db) as session:
            await contacts.patch(session, web.ws, web.actor, contact_id, body)
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        problems = forms.problems(exc, inputs)
        status = exc.status
    htmx = bool(request.headers.get("HX-Request"))
    if problems is None and not htmx:
        return RedirectResponse(f"{web.base()}/leads/{contact_id}", status_code=303)
    contact = await _load(web, contact_id)
    context = await _page_context(web, contact)
    context["problems"] = {section: problems} if problems else {}
    context["saved"] = section if problems is None else None
    if problems is not None:
        # Show what the person typed, not the stored values, next to the messages.
        context["typed"] = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    if htmx:
        # 200 even for errors: HTMX swaps only successful answers by default, and the section carries them.
        return render.html("contact/_section.html", web.page(section_name=section, oob_timeline=True, **context))
    return render.html(
        "contact/page.html",
        web.page(title=contact.name or messages.t("contact.untitled"), section="leads", **context),
        status=status,
    )
