"""A prospect is re-scored when its contact or company changes through any door, in the same
transaction as the change, with a prospect.rescored event."""

from __future__ import annotations

from typing import Any

import httpx

from tests.campaigns.support import add, events_of, make_campaign
from tests.conftest import Tenant

LEAD = {
    "contact": {"name": "Ann Lee", "email": "ann.lee@northwind.io", "title": "Account Executive", "seniority": "VP"},
    "company": {"name": "Northwind", "industry": "Software", "employee_count": 120, "country": "US"},
}


async def _prospect(client: httpx.AsyncClient, tenant: Tenant, campaign_id: str, prospect_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/campaigns/{campaign_id}/prospects/{prospect_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_editing_the_contact_rescores_its_prospects(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], LEAD)
    # industry 30 + size 20 + country 10 + seniority 25 matched; the title has no sales word: 85 of 100.
    assert prospect["score"] == 85

    patched = await client.patch(
        f"/v1/contacts/{prospect['contact_id']}", json={"title": "VP Sales"}, headers=tenant.headers
    )
    assert patched.status_code == 200

    after = await _prospect(client, tenant, campaign["id"], prospect["id"])
    assert (after["score"], after["tier"]) == (100, "A")
    rescored = await events_of(client, tenant, "prospect.rescored")
    assert rescored[-1]["changes"]["score"] == {"before": 85, "after": 100}


async def test_editing_the_company_rescores_its_prospects(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], LEAD)

    patched = await client.patch(
        f"/v1/companies/{prospect['company_id']}", json={"employee_count": 5000}, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text

    after = await _prospect(client, tenant, campaign["id"], prospect["id"])
    assert after["score"] == 65  # the size criterion (20) no longer matches
    rows = {row["id"]: row for row in after["breakdown"]["criteria"]}
    assert rows["size"]["result"] == "not_matched" and rows["size"]["value"] == 5000


async def test_an_unrelated_edit_writes_no_rescore_event(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = await make_campaign(client, tenant)
    prospect = await add(client, tenant, campaign["id"], LEAD)
    before = len(await events_of(client, tenant, "prospect.rescored"))

    await client.patch(f"/v1/contacts/{prospect['contact_id']}", json={"notes": "called"}, headers=tenant.headers)

    assert len(await events_of(client, tenant, "prospect.rescored")) == before
