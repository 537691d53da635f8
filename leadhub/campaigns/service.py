"""Campaign and prospect behaviour for every door: campaigns with their ideal customer profile, adding a
lead (contact and company written from the enriched lead, then scored and queued), re-scoring, listing.
The outreach queue (claims and outcomes) is in ``queue``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.campaigns import icp
from leadhub.campaigns.models import Campaign, Prospect
from leadhub.campaigns.schemas import (
    DEFAULT_CLAIM_TTL,
    CampaignCounts,
    CampaignIn,
    CampaignOut,
    ClaimOut,
    LeadCompany,
    LeadContact,
    ProspectIn,
    ProspectOut,
    ProspectPatch,
)
from leadhub.companies import service as companies
from leadhub.companies.models import Company
from leadhub.companies.schemas import CompanyIn
from leadhub.contacts import lookup
from leadhub.contacts import service as contacts
from leadhub.contacts.models import Contact
from leadhub.contacts.schemas import ContactIn
from leadhub.core import clock, ids
from leadhub.core.errors import DomainError, FieldError, Invalid, NotFound
from leadhub.core.pagination import Page, PageRequest, decode_cursor, encode_cursor
from leadhub.enrichment.lead import Lead
from leadhub.enrichment.offline import DomainFromEmail
from leadhub.events import service as events
from leadhub.http.errors import pydantic_errors

M = TypeVar("M", bound=BaseModel)
# Lead paths kept on the prospect's profile rather than on the contact or company rows.
PROFILE_CONTACT = ("linkedin_url", "seniority", "department", "bio", "photo_url")
PROFILE_COMPANY = ("linkedin_url", "description")
_CONTACT_COLUMNS = {
    "title": "title",
    "country": "country",
    "timezone": "timezone",
    "first_name": "first_name",
    "middle_name": "middle_name",
    "last_name": "last_name",
    "city": "address_city",
    "state": "address_state",
}
_COMPANY_FIELDS = tuple(f for f in CompanyIn.model_fields if f != "revenue_currency")


class CampaignArchived(DomainError):
    status = 409
    code = "campaign_archived"
    title = "Campaign archived"


@dataclass
class Added:
    prospect: Prospect
    created: bool


# ---------------------------------------------------------------- rendering


def campaign_out(c: Campaign) -> CampaignOut:
    return CampaignOut(
        id=c.public_id,
        workspace_id=ids.encode(ids.WORKSPACE, c.workspace_id),
        name=c.name,
        description=c.description,
        status=c.status,
        criteria=list(c.criteria),
        disqualifiers=list(c.disqualifiers),
        claim_ttl_seconds=c.claim_ttl_seconds,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def prospect_out(p: Prospect) -> ProspectOut:
    claim = None
    if p.state == "in_progress" and p.claim_token is not None and p.claimed_until is not None:
        claim = ClaimOut(agent=p.claimed_by or "", token=str(p.claim_token), until=p.claimed_until)
    return ProspectOut(
        id=p.public_id,
        campaign_id=ids.encode(ids.CAMPAIGN, p.campaign_id),
        contact_id=ids.encode(ids.CONTACT, p.contact_id),
        company_id=ids.encode(ids.COMPANY, p.company_id) if p.company_id else None,
        state=p.state,
        state_reason=p.state_reason,
        score=p.score,
        tier=p.tier,
        confidence=p.confidence,
        breakdown=p.breakdown,
        profile=p.profile,
        enriched=p.enriched,
        research_data=p.research_data,
        extra_context=p.extra_context,
        custom_data=p.custom_data,
        notes=p.notes,
        claim=claim,
        claim_count=p.claim_count,
        meeting_at=p.meeting_at,
        queued_at=p.queued_at,
        scored_at=p.scored_at,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def snapshot(p: Prospect) -> dict[str, Any]:
    return prospect_out(p).model_dump(mode="json")


def _campaign_snapshot(c: Campaign) -> dict[str, Any]:
    return campaign_out(c).model_dump(mode="json")


def record_prospect(
    session: AsyncSession,
    actor: Actor,
    p: Prospect,
    type: str,
    *,
    changes: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    payload = snapshot(p)
    if payload["claim"] is not None:  # the token is the agent's to report with, not for subscribers
        payload["claim"].pop("token", None)
    if extra:
        payload.update(extra)
    events.record(
        session,
        p.workspace_id,
        actor,
        type,
        resource_type="prospect",
        resource_id=p.id,
        contact_id=p.contact_id,
        payload=payload,
        changes=changes,
    )


def change_state(session: AsyncSession, actor: Actor, p: Prospect, to: str, reason: str | None, **extra: Any) -> None:
    """Move ``p`` to state ``to`` and record ``prospect.state_changed`` (the one place states change)."""
    before = p.state
    if before == to:
        return
    p.state = to
    p.state_reason = reason
    p.updated_at = clock.now()
    if to != "in_progress":
        p.claimed_by = p.claim_token = p.claimed_until = None
    if to == "queued":
        p.queued_at = p.updated_at if before == "disqualified" else p.queued_at
    record_prospect(
        session,
        actor,
        p,
        "prospect.state_changed",
        changes={"state": {"before": before, "after": to}},
        extra={"from": before, "to": to, "reason": reason, **extra},
    )


# ---------------------------------------------------------------- campaigns


def campaign_key(campaign_id: str) -> uuid.UUID:
    return ids.resolve(ids.CAMPAIGN, campaign_id, "campaign")


async def get_campaign(session: AsyncSession, ws: Workspace, campaign_id: str, *, lock: bool = False) -> Campaign:
    """The campaign with this id in this workspace; NotFound otherwise (also for other workspaces' ids)."""
    campaign = await session.get(
        Campaign, (ws.id, campaign_key(campaign_id)), populate_existing=True, with_for_update=lock or None
    )
    if campaign is None:
        raise NotFound("campaign")
    return campaign


async def locate_campaign(session: AsyncSession, campaign_id: str) -> Campaign | None:
    """The campaign with this id in any workspace (for doors that must tell "not yours" from "none")."""
    try:
        key = ids.decode(ids.CAMPAIGN, campaign_id)
    except ids.InvalidId:
        return None
    return await session.scalar(select(Campaign).where(Campaign.id == key).limit(1))


def _rules(data: CampaignIn) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    criteria = [c.model_dump(exclude_none=True) for c in data.criteria] if data.criteria is not None else None
    vetoes = [d.model_dump(exclude_none=True) for d in data.disqualifiers] if data.disqualifiers is not None else None
    for rules, name in ((criteria, "criteria"), (vetoes, "disqualifiers")):
        seen: set[str] = set()
        for n, rule in enumerate(rules or []):
            if "id" in rule:
                if rule["id"] in seen:
                    raise Invalid([FieldError(f"{name}[{n}].id", "unique", "must be unique in the list", "string")])
                seen.add(rule["id"])
    return criteria, vetoes


async def create_campaign(session: AsyncSession, ws: Workspace, actor: Actor, data: CampaignIn) -> Campaign:
    if not data.name:
        raise Invalid([FieldError("name", "missing", "is required", "null")])
    criteria, vetoes = _rules(data)
    now = clock.now()
    campaign = Campaign(
        workspace_id=ws.id,
        id=ids.new_uuid(),
        name=data.name,
        description=data.description,
        status=data.status or "draft",
        criteria=criteria or [],
        disqualifiers=vetoes or [],
        claim_ttl_seconds=data.claim_ttl_seconds or DEFAULT_CLAIM_TTL,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    await session.flush()
    events.record(
        session,
        ws.id,
        actor,
        "campaign.created",
        resource_type="campaign",
        resource_id=campaign.id,
        payload=_campaign_snapshot(campaign),
    )
    return campaign


async def patch_campaign(
    session: AsyncSession, ws: Workspace, actor: Actor, campaign_id: str, data: CampaignIn
) -> Campaign:
    """Change the given fields; new criteria or disqualifiers re-score every prospect of the campaign."""
    campaign = await get_campaign(session, ws, campaign_id, lock=True)
    given = data.model_fields_set
    for name in ("name", "status", "claim_ttl_seconds"):
        if name in given and getattr(data, name) is None:
            raise Invalid([FieldError(name, "not_null", "must not be null (send a value, or omit the field)", "null")])
    before = _campaign_snapshot(campaign)
    criteria, vetoes = _rules(data)
    for name in ("name", "description", "status", "claim_ttl_seconds"):
        if name in given:
            setattr(campaign, name, getattr(data, name))
    if criteria is not None:
        campaign.criteria = criteria
    if vetoes is not None:
        campaign.disqualifiers = vetoes
    after = _campaign_snapshot(campaign)
    changes = events.changes(before, after)
    if changes:
        campaign.updated_at = clock.now()
        await session.flush()
        events.record(
            session,
            ws.id,
            actor,
            "campaign.updated",
            resource_type="campaign",
            resource_id=campaign.id,
            payload=_campaign_snapshot(campaign),
            changes=changes,
        )
    if "criteria" in changes or "disqualifiers" in changes:
        await rescore_campaign(session, ws, actor, campaign, reason="criteria_changed")
    return campaign


async def delete_campaign(session: AsyncSession, ws: Workspace, actor: Actor, campaign_id: str) -> None:
    """Delete a campaign and its prospects (the contacts stay)."""
    campaign = await get_campaign(session, ws, campaign_id)
    payload = _campaign_snapshot(campaign)
    await session.delete(campaign)
    await session.flush()
    events.record(
        session, ws.id, actor, "campaign.deleted", resource_type="campaign", resource_id=campaign.id, payload=payload
    )


async def list_campaigns(session: AsyncSession, ws: Workspace, status: str | None, page: PageRequest) -> Page[Campaign]:
    """Newest first."""
    stmt = select(Campaign).where(Campaign.workspace_id == ws.id)
    if status is not None:
        stmt = stmt.where(Campaign.status == status)
    after = decode_cursor(page.cursor, "campaigns")
    if after is not None:
        at, key = _cursor_values(after)
        stmt = stmt.where(or_(Campaign.created_at < at, and_(Campaign.created_at == at, Campaign.id < key)))
    rows = list(
        await session.scalars(stmt.order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(page.limit + 1))
    )
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor("campaigns", [rows[-1].created_at.isoformat(), str(rows[-1].id)]) if has_more else None
    return Page(items=rows, next_cursor=cursor, has_more=has_more)


def _cursor_values(values: list[Any]) -> tuple[datetime, uuid.UUID]:
    try:
        return datetime.fromisoformat(values[0]), uuid.UUID(values[1])
    except (ValueError, TypeError, IndexError):
        raise Invalid([FieldError("cursor", "cursor", "is not a cursor of this listing", "string")]) from None


async def counts(session: AsyncSession, ws: Workspace, campaign_id: str) -> CampaignCounts:
    """How many prospects the campaign holds in each state."""
    campaign = await get_campaign(session, ws, campaign_id)
    rows = await session.execute(
        select(Prospect.state, func.count())
        .where(Prospect.workspace_id == ws.id, Prospect.campaign_id == campaign.id)
        .group_by(Prospect.state)
    )
    return CampaignCounts(**{state: n for state, n in rows})


# ---------------------------------------------------------------- leads in


def lead_of(data: ProspectIn, region: str | None) -> Lead:
    """The lead a body gives, as flat ``contact.*`` / ``company.*`` values (only the fields sent)."""
    values: dict[str, Any] = {}
    for section, model in (("contact", data.contact), ("company", data.company)):
        if model is not None:
            values.update({f"{section}.{k}": getattr(model, k) for k in model.model_fields_set})
    return Lead.from_given(values, region)


def _valid_guesses(model: type[BaseModel], guesses: dict[str, Any]) -> dict[str, Any]:
    """Guesses (a provider's, say) that pass ``model``'s rules; a bad guess is dropped, never an error."""
    kept = {}
    for name, value in guesses.items():
        try:
            model.model_validate({name: value})
        except ValidationError:
            continue
        kept[name] = value
    return kept


def _split(lead: Lead, section: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The section's given values, and its guesses that pass the lead schema (a provider speaks loosely)."""
    values = lead.section(section)
    given = {k: v for k, v in values.items() if f"{section}.{k}" in lead.given}
    guessed = {k: v for k, v in values.items() if f"{section}.{k}" not in lead.given}
    return given, _valid_guesses(LeadContact if section == "contact" else LeadCompany, guessed)


def _parse(model: type[M], data: dict[str, Any], prefix: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [FieldError(f"{prefix}.{e.field}", e.rule, e.message, e.kind) for e in pydantic_errors(exc.errors())]
        raise Invalid(errors) from None


async def _company_by_name(session: AsyncSession, ws_id: uuid.UUID, name: str) -> Company | None:
    return await session.scalar(
        select(Company)
        .where(Company.workspace_id == ws_id, Company.domain.is_(None), func.lower(Company.name) == name.lower())
        .order_by(Company.created_at)
        .limit(1)
    )


async def _link_company(session: AsyncSession, ws: Workspace, actor: Actor, lead: Lead) -> Company | None:
    """Find the lead's company by domain (or, without one, by name) or create it; fill it from the lead:
    given firmographics are written, guesses only fill empty fields, and an existing name stays."""
    given, guessed = _split(lead, "company")
    given = {k: v for k, v in given.items() if k in _COMPANY_FIELDS}
    guessed = _valid_guesses(CompanyIn, {k: v for k, v in guessed.items() if k in _COMPANY_FIELDS})
    domain, name = lead.get("company.domain"), lead.get("company.name")
    if not domain and not name:
        return None
    company = await companies.find_by_domain(session, ws.id, domain) if domain else None
    if company is None and not domain and isinstance(name, str):
        company = await _company_by_name(session, ws.id, name)
    if company is None:
        fields = {**guessed, **given}
        fields.setdefault("name", domain)
        data = _parse(CompanyIn, fields, "company")
        mark = events.mark(session)
        try:
            async with session.begin_nested():
                return await companies.create(session, ws, actor, data)
        except IntegrityError:  # a concurrent lead created the same domain's company first
            events.discard_since(session, mark)
            company = await companies.find_by_domain(session, ws.id, domain) if domain else None
            if company is None:
                raise
    current = companies.snapshot(company)
    fields = {k: v for k, v in guessed.items() if current.get(k) in (None, "", [])}
    fields.update({k: v for k, v in given.items() if k not in ("name", "domain")})
    fields = {k: v for k, v in fields.items() if current.get(k) != v}
    if fields:
        company = await companies.patch(session, ws, actor, company.public_id, _parse(CompanyIn, fields, "company"))
    return company


def _contact_value(contact: Contact, name: str) -> Any:
    if name in ("email", "phone"):
        return contact.primary_email if name == "email" else contact.primary_phone
    if name == "name":
        return contact.name
    column = _CONTACT_COLUMNS.get(name)
    return getattr(contact, column) if column else None


def _contact_in(lead: Lead, existing: Contact | None, company: Company | None, company_given: bool) -> ContactIn:
    given, guessed = _split(lead, "contact")
    if existing is not None:  # a guess never overwrites what the contact already holds
        guessed = {k: v for k, v in guessed.items() if _contact_value(existing, k) in (None, "")}
        if given.get("first_name") or given.get("last_name"):
            guessed = {k: v for k, v in guessed.items() if not k.endswith("_name")}
    values = {**guessed, **given}
    data: dict[str, Any] = {}
    for name in ("name", "first_name", "middle_name", "last_name", "email", "phone", "title", "country", "timezone"):
        if name in values:
            data[name] = values[name]
    address = {k: values[k] for k in ("city", "state") if k in values}
    if address:
        data["address"] = address
    if company is not None and (company_given or existing is None or existing.company_id is None):
        data["company_id"] = company.public_id
        if lead.get("company.name") and "company.name" in lead.given:
            data["company_name"] = lead.get("company.name")
        elif existing is None or not existing.company_name:
            data["company_name"] = company.name
    return _parse(ContactIn, data, "contact")


async def _write_contact(
    session: AsyncSession, ws: Workspace, actor: Actor, data: ProspectIn, lead: Lead, company: Company | None
) -> Contact:
    company_given = any(p.startswith("company.") for p in lead.given)
    if data.contact_id is not None:
        contact = await contacts.get(session, ws, data.contact_id)
        patch = _contact_in(lead, contact, company, company_given)
        # The body's email and phone identify the contact it names; they are not moved onto it.
        given = patch.model_fields_set - {"email", "phone"}
        if given:
            contact = await contacts.patch(
                session, ws, actor, contact.public_id, ContactIn(**{k: getattr(patch, k) for k in given})
            )
        return contact
    if not lead.has("contact.email") and not lead.has("contact.phone"):
        raise Invalid([FieldError("contact.email", "missing", "is required (or contact_id)", "null")])
    probe = ContactIn(email=lead.get("contact.email"), phone=lead.get("contact.phone"))
    existing = await lookup.find_matching(session, ws, probe)
    result = await contacts.upsert(session, ws, actor, _contact_in(lead, existing, company, company_given))
    return result.contact


def _profile(current: dict[str, Any], lead: Lead) -> dict[str, Any]:
    """Profile data: given values replace, guesses only fill empty slots."""
    profile = {section: dict(current.get(section) or {}) for section in ("contact", "company")}
    for section, keys in (("contact", PROFILE_CONTACT), ("company", PROFILE_COMPANY)):
        given, guessed = _split(lead, section)
        for key in keys:
            if key in given:
                profile[section][key] = given[key]
            elif key in guessed and not profile[section].get(key):
                profile[section][key] = guessed[key]
    return {k: v for k, v in profile.items() if v}


def _merge(current: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    merged = dict(current)
    for key, value in (given or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def add_prospect(
    session: AsyncSession,
    ws: Workspace,
    actor: Actor,
    campaign_id: str,
    data: ProspectIn,
    lead: Lead,
    *,
    retry: bool = True,
) -> Added:
    """Put a lead (already enriched) into the campaign: write its contact and company, score it against the
    campaign's criteria and queue it. A contact already in the campaign has its prospect updated."""
    campaign = await get_campaign(session, ws, campaign_id)
    if campaign.status == "archived":
        raise CampaignArchived("The campaign is archived: it takes no new leads")
    existing_contact = await contacts.get(session, ws, data.contact_id) if data.contact_id else None
    if existing_contact is not None and not lead.has("contact.email") and existing_contact.primary_email:
        # The named contact's own work email may still point at its company.
        probe = Lead.from_given({"contact.email": existing_contact.primary_email})
        await DomainFromEmail().enrich(probe)
        lead.suggest("company.domain", probe.get("company.domain"), "domain_from_email")
    company = await _link_company(session, ws, actor, lead)
    contact = await _write_contact(session, ws, actor, data, lead, company)
    if company is None and contact.company_id is not None:
        company = await session.get(Company, (ws.id, contact.company_id))
    prospect = await session.scalar(
        select(Prospect).where(
            Prospect.workspace_id == ws.id, Prospect.campaign_id == campaign.id, Prospect.contact_id == contact.id
        )
    )
    enriched = {"guessed": dict(lead.guessed), **({"skipped": dict(lead.skipped)} if lead.skipped else {})}
    now = clock.now()
    if prospect is None:
        prospect = Prospect(
            workspace_id=ws.id,
            id=ids.new_uuid(),
            campaign_id=campaign.id,
            contact_id=contact.id,
            company_id=company.id if company else None,
            state="queued",
            state_reason=None,
            profile=_profile({}, lead),
            enriched=enriched,
            research_data=dict(data.research_data or {}),
            extra_context=dict(data.extra_context or {}),
            custom_data=dict(data.custom_data or {}),
            notes=data.notes,
            claim_count=0,
            queued_at=now,
            created_at=now,
            updated_at=now,
        )
        result = _score(campaign, contact, company, prospect.profile)
        _apply_score(prospect, result, now)
        if result.disqualified:
            prospect.state, prospect.state_reason = "disqualified", "disqualifier"
        mark = events.mark(session)
        try:
            async with session.begin_nested():
                session.add(prospect)
                await session.flush()
        except IntegrityError:  # the same contact was added concurrently: update the winner's prospect
            events.discard_since(session, mark)
            if not retry:
                raise
            return await add_prospect(session, ws, actor, campaign_id, data, lead, retry=False)
        record_prospect(session, actor, prospect, "prospect.created")
        return Added(prospect, created=True)

    before = snapshot(prospect)
    prospect.company_id = company.id if company else prospect.company_id
    prospect.profile = _profile(prospect.profile, lead)
    prospect.enriched = {
        "guessed": {**(prospect.enriched.get("guessed") or {}), **lead.guessed},
        **({"skipped": dict(lead.skipped)} if lead.skipped else {}),
    }
    prospect.research_data = _merge(prospect.research_data, data.research_data)
    prospect.extra_context = _merge(prospect.extra_context, data.extra_context)
    prospect.custom_data = _merge(prospect.custom_data, data.custom_data)
    if "notes" in data.model_fields_set:
        prospect.notes = data.notes
    _record_update(session, actor, prospect, before)
    await rescore(session, ws, actor, campaign, prospect, reason="lead_updated")
    return Added(prospect, created=False)


def _record_update(session: AsyncSession, actor: Actor, prospect: Prospect, before: dict[str, Any]) -> None:
    after = snapshot(prospect)
    changes = events.changes(before, after)
    changes.pop("updated_at", None)
    if changes:
        prospect.updated_at = clock.now()
        record_prospect(session, actor, prospect, "prospect.updated", changes=changes)


# ---------------------------------------------------------------- scoring


def _score(campaign: Campaign, contact: Contact, company: Company | None, profile: dict[str, Any]) -> icp.Score:
    criteria = [icp.Criterion.model_validate(c) for c in campaign.criteria]
    vetoes = [icp.Disqualifier.model_validate(d) for d in campaign.disqualifiers]
    person = {"title": contact.title, "country": contact.country, "timezone": contact.timezone, "tags": contact.tags}
    firm = companies.snapshot(company) if company is not None else None
    return icp.score(criteria, vetoes, icp.facts(person, firm, profile))


def _apply_score(prospect: Prospect, result: icp.Score, now: datetime) -> None:
    prospect.score, prospect.tier, prospect.confidence = result.score, result.tier, result.confidence
    prospect.breakdown = result.breakdown
    prospect.scored_at = now


async def rescore(
    session: AsyncSession, ws: Workspace, actor: Actor, campaign: Campaign, prospect: Prospect, *, reason: str
) -> bool:
    """Score the prospect again from its current data; ``prospect.rescored`` when anything moved, and a
    state change when a disqualifier starts or stops matching. True when the score changed."""
    contact = await session.get(Contact, (ws.id, prospect.contact_id))
    if contact is None:
        return False
    company = await session.get(Company, (ws.id, prospect.company_id)) if prospect.company_id else None
    result = _score(campaign, contact, company, prospect.profile)
    old = {"score": prospect.score, "tier": prospect.tier, "confidence": prospect.confidence}
    new = {"score": result.score, "tier": result.tier, "confidence": result.confidence}
    moved = old != new or prospect.breakdown != result.breakdown
    if moved:
        now = clock.now()
        _apply_score(prospect, result, now)
        prospect.updated_at = now
        changes = events.changes(old, new)
        record_prospect(session, actor, prospect, "prospect.rescored", changes=changes, extra={"reason": reason})
    if result.disqualified and prospect.state in ("queued", "in_progress"):
        change_state(session, actor, prospect, "disqualified", "disqualifier")
    elif not result.disqualified and prospect.state == "disqualified" and prospect.state_reason == "disqualifier":
        change_state(session, actor, prospect, "queued", "requalified")
    return moved


async def rescore_campaign(
    session: AsyncSession, ws: Workspace, actor: Actor, campaign: Campaign, *, reason: str
) -> tuple[int, int]:
    """Re-score every prospect of the campaign: (how many scored, how many changed)."""
    prospects = (
        await session.scalars(
            select(Prospect)
            .where(Prospect.workspace_id == ws.id, Prospect.campaign_id == campaign.id)
            .order_by(Prospect.id)
        )
    ).all()
    changed = 0
    for prospect in prospects:
        changed += await rescore(session, ws, actor, campaign, prospect, reason=reason)
    await session.flush()
    return len(prospects), changed


async def rescore_all(session: AsyncSession, ws: Workspace, actor: Actor, campaign_id: str) -> tuple[int, int]:
    """Re-score a campaign on request (after its contacts' or companies' data changed elsewhere)."""
    campaign = await get_campaign(session, ws, campaign_id, lock=True)
    return await rescore_campaign(session, ws, actor, campaign, reason="requested")


# ---------------------------------------------------------------- prospects


def prospect_key(prospect_id: str) -> uuid.UUID:
    return ids.resolve(ids.PROSPECT, prospect_id, "prospect")


async def get_prospect(
    session: AsyncSession, ws: Workspace, campaign_id: str, prospect_id: str, *, lock: bool = False
) -> Prospect:
    """The prospect of this campaign; NotFound for another campaign's or workspace's id."""
    campaign = campaign_key(campaign_id)
    prospect = await session.get(
        Prospect, (ws.id, prospect_key(prospect_id)), populate_existing=True, with_for_update=lock or None
    )
    if prospect is None or prospect.campaign_id != campaign:
        await get_campaign(session, ws, campaign_id)  # "campaign not found" when that is what is missing
        raise NotFound("prospect")
    return prospect


async def patch_prospect(
    session: AsyncSession, ws: Workspace, actor: Actor, campaign_id: str, prospect_id: str, data: ProspectPatch
) -> Prospect:
    """Merge research data, extra context and custom data; set notes, seniority, department (re-scored)."""
    campaign = await get_campaign(session, ws, campaign_id)
    prospect = await get_prospect(session, ws, campaign_id, prospect_id, lock=True)
    before = snapshot(prospect)
    prospect.research_data = _merge(prospect.research_data, data.research_data)
    prospect.extra_context = _merge(prospect.extra_context, data.extra_context)
    prospect.custom_data = _merge(prospect.custom_data, data.custom_data)
    given = data.model_fields_set
    if "notes" in given:
        prospect.notes = data.notes
    person = dict(prospect.profile.get("contact") or {})
    for name in ("seniority", "department"):
        if name in given:
            value = getattr(data, name)
            if value:
                person[name] = value
            else:
                person.pop(name, None)
    prospect.profile = (
        {**prospect.profile, "contact": person}
        if person
        else {k: v for k, v in prospect.profile.items() if k != "contact"}
    )
    _record_update(session, actor, prospect, before)
    await rescore(session, ws, actor, campaign, prospect, reason="prospect_updated")
    await session.flush()
    return prospect


async def delete_prospect(
    session: AsyncSession, ws: Workspace, actor: Actor, campaign_id: str, prospect_id: str
) -> None:
    prospect = await get_prospect(session, ws, campaign_id, prospect_id)
    payload = snapshot(prospect)
    await session.delete(prospect)
    await session.flush()
    events.record(
        session,
        ws.id,
        actor,
        "prospect.deleted",
        resource_type="prospect",
        resource_id=prospect.id,
        contact_id=prospect.contact_id,
        payload=payload,
    )


@dataclass
class ProspectFilters:
    state: list[str]
    tier: list[str]
    contact_id: str | None = None


async def list_prospects(
    session: AsyncSession, ws: Workspace, campaign_id: str, filters: ProspectFilters, page: PageRequest
) -> Page[Prospect]:
    """In queue order: best score first, then the longest waiting."""
    campaign = await get_campaign(session, ws, campaign_id)
    stmt = select(Prospect).where(Prospect.workspace_id == ws.id, Prospect.campaign_id == campaign.id)
    if filters.state:
        stmt = stmt.where(Prospect.state.in_(filters.state))
    if filters.tier:
        stmt = stmt.where(Prospect.tier.in_(filters.tier))
    if filters.contact_id is not None:
        try:
            stmt = stmt.where(Prospect.contact_id == ids.decode(ids.CONTACT, filters.contact_id))
        except ids.InvalidId:
            return Page(items=[], next_cursor=None, has_more=False)
    after = decode_cursor(page.cursor, "prospects")
    if after is not None:
        try:
            score, at, key = int(after[0]), datetime.fromisoformat(after[1]), uuid.UUID(after[2])
        except (ValueError, TypeError, IndexError):
            raise Invalid([FieldError("cursor", "cursor", "is not a cursor of this listing", "string")]) from None
        stmt = stmt.where(
            or_(
                Prospect.score < score,
                and_(Prospect.score == score, Prospect.queued_at > at),
                and_(Prospect.score == score, Prospect.queued_at == at, Prospect.id > key),
            )
        )
    order = (Prospect.score.desc(), Prospect.queued_at, Prospect.id)
    rows = list((await session.scalars(stmt.order_by(*order).limit(page.limit + 1))).all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = None
    if has_more:
        last = rows[-1]
        cursor = encode_cursor("prospects", [last.score, last.queued_at.isoformat(), str(last.id)])
    return Page(items=rows, next_cursor=cursor, has_more=has_more)
