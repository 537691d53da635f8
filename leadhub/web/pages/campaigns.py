"""Campaigns: the list with prospects per queue state, a campaign's ideal customer profile editor, its
prospects in queue order with the per-criterion breakdown, and the queue's transitions as buttons.

Scoring, transitions and claims are the campaigns service's (``service``, ``queue``); this module reads
forms into ``CampaignIn`` / ``ClaimIn`` / ``OutcomeIn`` and renders what the service answers."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from leadhub import uow
from leadhub.campaigns import icp, queue
from leadhub.campaigns import service as campaigns
from leadhub.campaigns.models import CAMPAIGN_STATUSES, PROSPECT_STATES, Campaign, Prospect
from leadhub.campaigns.schemas import CampaignIn, ClaimIn, OutcomeIn, ProspectIn
from leadhub.contacts import service as contacts
from leadhub.contacts.models import Contact
from leadhub.core import ids
from leadhub.core.errors import DomainError, FieldError, Invalid, NotFound
from leadhub.core.pagination import PageRequest
from leadhub.enrichment import pipeline
from leadhub.web import forms, messages, render
from leadhub.web.context import Web, in_workspace

router = APIRouter(prefix="/app/{ws_id}/campaigns", include_in_schema=False)
PAGE_SIZE = 50
# Each listed campaign costs one count query: a page stays short.
LIST_LIMIT = 25
# Outcomes offered as buttons, in the order a prospect moves through them.
OUTCOMES = ("contacted", "replied", "meeting_booked", "disqualified", "released")
RULE_KINDS = {"c": "criteria", "d": "disqualifiers"}
MAX_ROWS = icp.MAX_CRITERIA
ROW_INPUTS = ("id", "label", "field", "op", "value", "min", "max", "weight")
NOTICES = {
    "campaigns.created",
    "campaigns.saved",
    "campaigns.nothing_queued",
    "campaigns.added",
    "campaigns.already_in",
}


def _user_error(exc: DomainError) -> forms.Problems:
    """Problems to show on the form; walls and role refusals stay errors pages."""
    if exc.status in (401, 403, 404):
        raise exc
    return forms.problems(exc)


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice", "")
    n = request.query_params.get("n", "0")
    if key in NOTICES:
        return messages.t(key)
    if key == "claimed":
        return messages.t("campaigns.claimed", n=int(n) if n.isdigit() else 0)
    if key == "reported" and request.query_params.get("state") in PROSPECT_STATES:
        return messages.t("campaigns.reported", state=messages.t(f"state.{request.query_params['state']}"))
    if key == "icp_saved":
        return messages.t("icp.saved", n=int(n) if n.isdigit() else 0)
    return None


async def contact_names(session: AsyncSession, ws_id: uuid.UUID, keys: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Display names of a page's contacts in one query (as the timeline names its actors)."""
    if not keys:
        return {}
    rows = await session.execute(
        select(Contact.id, Contact.name, Contact.company_name).where(
            Contact.workspace_id == ws_id, Contact.id.in_(set(keys))
        )
    )
    return {key: name or company or messages.t("leads.unnamed") for key, name, company in rows}


@dataclass
class Membership:
    campaign_id: str
    campaign: str
    prospect_id: str
    score: int
    tier: str
    state: str


async def memberships(session: AsyncSession, ws_id: uuid.UUID, contact_key: uuid.UUID) -> list[Membership]:
    """The campaigns a contact is a prospect in, for its page (display only, one query, best score first)."""
    rows = await session.execute(
        select(Prospect, Campaign.name)
        .join(Campaign, (Campaign.workspace_id == Prospect.workspace_id) & (Campaign.id == Prospect.campaign_id))
        .where(Prospect.workspace_id == ws_id, Prospect.contact_id == contact_key)
        .order_by(Prospect.score.desc(), Campaign.name)
        .limit(50)
    )
    return [
        Membership(ids.encode(ids.CAMPAIGN, p.campaign_id), name, p.public_id, p.score, p.tier, p.state)
        for p, name in rows
    ]


# ---------------------------------------------------------------- the list


async def _list_page(web: Web, request: Request, status: int = 200, **extra: Any) -> Response:
    cursor = request.query_params.get("cursor") or None
    async with web.db.read_session() as session:
        try:
            page = await campaigns.list_campaigns(session, web.ws, None, PageRequest(LIST_LIMIT, cursor))
        except Invalid as exc:
            # A damaged cursor link: the first page, with the service's message.
            extra.setdefault("problems", forms.problems(exc))
            page = await campaigns.list_campaigns(session, web.ws, None, PageRequest(LIST_LIMIT))
        rows = [(c, await campaigns.counts(session, web.ws, c.public_id)) for c in page.items]
    return render.html(
        "campaigns/list.html",
        web.page(
            title=messages.t("campaigns.title"),
            section="campaigns",
            rows=rows,
            next_cursor=page.next_cursor,
            paged=bool(cursor),
            states=PROSPECT_STATES,
            statuses=CAMPAIGN_STATUSES,
            notice=_notice(request),
            **extra,
        ),
        status=status,
    )


@router.get("")
async def campaign_list(request: Request, web: Web = Depends(in_workspace("campaigns.read"))) -> Response:
    return await _list_page(web, request)


@router.post("")
async def create(request: Request, web: Web = Depends(in_workspace("campaigns.write"))) -> Response:
    form = await request.form()
    values = {
        "name": forms.text(form, "name", 300),
        "description": forms.text(form, "description"),
        "status": forms.text(form, "status", 20),
    }
    try:
        body = forms.parse(
            CampaignIn,
            {"name": values["name"], "description": values["description"] or None, "status": values["status"] or None},
        )
        async with uow.unit_of_work(web.db) as session:
            campaign = await campaigns.create_campaign(session, web.ws, web.actor, body)
            campaign_id = campaign.public_id
    except DomainError as exc:
        return await _list_page(web, request, exc.status, problems=_user_error(exc), values=values)
    return RedirectResponse(f"{web.base()}/campaigns/{campaign_id}?notice=campaigns.created", status_code=303)


# ---------------------------------------------------------------- the ICP editor's rows


@dataclass
class RuleRow:
    """One criterion or disqualifier as the editor shows it (every value as the text of its input)."""

    id: str = ""
    label: str = ""
    field: str = ""
    op: str = ""
    value: str = ""
    min: str = ""
    max: str = ""
    weight: str = ""
    error: str | None = None
    # ``dataclasses.field``: the name ``field`` is one of this row's attributes.
    errors: dict[str, str] = dataclasses.field(default_factory=dict)

    def blank(self) -> bool:
        return not (self.field or self.label or self.value or self.min or self.max)


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def rows_of(rules: list[dict[str, Any]]) -> list[RuleRow]:
    return [
        RuleRow(
            id=str(r.get("id") or ""),
            label=str(r.get("label") or ""),
            field=str(r.get("field") or ""),
            op=str(r.get("op") or ""),
            value="" if r.get("op") == "exists" and r.get("value") is True else _shown(r.get("value")),
            min=_shown(r.get("min")),
            max=_shown(r.get("max")),
            weight=_shown(r.get("weight")),
        )
        for r in rules
    ]


def _number(text: str) -> Any:
    """A number when the text is one; otherwise the text itself, so the service names what is wrong."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _scalar(text: str, kind: str) -> Any:
    if kind == "number":
        return _number(text)
    if kind == "bool":
        return {"true": True, "yes": True, "false": False, "no": False}.get(text.lower(), text)
    return text


def _rule_of(row: RuleRow, weighted: bool) -> dict[str, Any]:
    """The rule a row means, in the API's JSON shape (typed by the field's kind, never judged here)."""
    rule: dict[str, Any] = {"field": row.field, "op": row.op}
    if row.id:
        rule["id"] = row.id
    if row.label:
        rule["label"] = row.label
    kind = icp.FIELDS.get(row.field, "text")
    if row.op in ("one_of", "contains"):
        parts = [p.strip() for p in row.value.split(",") if p.strip()]
        if parts:
            rule["value"] = [_scalar(p, kind) for p in parts]
    elif row.op == "exists":
        if row.value:
            rule["value"] = _scalar(row.value, "bool")
    elif row.value:
        rule["value"] = _scalar(row.value, kind)
    for name in ("min", "max"):
        text = getattr(row, name)
        if text:
            rule[name] = _number(text)
    if weighted and row.weight:
        rule["weight"] = _number(row.weight)
    return rule


def read_rows(form: FormData, prefix: str) -> list[RuleRow]:
    count = forms.text(form, f"{prefix}-count", 10)
    total = min(int(count), MAX_ROWS + 10) if count.isdigit() else 0
    rows = []
    for i in range(total):
        row = RuleRow()
        for name in ROW_INPUTS:
            setattr(row, name, forms.text(form, f"{prefix}-{i}-{name}", 2000))
        rows.append(row)
    return rows


@dataclass
class Editor:
    """The editor's state: rows of criteria and disqualifiers, and the problems of the last save."""

    criteria: list[RuleRow]
    disqualifiers: list[RuleRow]
    problems: forms.Problems | None = None
    unsaved: bool = False

    def rows(self, prefix: str) -> list[RuleRow]:
        return self.criteria if prefix == "c" else self.disqualifiers


def _attach(editor: Editor, exc: Invalid, positions: dict[str, list[int]]) -> None:
    """Put each error next to its input: ``criteria[2].weight`` → the weight of the row that held rule 2."""
    for error in exc.errors:
        for prefix, name in RULE_KINDS.items():
            head = f"{name}["
            if not error.field.startswith(head):
                continue
            number, _, rest = error.field[len(head) :].partition("]")
            if not number.isdigit() or int(number) >= len(positions[prefix]):
                continue
            row = editor.rows(prefix)[positions[prefix][int(number)]]
            attribute = rest.lstrip(".").split(".")[0].split("[")[0]
            if attribute in ROW_INPUTS:
                row.errors.setdefault(attribute, error.message)
            else:
                row.error = row.error or error.message


# ---------------------------------------------------------------- a campaign


@dataclass
class ProspectView:
    prospect: Any
    name: str
    outcomes: list[str] = field(default_factory=list)
    mine: bool = False


def outcomes_for(p: Prospect, email: str) -> list[str]:
    """The outcomes the queue allows from the prospect's state (a claim reports only through its holder)."""
    allowed = [o for o in OUTCOMES if p.state in queue.ALLOWED_FROM[o]]
    if p.state == "in_progress" and (p.claimed_by or "") != email:
        return []
    return allowed


def _filters(request: Request) -> tuple[str | None, str | None]:
    state = request.query_params.get("state")
    cursor = request.query_params.get("cursor") or None
    return (state if state in PROSPECT_STATES else None), cursor


async def _campaign_page(
    web: Web, request: Request, campaign_id: str, status: int = 200, editor: Editor | None = None, **extra: Any
) -> Response:
    state, cursor = _filters(request)
    async with web.db.read_session() as session:
        campaign = await campaigns.get_campaign(session, web.ws, campaign_id)
        counts = await campaigns.counts(session, web.ws, campaign_id)
        filters = campaigns.ProspectFilters(state=[state] if state else [], tier=[])
        list_error = None
        try:
            page = await campaigns.list_prospects(session, web.ws, campaign_id, filters, PageRequest(PAGE_SIZE, cursor))
        except Invalid as exc:
            page = None
            list_error = "; ".join(forms.problems(exc).summary)
        names = await contact_names(session, web.ws.id, [p.contact_id for p in page.items] if page else [])
    prospects = [
        ProspectView(
            campaigns.prospect_out(p),
            names.get(p.contact_id, messages.t("leads.unnamed")),
            outcomes_for(p, web.user.email) if web.can("campaigns.write") else [],
            p.claimed_by == web.user.email,
        )
        for p in (page.items if page else [])
    ]
    out = campaigns.campaign_out(campaign)
    return render.html(
        "campaigns/page.html",
        web.page(
            title=campaign.name,
            section="campaigns",
            campaign=out,
            counts=counts.model_dump(),
            total=sum(counts.model_dump().values()),
            states=PROSPECT_STATES,
            statuses=CAMPAIGN_STATUSES,
            state=state,
            prospects=prospects,
            next_cursor=page.next_cursor if page else None,
            paged=bool(cursor),
            list_error=list_error,
            notice=_notice(request),
            **_editor_context(editor or Editor(rows_of(out.criteria), rows_of(out.disqualifiers))),
            **extra,
        ),
        status=status,
    )


def _editor_context(editor: Editor) -> dict[str, Any]:
    return {
        "editor": editor,
        "icp_fields": list(icp.FIELDS),
        "ops_by_kind": icp.OPS_BY_KIND,
        "field_kinds": icp.FIELDS,
        "ops": ("equals", "one_of", "contains", "range", "exists"),
    }


@router.get("/{campaign_id}")
async def campaign_page(
    campaign_id: str, request: Request, web: Web = Depends(in_workspace("campaigns.read"))
) -> Response:
    return await _campaign_page(web, request, campaign_id)


@router.post("/{campaign_id}")
async def save_campaign(
    campaign_id: str, request: Request, web: Web = Depends(in_workspace("campaigns.write"))
) -> Response:
    """Name, description, status and claim time: the API's PATCH with the fields of this form."""
    form = await request.form()
    values = {name: forms.text(form, name, 300) for name in ("name", "status", "claim_ttl_seconds")}
    values["description"] = forms.text(form, "description")
    data: dict[str, Any] = {
        "name": values["name"],
        "description": values["description"] or None,
        "status": values["status"],
        "claim_ttl_seconds": _number(values["claim_ttl_seconds"]) if values["claim_ttl_seconds"] else None,
    }
    try:
        body = forms.parse(CampaignIn, {k: v for k, v in data.items() if v is not None or k == "description"})
        async with uow.unit_of_work(web.db) as session:
            await campaigns.patch_campaign(session, web.ws, web.actor, campaign_id, body)
    except DomainError as exc:
        return await _campaign_page(web, request, campaign_id, exc.status, problems=_user_error(exc), values=values)
    return RedirectResponse(f"{web.base()}/campaigns/{campaign_id}?notice=campaigns.saved", status_code=303)


@router.post("/{campaign_id}/icp")
async def edit_icp(campaign_id: str, request: Request, web: Web = Depends(in_workspace("campaigns.write"))) -> Response:
    """Add or remove editor rows (nothing saved), or save: the API's PATCH of criteria and disqualifiers,
    which re-scores every prospect. HTMX swaps only the editor; without JavaScript the whole page answers."""
    form = await request.form()
    editor = Editor(read_rows(form, "c"), read_rows(form, "d"))
    action = forms.text(form, "action", 40)
    partial = bool(request.headers.get("HX-Request"))
    if action in ("add-c", "add-d"):
        rows = editor.rows(action[-1])
        if len(rows) < MAX_ROWS:
            rows.append(RuleRow(weight="10" if action == "add-c" else ""))
        editor.unsaved = True
        return await _icp_answer(web, request, campaign_id, editor, partial)
    if action.startswith("remove-"):
        prefix, _, number = action[len("remove-") :].partition("-")
        rows = editor.rows(prefix) if prefix in RULE_KINDS else []
        if number.isdigit() and int(number) < len(rows):
            del rows[int(number)]
        editor.unsaved = True
        return await _icp_answer(web, request, campaign_id, editor, partial)
    positions: dict[str, list[int]] = {"c": [], "d": []}
    body: dict[str, Any] = {}
    for prefix, name in RULE_KINDS.items():
        rules = []
        for i, row in enumerate(editor.rows(prefix)):
            if row.blank():
                continue  # an empty row is a spare, not a rule
            positions[prefix].append(i)
            rules.append(_rule_of(row, weighted=prefix == "c"))
        body[name] = rules
    try:
        parsed = forms.parse(CampaignIn, body)
        async with uow.unit_of_work(web.db) as session:
            campaign = await campaigns.patch_campaign(session, web.ws, web.actor, campaign_id, parsed)
            rescored = sum((await campaigns.counts(session, web.ws, campaign.public_id)).model_dump().values())
    except Invalid as exc:
        editor.problems = forms.problems(exc)
        editor.unsaved = True
        _attach(editor, exc, positions)
        return await _icp_answer(web, request, campaign_id, editor, partial, status=422)
    except DomainError as exc:
        editor.problems = _user_error(exc)
        return await _icp_answer(web, request, campaign_id, editor, partial, status=exc.status)
    target = f"{web.base()}/campaigns/{campaign_id}?notice=icp_saved&n={rescored}"
    if partial:
        # The prospects' scores changed too: reload the whole page, not just the editor.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _icp_answer(
    web: Web, request: Request, campaign_id: str, editor: Editor, partial: bool, status: int = 200
) -> Response:
    if not partial:
        return await _campaign_page(web, request, campaign_id, status, editor=editor)
    async with web.db.read_session() as session:
        campaign = await campaigns.get_campaign(session, web.ws, campaign_id)
    # 200 even for errors: HTMX swaps only successful answers by default, and the editor carries them.
    return render.html(
        "campaigns/_icp.html", web.page(campaign=campaigns.campaign_out(campaign), **_editor_context(editor))
    )


# ---------------------------------------------------------------- adding a lead


async def _contact_of(web: Web, given: str) -> str:
    """The id of the lead named by its id or by any of its emails; Invalid on the form's field otherwise."""
    missing = Invalid([FieldError("lead", "not_found", messages.t("campaigns.add_not_found"), "string")])
    if not given:
        raise Invalid([FieldError("lead", "missing", messages.t("campaigns.add_missing"), "null")])
    async with web.db.read_session() as session:
        try:
            if "@" in given:
                found = await contacts.find_by_email(session, web.ws, given)
            else:
                found = await contacts.get(session, web.ws, given)
        except NotFound:
            raise missing from None
        except Invalid as exc:
            raise Invalid([FieldError("lead", e.rule, e.message, e.kind) for e in exc.errors]) from None
    if found is None:
        raise missing
    return found.public_id


@router.post("/{campaign_id}/prospects")
async def add_lead(campaign_id: str, request: Request, web: Web = Depends(in_workspace("campaigns.write"))) -> Response:
    """An existing lead into the campaign, as ``POST /v1/campaigns/{id}/prospects`` with its ``contact_id``:
    enriched first (outside the transaction), then scored and queued."""
    form = await request.form()
    given = forms.text(form, "lead", 320)
    try:
        body = forms.parse(ProspectIn, {"contact_id": await _contact_of(web, given)})
        lead = await pipeline.for_app(request.app.state).run(campaigns.lead_of(body, web.ws.default_region))
        async with uow.unit_of_work(web.db) as session:
            added = await campaigns.add_prospect(session, web.ws, web.actor, campaign_id, body, lead)
            notice = "campaigns.added" if added.created else "campaigns.already_in"
    except DomainError as exc:
        return await _campaign_page(
            web, request, campaign_id, exc.status, add_problems=_user_error(exc), add_value=given
        )
    return RedirectResponse(f"{web.base()}/campaigns/{campaign_id}?notice={notice}", status_code=303)


# ---------------------------------------------------------------- the queue


@router.post("/{campaign_id}/claim")
async def claim(campaign_id: str, request: Request, web: Web = Depends(in_workspace("campaigns.write"))) -> Response:
    """The next queued prospect for the signed-in user (the agent is their email), as the API's claim."""
    try:
        body = forms.parse(ClaimIn, {"agent": web.user.email[:100], "limit": 1})
        async with uow.unit_of_work(web.db) as session:
            taken = await queue.claim(session, web.ws, web.actor, campaign_id, body)
            count = len(taken)
    except DomainError as exc:
        return await _campaign_page(web, request, campaign_id, exc.status, queue_error=_user_error(exc))
    notice = f"notice=claimed&n={count}" if count else "notice=campaigns.nothing_queued"
    return RedirectResponse(f"{web.base()}/campaigns/{campaign_id}?state=in_progress&{notice}", status_code=303)


@router.post("/{campaign_id}/prospects/{prospect_id}/outcome")
async def report(
    campaign_id: str, prospect_id: str, request: Request, web: Web = Depends(in_workspace("campaigns.write"))
) -> Response:
    """One of the queue's transitions. A prospect the user claimed reports with that claim; another
    agent's claim is theirs to report (the service refuses it as the API does)."""
    form = await request.form()
    outcome = forms.text(form, "outcome", 40)
    back = forms.text(form, "back", 40)
    try:
        async with uow.unit_of_work(web.db) as session:
            prospect = await campaigns.get_prospect(session, web.ws, campaign_id, prospect_id)
            token = None
            if prospect.state == "in_progress" and prospect.claimed_by == web.user.email:
                token = str(prospect.claim_token) if prospect.claim_token else None
            body = forms.parse(OutcomeIn, {"outcome": outcome, "claim_token": token})
            moved = await queue.report(session, web.ws, web.actor, campaign_id, prospect_id, body)
            state = moved.state
    except DomainError as exc:
        if back == "prospect":
            problems = _user_error(exc)
            return await _prospect_page(web, request, campaign_id, prospect_id, exc.status, queue_error=problems)
        return await _campaign_page(web, request, campaign_id, exc.status, queue_error=_user_error(exc))
    where = f"/prospects/{prospect_id}" if back == "prospect" else ""
    return RedirectResponse(
        f"{web.base()}/campaigns/{campaign_id}{where}?notice=reported&state={state}", status_code=303
    )


# ---------------------------------------------------------------- a prospect


async def _prospect_page(
    web: Web, request: Request, campaign_id: str, prospect_id: str, status: int = 200, **extra: Any
) -> Response:
    async with web.db.read_session() as session:
        campaign = await campaigns.get_campaign(session, web.ws, campaign_id)
        prospect = await campaigns.get_prospect(session, web.ws, campaign_id, prospect_id)
        names = await contact_names(session, web.ws.id, [prospect.contact_id])
    name = names.get(prospect.contact_id, messages.t("leads.unnamed"))
    notice = _notice(request)
    if request.query_params.get("notice") == "reported":
        notice = messages.t("campaigns.reported", state=messages.t(f"state.{prospect.state}"))
    view = ProspectView(
        campaigns.prospect_out(prospect),
        name,
        outcomes_for(prospect, web.user.email) if web.can("campaigns.write") else [],
        prospect.claimed_by == web.user.email,
    )
    return render.html(
        "campaigns/prospect.html",
        web.page(
            title=f"{name} · {campaign.name}",
            section="campaigns",
            campaign=campaigns.campaign_out(campaign),
            view=view,
            contact_id=ids.encode(ids.CONTACT, prospect.contact_id),
            notice=notice,
            **extra,
        ),
        status=status,
    )


@router.get("/{campaign_id}/prospects/{prospect_id}")
async def prospect_page(
    campaign_id: str, prospect_id: str, request: Request, web: Web = Depends(in_workspace("campaigns.read"))
) -> Response:
    return await _prospect_page(web, request, campaign_id, prospect_id)
