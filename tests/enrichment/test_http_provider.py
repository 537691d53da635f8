"""An external enrichment provider over HTTP, against a real fake provider served on 127.0.0.1: its data
fills only what the lead left empty, bad guesses are dropped, and a failing provider never fails the lead.
Also: data the caller gives, and data the contact already holds, are never overwritten by a guess."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from leadhub.enrichment.http_provider import HttpProvider
from leadhub.enrichment.pipeline import Pipeline
from tests.campaigns.support import add, make_campaign
from tests.conftest import Tenant

FOUND = {
    "contact": {"title": "Intern", "seniority": "VP", "department": "Sales", "country": "Germany", "bio": 42},
    "company": {"industry": "Fintech", "employee_count": 120, "founded_year": "long ago", "technologies": ["Stripe"]},
}


@dataclass
class FakeProvider:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    fake = FakeProvider(url="")

    async def enrich(request: Request) -> JSONResponse:
        fake.received.append({"auth": request.headers.get("authorization"), "body": await request.json()})
        return JSONResponse(FOUND if fake.status == 200 else {"error": "down"}, status_code=fake.status)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}/enrich"
    config = uvicorn.Config(Starlette(routes=[Route("/enrich", enrich, methods=["POST"])]), log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = asyncio.get_running_loop().time() + 10
    while not server.started:
        assert asyncio.get_running_loop().time() < deadline, "fake provider did not start"
        await asyncio.sleep(0.01)
    yield fake
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture
async def plugged(app: Any, provider: FakeProvider) -> AsyncIterator[FakeProvider]:
    app.state.enrichment = Pipeline([HttpProvider(provider.url, token="s3cret", timeout=5)])
    yield provider
    app.state.enrichment = None


LEAD = {
    "contact": {"name": "Jane Smith", "email": "jane@acme.io", "title": "Head of Sales"},
    "company": {"name": "Acme", "industry": "Software"},
}


async def test_provider_fills_only_what_the_lead_left_empty(
    client: httpx.AsyncClient, tenant: Tenant, plugged: FakeProvider
) -> None:
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], LEAD)

    assert plugged.received[0]["auth"] == "Bearer s3cret"
    assert plugged.received[0]["body"]["contact"]["email"] == "jane@acme.io"
    assert plugged.received[0]["body"]["company"]["domain"] == "acme.io"
    contact = (await client.get(f"/v1/contacts/{prospect['contact_id']}", headers=tenant.headers)).json()
    assert contact["title"] == "Head of Sales"  # given: the provider's "Intern" is ignored
    assert contact["country"] == "DE"  # guessed, then normalized
    company = (await client.get(f"/v1/companies/{prospect['company_id']}", headers=tenant.headers)).json()
    assert (company["industry"], company["employee_count"], company["technologies"]) == ("Software", 120, ["Stripe"])
    assert company["founded_year"] is None  # "long ago" is no year: dropped, not an error
    assert prospect["profile"]["contact"] == {"seniority": "VP", "department": "Sales"}  # bio 42 is not text
    assert prospect["enriched"]["guessed"]["contact.seniority"] == "http_provider"
    assert "contact.title" not in prospect["enriched"]["guessed"]
    # The provider's seniority counts for the score: industry 30 + size 20 + seniority 25 + title 15 of 90 known.
    assert (prospect["score"], prospect["confidence"]) == (100, 90)


async def test_failing_provider_is_skipped(client: httpx.AsyncClient, tenant: Tenant, plugged: FakeProvider) -> None:
    plugged.status = 503
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], LEAD)
    assert prospect["enriched"]["skipped"] == {"http_provider": "answered 503"}
    assert prospect["enriched"]["guessed"] == {
        "company.domain": "domain_from_email",
        "contact.first_name": "name_parts",
        "contact.last_name": "name_parts",
    }


async def test_unreachable_provider_is_skipped() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    from leadhub.enrichment.lead import Lead

    lead = await Pipeline([HttpProvider(f"http://127.0.0.1:{port}/x", timeout=2)]).run(
        Lead.from_given({"contact.email": "a@acme.io"})
    )
    assert "http_provider" in lead.skipped and lead.get("company.domain") == "acme.io"


async def test_guesses_never_overwrite_what_the_contact_already_holds(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    made = await client.post(
        "/v1/contacts",
        json={"email": "jane@acme.io", "first_name": "Janet", "country": "FR", "timezone": "Europe/Paris"},
        headers=tenant.headers,
    )
    campaign = await make_campaign(client, tenant)
    lead = {"contact": {"email": "jane@acme.io", "name": "Jane Smith", "phone": "+14155550123", "title": "CEO"}}
    prospect = await add(client, tenant, campaign["id"], lead)

    contact = (await client.get(f"/v1/contacts/{made.json()['id']}", headers=tenant.headers)).json()
    assert prospect["contact_id"] == contact["id"]
    # The phone suggests US / Los Angeles and the name "Jane": the contact's own values stay.
    assert (contact["country"], contact["timezone"], contact["first_name"]) == ("FR", "Europe/Paris", "Janet")
    # What the caller gave is written.
    assert (contact["title"], contact["phones"][0]["number"]) == ("CEO", "+14155550123")


async def test_given_company_data_is_written_and_guesses_fill_only_blanks(
    client: httpx.AsyncClient, tenant: Tenant, plugged: FakeProvider
) -> None:
    await client.post(
        "/v1/companies",
        json={"name": "Acme Inc", "domain": "acme.io", "employee_count": 999, "industry": "Retail"},
        headers=tenant.headers,
    )
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], LEAD)
    company = (await client.get(f"/v1/companies/{prospect['company_id']}", headers=tenant.headers)).json()
    # Given by the caller: written. Guessed by the provider (employee_count 120): the stored 999 stays.
    assert (company["name"], company["industry"], company["employee_count"]) == ("Acme Inc", "Software", 999)
