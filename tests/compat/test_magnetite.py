"""Magnetite "Add Lead to Campaign" (seed 002): every example of the page sent as written, the documented
answer and error statuses, what is stored from each field, and the organization scope of campaigns."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadhub.compat import magnetite
from tests.compat.support import load, replay, substitute
from tests.conftest import Tenant

DOCUMENT = load("magnetite.json")
EXAMPLES = {example["name"]: example for example in DOCUMENT["examples"]}


@pytest.mark.parametrize("example", DOCUMENT["examples"], ids=[e["name"] for e in DOCUMENT["examples"]])
async def test_seed_example_answers_as_documented(
    client: httpx.AsyncClient, tenant: Tenant, example: dict[str, Any]
) -> None:
    # Magnetite keys act for an organization: the tenant's organization key.
    await replay(client, tenant, DOCUMENT, example, tenant.key)


async def _campaign(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> str:
    body = {"name": "Magnetite outbound", "status": "active", **fields}
    response = await client.post("/v1/campaigns", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _send(client: httpx.AsyncClient, tenant: Tenant, campaign: str, name: str) -> httpx.Response:
    request = substitute(EXAMPLES[name]["request"], {"YOUR_API_KEY": tenant.key, "YOUR_CAMPAIGN_ID": campaign})
    return await client.post(request["path"], json=request["body"], headers=request["headers"])


async def _prospect(client: httpx.AsyncClient, tenant: Tenant, campaign: str, prospect: str) -> dict[str, Any]:
    response = await client.get(f"/v1/campaigns/{campaign}/prospects/{prospect}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_full_example_stores_every_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    criteria = [
        {"id": "industry", "field": "company.industry", "op": "equals", "value": "Software", "weight": 40},
        {"id": "stage", "field": "company.funding_stage", "op": "one_of", "value": ["Series A", "Series B"]},
        {"id": "vp", "field": "contact.seniority", "op": "equals", "value": "VP", "weight": 30},
        {"id": "tech", "field": "company.technologies", "op": "contains", "value": "HubSpot", "weight": 20},
    ]
    campaign = await _campaign(client, tenant, criteria=criteria)
    answer = await _send(client, tenant, campaign, "Full Example")
    assert answer.status_code == 201, answer.text
    prospect = await _prospect(client, tenant, campaign, answer.json()["prospectId"])

    assert prospect["notes"] == "Met at SaaStr conference"
    assert prospect["extra_context"] == {
        "referralSource": "Jane Doe introduced us",
        "painPoints": ["Manual outreach", "Low response rates"],
    }
    assert prospect["profile"] == {
        "contact": {"linkedin_url": "https://www.linkedin.com/in/johnsmith", "seniority": "VP", "department": "Sales"},
        "company": {"linkedin_url": "https://www.linkedin.com/company/acme"},
    }
    # 40 + 10 + 30 of the 80 known points; technologies were not given: unknown, so confidence is 80 of 100.
    assert (prospect["score"], prospect["tier"], prospect["confidence"]) == (100, "A", 80)
    contact = (await client.get(f"/v1/contacts/{prospect['contact_id']}", headers=tenant.headers)).json()
    assert (contact["first_name"], contact["last_name"], contact["title"]) == ("John", "Smith", "VP of Sales")
    assert contact["emails"][0]["address"] == "john@acme.com" and contact["company_name"] == "Acme Corp"
    company = (await client.get(f"/v1/companies/{prospect['company_id']}", headers=tenant.headers)).json()
    assert (company["name"], company["domain"], company["industry"], company["employee_count"]) == (
        "Acme Corp",
        "acme.com",
        "Software",
        250,
    )
    assert company["funding_stage"] == "Series B"


async def test_enrichment_schemas_are_stored(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await _campaign(
        client,
        tenant,
        criteria=[
            {"id": "hiring", "field": "company.hiring", "op": "equals", "value": True, "weight": 50},
            {"id": "growth", "field": "company.employee_growth", "op": "range", "min": 0.2, "weight": 50},
        ],
    )
    answer = await _send(client, tenant, campaign, "Company Enrichment Schema")
    prospect = await _prospect(client, tenant, campaign, answer.json()["prospectId"])
    company = (await client.get(f"/v1/companies/{prospect['company_id']}", headers=tenant.headers)).json()
    assert company["domain"] == "acme.com"  # from the website, the page's own domain
    assert (company["sub_industry"], company["annual_revenue"], company["founded_year"]) == (
        "Enterprise SaaS",
        50000000,
        2015,
    )
    assert (company["country"], company["headquarters"]) == ("US", "San Francisco, CA")
    assert company["technologies"] == ["Salesforce", "HubSpot", "AWS"]
    assert company["signals"] == [
        {"type": "recent_funding", "amount": 50000000, "date": "2024-06", "round": "Series B"},
        {"type": "hiring", "is_hiring": True, "open_roles": 15},
        {"type": "growth", "employee_growth": 0.35, "revenue_growth": 0.5},
    ]
    assert prospect["profile"]["company"]["description"] == "Enterprise software company..."
    assert (prospect["score"], prospect["confidence"]) == (100, 100)

    answer = await _send(client, tenant, campaign, "Contact Enrichment Schema")
    assert answer.status_code == 200  # the same lead again: its prospect is updated
    prospect = await _prospect(client, tenant, campaign, answer.json()["prospectId"])
    assert prospect["profile"]["contact"] == {
        "bio": "20+ years in enterprise sales...",
        "photo_url": "https://example.com/photo.jpg",
        "seniority": "VP",
        "department": "Sales",
    }
    contact = (await client.get(f"/v1/contacts/{prospect['contact_id']}", headers=tenant.headers)).json()
    assert (contact["country"], contact["timezone"]) == ("US", "America/Los_Angeles")
    assert (contact["address"]["city"], contact["address"]["state"]) == ("San Francisco", "California")


async def test_missing_required_fields_are_all_named(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await _campaign(client, tenant)
    path = f"/compat/magnetite/api/campaigns/{campaign}/leads"
    response = await client.post(path, json={"contactName": "  ", "email": None}, headers=tenant.headers)
    assert response.status_code == 400
    assert response.json()["missingFields"] == ["companyName", "contactName", "email"]
    bad = await client.post(
        path,
        json={"companyName": "Acme", "contactName": "Jo", "email": "jo@acme.com", "company": {"employeeCount": -3}},
        headers=tenant.headers,
    )
    assert bad.status_code == 400
    assert [f["field"] for f in bad.json()["fields"]] == ["company.employeeCount"]
    invalid = await client.post(
        path, json={"companyName": "A", "contactName": "B", "email": "nope"}, headers=tenant.headers
    )
    assert invalid.json()["fields"][0]["field"] == "email"


async def test_another_organizations_campaign_is_forbidden(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await _campaign(client, other_tenant)
    response = await _send(client, tenant, theirs, "Quick Example")
    assert response.status_code == 403
    assert response.json() == {
        "success": False,
        "error": "Campaign doesn't belong to your organization",
        "code": "FORBIDDEN",
    }
    listing = await client.get(f"/v1/campaigns/{theirs}/prospects", headers=other_tenant.headers)
    assert listing.json()["data"] == []


async def test_org_key_reaches_campaigns_of_every_workspace_of_its_organization(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    second = await tenant.add_workspace()
    response = await client.post(
        "/v1/campaigns",
        json={"name": "EU", "status": "active"},
        headers={**tenant.headers, "LeadHub-Workspace": second},
    )
    campaign = response.json()["id"]
    answer = await _send(client, tenant, campaign, "Quick Example")
    assert answer.status_code == 201, answer.text
    listing = await client.get(
        f"/v1/campaigns/{campaign}/prospects", headers={**tenant.headers, "LeadHub-Workspace": second}
    )
    assert [p["id"] for p in listing.json()["data"]] == [answer.json()["prospectId"]]
    # A workspace key stays inside its workspace: the sibling's campaign does not exist for it.
    ws_key = await tenant.make_key(["campaigns.write"], workspace=True)
    request = substitute(EXAMPLES["Quick Example"]["request"], {"YOUR_API_KEY": ws_key, "YOUR_CAMPAIGN_ID": campaign})
    walled = await client.post(request["path"], json=request["body"], headers=request["headers"])
    assert walled.status_code == 404 and walled.json()["code"] == "NOT_FOUND"


async def test_key_without_campaign_scope_is_forbidden(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await _campaign(client, tenant)
    key = await tenant.make_key(["contacts.write"])
    request = substitute(EXAMPLES["Quick Example"]["request"], {"YOUR_API_KEY": key, "YOUR_CAMPAIGN_ID": campaign})
    response = await client.post(request["path"], json=request["body"], headers=request["headers"])
    assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"


async def test_missing_key_is_unauthorized(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await _campaign(client, tenant)
    response = await client.post(f"/compat/magnetite/api/campaigns/{campaign}/leads", json={})
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHORIZED"


async def test_booked_meeting_reaches_webhook_events(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await _campaign(client, tenant)
    prospect = (await _send(client, tenant, campaign, "Quick Example")).json()["prospectId"]
    claimed = await client.post(
        f"/v1/campaigns/{campaign}/queue/claim", json={"agent": "sdr-bot"}, headers=tenant.headers
    )
    token = claimed.json()["data"][0]["claim"]["token"]
    outcome = await client.post(
        f"/v1/campaigns/{campaign}/prospects/{prospect}/outcome",
        json={"outcome": "meeting_booked", "claim_token": token, "meeting_at": "2025-01-10T15:00:00Z"},
        headers=tenant.headers,
    )
    assert outcome.status_code == 200, outcome.text
    events = (await client.get("/v1/events", params={"type": "prospect.meeting_booked"}, headers=tenant.headers)).json()
    assert [e["resource_id"] for e in events["data"]] == [prospect]
    assert events["data"][0]["actor"]["door"] == "api"


def test_signals_object_becomes_typed_signals() -> None:
    assert magnetite.signals({"hiringSignals": {"isHiring": False}, "newsMentions": 3}) == [
        {"type": "hiring", "is_hiring": False},
        {"type": "news_mentions", "value": 3},
    ]
    assert magnetite.missing({"companyName": "", "contactName": "x"}) == ["companyName", "email"]
