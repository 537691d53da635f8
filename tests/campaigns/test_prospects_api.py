"""Adding leads to a campaign through the native API: enrichment, company link, scoring, re-adding,
re-scoring on criteria changes, events, scopes and tenant walls."""

from __future__ import annotations

import httpx

from tests.campaigns.support import add, events_of, make_campaign
from tests.conftest import Tenant

LEAD = {
    "contact": {
        "name": "Dr. Jane Q. Smith",
        "email": "Jane.Smith@Acme.io",
        "phone": "(415) 555-0123",
        "title": "VP of Sales",
        "seniority": "VP",
        "linkedin_url": "linkedin.com/in/JaneSmith/?trk=public",
    },
    "company": {"name": "Acme", "industry": "Software", "employee_count": 250, "country": "United States"},
    "research_data": {"hook": "Series B"},
    "notes": "Met at SaaStr",
}


async def test_added_lead_is_enriched_linked_scored_and_queued(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], LEAD)

    assert prospect["state"] == "queued"
    # Every criterion matched: industry 30 + size 20 + country 10 + seniority 25 + title 15 = 100 of 100.
    assert (prospect["score"], prospect["tier"], prospect["confidence"]) == (100, "A", 100)
    rows = {row["id"]: row for row in prospect["breakdown"]["criteria"]}
    assert rows["size"] == {
        "id": "size",
        "label": "company.employee_count between 50 and 500",
        "field": "company.employee_count",
        "op": "range",
        "expected": {"min": 50, "max": 500},
        "value": 250,
        "result": "matched",
        "weight": 20,
        "points": 20,
    }
    assert rows["country"]["expected"] == "US" and rows["country"]["value"] == "US"
    assert prospect["profile"]["contact"]["linkedin_url"] == "https://www.linkedin.com/in/janesmith"
    assert prospect["enriched"]["guessed"] == {
        "company.domain": "domain_from_email",
        "contact.first_name": "name_parts",
        "contact.middle_name": "name_parts",
        "contact.last_name": "name_parts",
        "contact.country": "phone_details",
        "contact.timezone": "phone_details",
    }

    contact = (await client.get(f"/v1/contacts/{prospect['contact_id']}", headers=tenant.headers)).json()
    assert contact["emails"][0]["address"] == "jane.smith@acme.io"
    assert contact["phones"][0]["number"] == "+14155550123"
    assert (contact["first_name"], contact["middle_name"], contact["last_name"]) == ("Jane", "Q.", "Smith")
    assert (contact["country"], contact["timezone"]) == ("US", "America/Los_Angeles")
    assert contact["company_id"] == prospect["company_id"]
    company = (await client.get(f"/v1/companies/{prospect['company_id']}", headers=tenant.headers)).json()
    assert (company["name"], company["domain"], company["industry"], company["country"]) == (
        "Acme",
        "acme.io",
        "Software",
        "US",
    )


async def test_adding_the_same_contact_again_updates_its_prospect(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await make_campaign(client, tenant)
    first = await add(client, tenant, campaign["id"], LEAD)
    again = {
        "contact": {"email": "jane.smith@acme.io"},
        "research_data": {"angle": "hiring"},
        "notes": "Second touch",
    }
    second = await add(client, tenant, campaign["id"], again, status=200)

    assert second["id"] == first["id"]
    assert second["research_data"] == {"hook": "Series B", "angle": "hiring"}
    assert second["notes"] == "Second touch"
    listing = (await client.get(f"/v1/campaigns/{campaign['id']}/prospects", headers=tenant.headers)).json()
    assert [p["id"] for p in listing["data"]] == [first["id"]]


async def test_company_of_a_known_domain_is_reused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = await client.post(
        "/v1/companies", json={"name": "Acme Corporation", "domain": "acme.io"}, headers=tenant.headers
    )
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], LEAD)

    assert prospect["company_id"] == made.json()["id"]
    company = (await client.get(f"/v1/companies/{prospect['company_id']}", headers=tenant.headers)).json()
    # The stored name stays; the lead's firmographics fill the company.
    assert (company["name"], company["industry"], company["employee_count"]) == ("Acme Corporation", "Software", 250)


async def test_free_mail_lead_gets_no_domain_guess(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], {"contact": {"email": "jane@gmail.com", "name": "Jane Roe"}})

    assert "company.domain" not in prospect["enriched"]["guessed"]
    assert prospect["company_id"] is None
    rows = {row["id"]: row["result"] for row in prospect["breakdown"]["criteria"]}
    assert rows == {
        "industry": "unknown",
        "size": "unknown",
        "country": "unknown",
        "seniority": "unknown",
        "title": "unknown",
    }
    assert (prospect["score"], prospect["confidence"]) == (0, 0)


async def test_changed_criteria_rescore_prospects_and_record_events(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], LEAD)
    criteria = [
        {"id": "industry", "field": "company.industry", "op": "equals", "value": "Hardware", "weight": 60},
        {"id": "size", "field": "company.employee_count", "op": "range", "min": 100, "weight": 40},
    ]
    response = await client.patch(
        f"/v1/campaigns/{campaign['id']}", json={"criteria": criteria}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text

    path = f"/v1/campaigns/{campaign['id']}/prospects/{prospect['id']}"
    now = (await client.get(path, headers=tenant.headers)).json()
    assert (now["score"], now["tier"]) == (40, "C")
    rescored = await events_of(client, tenant, "prospect.rescored")
    assert [e["changes"]["score"] for e in rescored] == [{"before": 100, "after": 40}]
    assert rescored[0]["resource_id"] == prospect["id"] and rescored[0]["data"]["reason"] == "criteria_changed"
    assert rescored[0]["contact_id"] == prospect["contact_id"]


async def test_matched_disqualifier_disqualifies_and_unmatching_requeues(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    campaign = await make_campaign(client, tenant)
    lead = {"contact": {"email": "spy@rival.example", "name": "Sam Spy"}, "company": {"name": "Rival"}}
    prospect = await add(client, tenant, campaign["id"], lead)
    assert (prospect["state"], prospect["state_reason"], prospect["score"]) == ("disqualified", "disqualifier", 0)
    assert prospect["breakdown"]["disqualifiers"][0]["result"] == "matched"

    await client.patch(f"/v1/campaigns/{campaign['id']}", json={"disqualifiers": []}, headers=tenant.headers)
    path = f"/v1/campaigns/{campaign['id']}/prospects/{prospect['id']}"
    now = (await client.get(path, headers=tenant.headers)).json()
    assert (now["state"], now["state_reason"]) == ("queued", "requalified")
    changes = [e["data"]["to"] for e in await events_of(client, tenant, "prospect.state_changed")]
    assert changes == ["queued"]


async def test_bad_lead_data_names_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await make_campaign(client, tenant)
    response = await client.post(
        f"/v1/campaigns/{campaign['id']}/prospects",
        json={"contact": {"email": "not-an-email", "linkedin_url": "https://example.com/in/x"}},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    fields = {e["field"]: e["rule"] for e in response.json()["errors"]}
    assert fields == {"contact.email": "email", "contact.linkedin_url": "linkedin_url"}

    missing = await client.post(f"/v1/campaigns/{campaign['id']}/prospects", json={}, headers=tenant.headers)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "contact.email"


async def test_bad_criteria_are_refused_with_the_rule(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/campaigns",
        json={"name": "x", "criteria": [{"field": "company.industry", "op": "range", "min": 1}]},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "criteria[0]"
    assert "does not apply to text field" in response.json()["errors"][0]["message"]


async def test_other_workspaces_campaigns_and_prospects_are_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], LEAD)
    mine = await make_campaign(client, other_tenant)
    for path in (
        f"/v1/campaigns/{campaign['id']}",
        f"/v1/campaigns/{campaign['id']}/prospects",
        f"/v1/campaigns/{campaign['id']}/prospects/{prospect['id']}",
        f"/v1/campaigns/{mine['id']}/prospects/{prospect['id']}",
    ):
        response = await client.get(path, headers=other_tenant.headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
    added = await client.post(f"/v1/campaigns/{campaign['id']}/prospects", json=LEAD, headers=other_tenant.headers)
    assert added.status_code == 404
    # A second workspace of the same organization is a wall too.
    sibling = await tenant.add_workspace()
    response = await client.get(
        f"/v1/campaigns/{campaign['id']}", headers={**tenant.headers, "LeadHub-Workspace": sibling}
    )
    assert response.status_code == 404


async def test_read_key_cannot_write_campaigns(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await make_campaign(client, tenant)
    key = await tenant.make_key(["campaigns.read"], workspace=True)
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.get(f"/v1/campaigns/{campaign['id']}", headers=headers)).status_code == 200
    response = await client.post(f"/v1/campaigns/{campaign['id']}/prospects", json=LEAD, headers=headers)
    assert response.status_code == 403


async def test_deleting_the_contact_removes_it_from_campaigns(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], LEAD)
    assert (await client.delete(f"/v1/contacts/{prospect['contact_id']}", headers=tenant.headers)).status_code == 204
    path = f"/v1/campaigns/{campaign['id']}/prospects/{prospect['id']}"
    assert (await client.get(path, headers=tenant.headers)).status_code == 404
