"""Magnetite "Add Lead to Campaign" (seed 002), mounted at /compat/magnetite; clients set the base URL
``http://HOST/compat/magnetite`` and POST ``/api/campaigns/:campaignId/leads``.

Campaigns belong to an organization: an organization key may address a campaign of any of its
workspaces (the campaign's workspace is the one acted in); another organization's campaign is 403, an
unknown one 404. Flat lead fields and the ``company`` / ``contact`` enrichment objects map onto the
canonical lead; the answer is ``{success, prospectId, status, message}``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from leadhub.auth import service as auth
from leadhub.auth.models import Workspace
from leadhub.campaigns import service as campaigns
from leadhub.campaigns.schemas import ProspectIn
from leadhub.compat.common import bearer_token, json_object, json_response, parse, renamed
from leadhub.core.errors import DomainError, FieldError, Forbidden, Invalid, NotFound, Unauthenticated
from leadhub.enrichment import pipeline
from leadhub.http import errors
from leadhub.http.context import Ctx, authenticate_request

PREFIX = "/compat/magnetite"
DOOR = "compat:magnetite"
router = APIRouter(prefix=f"{PREFIX}/api/campaigns", tags=["compat: Magnetite"])

REQUIRED = ("companyName", "contactName", "email")
# Canonical field paths as a Magnetite client names them, for error bodies.
RENAMES = {
    "contact.name": "contactName",
    "contact.email": "email",
    "contact.title": "title",
    "contact.phone": "phone",
    "contact.linkedin_url": "linkedInUrl",
    "contact.photo_url": "contact.photoUrl",
    "company.name": "companyName",
    "company.domain": "domain",
    "company.linkedin_url": "companyLinkedInUrl",
    "company.sub_industry": "company.subIndustry",
    "company.employee_count": "company.employeeCount",
    "company.employee_range": "company.employeeRange",
    "company.annual_revenue": "company.revenue",
    "company.revenue_range": "company.revenueRange",
    "company.founded_year": "company.foundedYear",
    "company.funding_stage": "company.fundingStage",
    "research_data": "researchData",
    "extra_context": "extraContext",
    "custom_data": "customData",
}
# Magnetite's company / contact enrichment keys → canonical lead keys.
COMPANY_KEYS = {
    "description": "description",
    "website": "website",
    "linkedinUrl": "linkedin_url",
    "industry": "industry",
    "subIndustry": "sub_industry",
    "employeeCount": "employee_count",
    "employeeRange": "employee_range",
    "revenue": "annual_revenue",
    "revenueRange": "revenue_range",
    "foundedYear": "founded_year",
    "fundingStage": "funding_stage",
    "headquarters": "headquarters",
    "country": "country",
    "technologies": "technologies",
}
CONTACT_KEYS = {
    "bio": "bio",
    "photoUrl": "photo_url",
    "seniority": "seniority",
    "department": "department",
    "city": "city",
    "state": "state",
    "country": "country",
    "timezone": "timezone",
}
SIGNAL_TYPES = {"recentFunding": "recent_funding", "hiringSignals": "hiring", "growthIndicators": "growth"}
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_MESSAGES = {
    "queued": "Lead added to campaign and queued for outreach",
    "disqualified": "Lead added to campaign but disqualified by the campaign's ICP criteria",
}


class MagnetiteLead(BaseModel):
    """The documented request fields; values are checked by the canonical schemas."""

    model_config = ConfigDict(extra="ignore")
    companyName: Any = None
    contactName: Any = None
    email: Any = None
    domain: Any = None
    title: Any = None
    phone: Any = None
    linkedInUrl: Any = None
    companyLinkedInUrl: Any = None
    notes: Any = None
    company: Any = None
    contact: Any = None
    researchData: Any = None
    extraContext: Any = None
    customData: Any = None


def snake(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower()


def _snake_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {snake(k): _snake_keys(v) for k, v in value.items()}
    return value


def signals(value: Any) -> Any:
    """``{"hiringSignals": {"isHiring": true, "openRoles": 15}, …}`` → ``[{"type": "hiring",
    "is_hiring": true, "open_roles": 15}, …]``; a list is taken as it is."""
    if not isinstance(value, dict):
        return value
    out = []
    for key, detail in value.items():
        kind = SIGNAL_TYPES.get(key, snake(key))
        out.append(
            {"type": kind, **_snake_keys(detail)} if isinstance(detail, dict) else {"type": kind, "value": detail}
        )
    return out


def missing(body: dict[str, Any]) -> list[str]:
    """The required fields left out, null or blank."""
    return [f for f in REQUIRED if body.get(f) is None or (isinstance(body[f], str) and not body[f].strip())]


def to_canonical(body: MagnetiteLead) -> ProspectIn:
    """The canonical lead of a Magnetite body. The flat fields win over the same data in the objects."""
    contact: dict[str, Any] = {}
    company: dict[str, Any] = {}
    errors_: list[FieldError] = []
    for name, value, keys, target in (
        ("contact", body.contact, CONTACT_KEYS, contact),
        ("company", body.company, COMPANY_KEYS, company),
    ):
        if value is None:
            continue
        if not isinstance(value, dict):
            errors_.append(FieldError(name, "type", "must be an object", type(value).__name__))
            continue
        target.update({keys[k]: v for k, v in value.items() if k in keys})
        if name == "company" and "signals" in value:
            company["signals"] = signals(value["signals"])
    if errors_:
        raise Invalid(errors_)
    flat_contact = {
        "name": body.contactName,
        "email": body.email,
        "title": body.title,
        "phone": body.phone,
        "linkedin_url": body.linkedInUrl,
    }
    flat_company = {"name": body.companyName, "domain": body.domain, "linkedin_url": body.companyLinkedInUrl}
    contact.update({k: v for k, v in flat_contact.items() if v is not None})
    company.update({k: v for k, v in flat_company.items() if v is not None})
    data: dict[str, Any] = {"contact": contact, "company": company}
    for canonical_name, value in (
        ("research_data", body.researchData),
        ("extra_context", body.extraContext),
        ("custom_data", body.customData),
        ("notes", body.notes),
    ):
        if value is not None:
            data[canonical_name] = value
    return parse(ProspectIn, data)


def to_vendor(prospect_id: str, state: str, created: bool) -> dict[str, Any]:
    message = _MESSAGES.get(state, f"Lead updated in campaign ({state})") if created else "Lead updated in campaign"
    if not created and state == "queued":
        message = "Lead updated in campaign and queued for outreach"
    return {"success": True, "prospectId": prospect_id, "status": state, "message": message}


async def campaign_ctx(request: Request, campaign_id: str) -> Ctx:
    """Authenticate (401), find the campaign in any workspace (404), check it is the key's organization's
    (403) and, for a workspace key, its workspace's (404); then act in the campaign's workspace."""
    raw = bearer_token(request)
    async with request.app.state.db.read_session() as session:
        principal = (await auth.authenticate(session, raw)).principal
        campaign = await campaigns.locate_campaign(session, campaign_id)
        workspace = await session.get(Workspace, campaign.workspace_id) if campaign is not None else None
        if campaign is None or workspace is None:
            raise NotFound("campaign", "Campaign not found")
        if workspace.organization_id != principal.organization_id:
            raise Forbidden("Campaign doesn't belong to your organization")
        if principal.workspace_id is not None and principal.workspace_id != workspace.id:
            raise NotFound("campaign", "Campaign not found")
    return await authenticate_request(request, raw, workspace.public_id, "campaigns.write", DOOR)


@router.post("/{campaignId}/leads", summary="Add a lead to a campaign (scored and queued for outreach)")
async def add_lead(campaignId: str, request: Request) -> Response:
    """201 with ``{success, prospectId, status: "queued", message}``; 200 when the lead was already in the
    campaign (its prospect is updated). 400 names missing or invalid fields."""
    ctx = await campaign_ctx(request, campaignId)
    raw = await json_object(request)
    absent = missing(raw)
    if absent:
        raise Invalid([FieldError(name, "missing", "is required", "null") for name in absent])
    body = parse(MagnetiteLead, raw)
    data = to_canonical(body)
    lead = await pipeline.for_app(request.app.state).run(campaigns.lead_of(data, ctx.workspace.default_region))
    async with ctx.write() as tx:
        added = await campaigns.add_prospect(tx.session, ctx.workspace, ctx.actor, campaignId, data, lead)
        answer = to_vendor(added.prospect.public_id, added.prospect.state, added.created)
        return tx.respond(answer, 201 if added.created else 200)


def _failure(status: int, error: str, code: str, **extra: Any) -> Response:
    return json_response({"success": False, "error": error, "code": code, **extra}, status)


def render_error(_request: Request, exc: DomainError) -> Response:
    """``{success: false, error, code}``: 400 with ``missingFields`` or ``fields`` naming Magnetite fields,
    401 for a bad key, 403 another organization's campaign (or a key without the scope), 404 no campaign."""
    if isinstance(exc, Invalid):
        fields = renamed(exc.errors, RENAMES)
        absent = [e.field for e in fields if e.rule == "missing"]
        if absent and len(absent) == len(fields):
            return _failure(
                400, f"Missing required fields: {', '.join(absent)}", "MISSING_FIELDS", missingFields=absent
            )
        details = [{"field": e.field, "message": e.message} for e in fields]
        summary = "; ".join(f"{e.field} {e.message}" for e in fields)
        return _failure(400, f"Invalid fields: {summary}", "INVALID_FIELDS", fields=details)
    if isinstance(exc, Unauthenticated):
        return _failure(401, "Invalid or missing API key", "UNAUTHORIZED")
    if isinstance(exc, Forbidden):
        return _failure(403, exc.detail, "FORBIDDEN")
    if isinstance(exc, NotFound):
        return _failure(404, "Campaign not found" if exc.resource == "campaign" else exc.detail, "NOT_FOUND")
    if exc.status == 400:
        return _failure(400, exc.detail, "BAD_REQUEST")
    return _failure(exc.status, exc.detail, exc.code.upper())


errors.register_renderer(PREFIX, render_error)
