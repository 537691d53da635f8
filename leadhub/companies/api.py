"""Native /v1/companies routes: parse → one service call → render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from leadhub.companies import service
from leadhub.companies.schemas import CompanyIn, CompanyList, CompanyOut
from leadhub.contacts import service as contacts
from leadhub.contacts.schemas import ContactList
from leadhub.core.pagination import MAX_LIMIT, PageRequest
from leadhub.deals import service as deals
from leadhub.deals.schemas import DealList
from leadhub.http.context import Ctx, ctx_for, serialize
from leadhub.http.openapi import ERRORS

router = APIRouter(prefix="/v1/companies", tags=["companies"], responses=ERRORS)
read = ctx_for("companies.read")
write = ctx_for("companies.write")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]
Text = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]


def _json(content: object, status: int = 200) -> Response:
    return Response(serialize(content), status_code=status, media_type="application/json")


@router.post("", status_code=201, response_model=CompanyOut, summary="Create a company")
async def create_company(body: CompanyIn, ctx: Ctx = Depends(write)) -> Response:
    """409 when the domain belongs to another company of the workspace."""
    async with ctx.write() as tx:
        company = await service.create(tx.session, ctx.workspace, ctx.actor, body)
        return tx.respond(service.to_out(company), 201)


@router.get("", response_model=CompanyList, summary="List and search companies")
async def list_companies(
    ctx: Ctx = Depends(read),
    limit: Limit = 50,
    cursor: Cursor = None,
    q: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$", description="Search name and domain")] = None,
    domain: Annotated[str | None, Query(max_length=2048, description="Domain, URL or email")] = None,
    industry: Text = None,
    country: Text = None,
    funding_stage: Text = None,
) -> Response:
    filters = service.CompanyFilters(
        q=q, domain=domain, industry=industry, country=country, funding_stage=funding_stage
    )
    async with ctx.read() as session:
        page = await service.list_companies(session, ctx.workspace, filters, PageRequest(limit, cursor))
        return _json(
            CompanyList(
                data=[service.to_out(c) for c in page.items], next_cursor=page.next_cursor, has_more=page.has_more
            )
        )


@router.get("/{company_id}", response_model=CompanyOut, summary="Get a company")
async def get_company(company_id: str, ctx: Ctx = Depends(read)) -> Response:
    async with ctx.read() as session:
        return _json(service.to_out(await service.get(session, ctx.workspace, company_id)))


@router.patch("/{company_id}", response_model=CompanyOut, summary="Update some fields of a company")
async def patch_company(company_id: str, body: CompanyIn, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        company = await service.patch(tx.session, ctx.workspace, ctx.actor, company_id, body)
        return tx.respond(service.to_out(company))


@router.delete("/{company_id}", status_code=204, summary="Delete a company (its contacts and deals stay, unlinked)")
async def delete_company(company_id: str, ctx: Ctx = Depends(write)) -> Response:
    async with ctx.write() as tx:
        await service.delete(tx.session, ctx.workspace, ctx.actor, company_id)
        return tx.respond(None, 204)


@router.get("/{company_id}/contacts", response_model=ContactList, summary="The company's contacts")
async def company_contacts(
    company_id: str, ctx: Ctx = Depends(read), limit: Limit = 50, cursor: Cursor = None
) -> Response:
    async with ctx.read() as session:
        page = await service.contacts_of(session, ctx.workspace, company_id, PageRequest(limit, cursor))
        return _json(
            ContactList(
                data=[contacts.to_out(c) for c in page.items], next_cursor=page.next_cursor, has_more=page.has_more
            )
        )


@router.get("/{company_id}/deals", response_model=DealList, summary="The company's deals")
async def company_deals(
    company_id: str, ctx: Ctx = Depends(read), limit: Limit = 50, cursor: Cursor = None
) -> Response:
    async with ctx.read() as session:
        company = await service.get(session, ctx.workspace, company_id)
        filters = deals.DealFilters(company_id=company.public_id)
        page = await deals.list_deals(session, ctx.workspace, filters, PageRequest(limit, cursor))
        return _json(
            DealList(data=[deals.to_out(d) for d in page.items], next_cursor=page.next_cursor, has_more=page.has_more)
        )
