"""Company behaviour for every door: create, patch, delete, look-ups by id and domain, listing, and the
link from a contact's work email to the company of its domain."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.companies.domains import normalize_domain
from leadhub.companies.freemail import is_personal_domain
from leadhub.companies.models import Company
from leadhub.companies.schemas import CompanyIn, CompanyOut
from leadhub.contacts.models import Contact
from leadhub.core import clock, ids
from leadhub.core.errors import Conflict, FieldError, Invalid, NotFound
from leadhub.core.pagination import Page, PageRequest, decode_cursor, encode_cursor
from leadhub.core.validation import ValidationFailure
from leadhub.deals.models import Deal
from leadhub.events import service as events

_FIELDS = (
    "name",
    "domain",
    "website",
    "industry",
    "sub_industry",
    "employee_count",
    "employee_range",
    "annual_revenue",
    "revenue_currency",
    "revenue_range",
    "founded_year",
    "funding_stage",
    "headquarters",
    "country",
    "technologies",
    "signals",
)
_LISTS = {"technologies", "signals"}


@dataclass
class CompanyFilters:
    q: str | None = None
    domain: str | None = None
    industry: str | None = None
    country: str | None = None
    funding_stage: str | None = None


def to_out(c: Company) -> CompanyOut:
    return CompanyOut(
        id=c.public_id,
        **{name: getattr(c, name) for name in _FIELDS if name not in _LISTS},
        technologies=list(c.technologies),
        signals=list(c.signals),
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def snapshot(c: Company) -> dict[str, Any]:
    return to_out(c).model_dump(mode="json")


def company_key(company_id: str) -> uuid.UUID:
    return ids.resolve(ids.COMPANY, company_id, "company")


async def get(session: AsyncSession, ws: Workspace, company_id: str) -> Company:
    """The company with this id in this workspace; NotFound otherwise (also for other workspaces' ids)."""
    company = await session.get(Company, (ws.id, company_key(company_id)), populate_existing=True)
    if company is None:
        raise NotFound("company")
    return company


async def reference(session: AsyncSession, ws_id: uuid.UUID, company_id: str | None, field: str) -> uuid.UUID | None:
    """The key of a company named in a body (``company_id`` of a contact or deal); 422 naming ``field``
    when no such company is in the workspace."""
    if company_id is None:
        return None
    try:
        key = ids.decode(ids.COMPANY, company_id)
    except ids.InvalidId:
        key = None
    if key is None or await session.get(Company, (ws_id, key)) is None:
        raise Invalid([FieldError(field, "exists", "is not a company of this workspace", "string")])
    return key


async def find_by_domain(session: AsyncSession, ws_id: uuid.UUID, domain: str) -> Company | None:
    return await session.scalar(select(Company).where(Company.workspace_id == ws_id, Company.domain == domain))


def work_domain(email: str | None) -> str | None:
    """The domain of a work email, the one a company may own; None for free-mail or disposable domains."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].lower()
    return None if is_personal_domain(domain) else domain


async def company_for_email(session: AsyncSession, ws_id: uuid.UUID, email: str | None) -> uuid.UUID | None:
    """The company whose domain is this work email's; never for free-mail or disposable domains."""
    domain = work_domain(email)
    if domain is None:
        return None
    company = await find_by_domain(session, ws_id, domain)
    return company.id if company is not None else None


def _search_text(c: Company) -> str:
    return " ".join(p for p in (c.name, c.domain) if p).lower()


async def _apply(session: AsyncSession, ws: Workspace, company: Company, data: CompanyIn, creating: bool) -> None:
    given = data.model_fields_set
    if creating and not data.name:
        raise Invalid([FieldError("name", "missing", "is required", "null")])
    if "name" in given and data.name is None:
        raise Invalid([FieldError("name", "required", "must not be null", "null")])
    for name in _FIELDS:
        if name in given:
            value = getattr(data, name)
            setattr(company, name, (value or []) if name in _LISTS else value)
        elif creating:
            setattr(company, name, [] if name in _LISTS else None)
    if "domain" not in given and "website" in given and data.website and (creating or company.domain is None):
        # A website that names no domain leaves the domain unset.
        with contextlib.suppress(ValidationFailure):
            company.domain = normalize_domain(data.website)
    if company.domain is not None:
        owner = await find_by_domain(session, ws.id, company.domain)
        if owner is not None and owner.id != company.id:
            raise Conflict(
                "domain",
                owner.public_id,
                code="duplicate_domain",
                value=company.domain,
                detail="domain: this domain already belongs to another company",
            )
    company.search_text = _search_text(company)


async def create(session: AsyncSession, ws: Workspace, actor: Actor, data: CompanyIn) -> Company:
    """A new company; 409 when its domain belongs to another company of the workspace."""
    now = clock.now()
    company = Company(workspace_id=ws.id, id=ids.new_uuid(), created_at=now, updated_at=now)
    await _apply(session, ws, company, data, creating=True)
    session.add(company)
    await session.flush()
    events.record(
        session,
        ws.id,
        actor,
        "company.created",
        resource_type="company",
        resource_id=company.id,
        payload=snapshot(company),
    )
    return company


async def patch(session: AsyncSession, ws: Workspace, actor: Actor, company_id: str, data: CompanyIn) -> Company:
    """Change the given fields only; a given list replaces the list."""
    company = await get(session, ws, company_id)
    before = snapshot(company)
    await _apply(session, ws, company, data, creating=False)
    after = snapshot(company)
    changes = events.changes(before, after)
    if changes:
        company.updated_at = clock.now()
        await session.flush()
        events.record(
            session,
            ws.id,
            actor,
            "company.updated",
            resource_type="company",
            resource_id=company.id,
            payload=snapshot(company),
            changes=changes,
        )
    return company


async def delete(session: AsyncSession, ws: Workspace, actor: Actor, company_id: str) -> None:
    """Delete a company; its contacts and deals stay, unlinked."""
    company = await get(session, ws, company_id)
    payload = snapshot(company)
    await session.execute(
        update(Contact).where(Contact.workspace_id == ws.id, Contact.company_id == company.id).values(company_id=None)
    )
    await session.execute(
        update(Deal).where(Deal.workspace_id == ws.id, Deal.company_id == company.id).values(company_id=None)
    )
    await session.delete(company)
    await session.flush()
    events.record(
        session, ws.id, actor, "company.deleted", resource_type="company", resource_id=company.id, payload=payload
    )


async def list_companies(
    session: AsyncSession, ws: Workspace, filters: CompanyFilters, page: PageRequest
) -> Page[Company]:
    """Newest first; the cursor continues after the last row."""
    stmt = select(Company).where(Company.workspace_id == ws.id)
    if filters.domain is not None:
        try:
            stmt = stmt.where(Company.domain == normalize_domain(filters.domain))
        except ValidationFailure as exc:
            raise Invalid([FieldError("domain", exc.rule, exc.message, "string")]) from None
    for column, value in (
        (Company.industry, filters.industry),
        (Company.country, filters.country),
        (Company.funding_stage, filters.funding_stage),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.q:
        stmt = stmt.where(Company.search_text.contains(filters.q.strip().lower(), autoescape=True))
    after = decode_cursor(page.cursor, "companies")
    if after is not None:
        try:
            at, key = datetime.fromisoformat(after[0]), uuid.UUID(after[1])
        except (ValueError, TypeError, IndexError):
            raise Invalid([FieldError("cursor", "cursor", "is not a cursor of this listing", "string")]) from None
        stmt = stmt.where(or_(Company.created_at < at, and_(Company.created_at == at, Company.id < key)))
    rows = list(
        (await session.scalars(stmt.order_by(Company.created_at.desc(), Company.id.desc()).limit(page.limit + 1))).all()
    )
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor("companies", [rows[-1].created_at.isoformat(), str(rows[-1].id)]) if has_more else None
    return Page(items=rows, next_cursor=cursor, has_more=has_more)


async def contacts_of(session: AsyncSession, ws: Workspace, company_id: str, page: PageRequest) -> Page[Contact]:
    """The company's contacts, newest first."""
    company = await get(session, ws, company_id)
    stmt = select(Contact).where(Contact.workspace_id == ws.id, Contact.company_id == company.id)
    after = decode_cursor(page.cursor, "company-contacts")
    if after is not None:
        try:
            at, key = datetime.fromisoformat(after[0]), uuid.UUID(after[1])
        except (ValueError, TypeError, IndexError):
            raise Invalid([FieldError("cursor", "cursor", "is not a cursor of this listing", "string")]) from None
        stmt = stmt.where(or_(Contact.created_at < at, and_(Contact.created_at == at, Contact.id < key)))
    rows = list(
        (await session.scalars(stmt.order_by(Contact.created_at.desc(), Contact.id.desc()).limit(page.limit + 1))).all()
    )
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = (
        encode_cursor("company-contacts", [rows[-1].created_at.isoformat(), str(rows[-1].id)]) if has_more else None
    )
    return Page(items=rows, next_cursor=cursor, has_more=has_more)
