"""One contact, four doors: whatever door writes a lead, the native API and the other dialects read it,
with all its data."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant

LC = {"Version": "2021-07-28"}


async def read_everywhere(client: httpx.AsyncClient, tenant: Tenant, contact_id: str) -> dict[str, dict[str, Any]]:
    lead_id = "lead_" + contact_id.removeprefix("con_")
    answers = {
        "native": await client.get(f"/v1/contacts/{contact_id}", headers=tenant.headers),
        "magicblocks": await client.get(f"/compat/magicblocks/v1/contacts/{contact_id}", headers=tenant.headers),
        "leads-v1": await client.get(f"/compat/leads-v1/api/v1/leads/{lead_id}", headers=tenant.headers),
        "leadconnector": await client.get(
            f"/compat/leadconnector/contacts/{contact_id}", headers={**tenant.headers, **LC}
        ),
    }
    assert all(r.status_code == 200 for r in answers.values()), {k: r.text for k, r in answers.items()}
    return {door: r.json() for door, r in answers.items()}


def check(views: dict[str, dict[str, Any]], *, email: str, phone: str, first: str, custom: dict[str, Any]) -> None:
    native, mb, leads, lc = (views[d] for d in ("native", "magicblocks", "leads-v1", "leadconnector"))
    lc = lc["contact"]
    leads = leads["data"]
    assert native["emails"][0]["address"] == mb["primaryEmail"]["address"] == leads["email"] == lc["email"] == email
    assert native["phones"][0]["number"] == mb["primaryPhone"]["number"] == leads["phone"] == lc["phone"] == phone
    assert native["first_name"] == mb["name"]["first"] == lc["firstName"] == first
    assert native["name"] == leads["name"] == lc["name"]
    assert native["custom_fields"] == mb["customFields"] == leads["metadata"] == custom
    assert {f["key"]: f["value"] for f in lc["customFields"]} == custom
    assert native["status"] == leads["status"]
    assert native["tags"] == mb["tags"] == lc["tags"]


async def test_lead_created_through_magicblocks_is_seen_by_every_door(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {
        "name": {"first": "Johan", "last": "Greg"},
        "emails": [{"address": "johan@example.com", "type": "work", "primary": True}],
        "phones": [{"number": "+61412345678", "type": "mobile", "primary": True}],
        "custom": {"plan": "Enterprise"},
        "tags": ["vip"],
    }
    created = (await client.post("/compat/magicblocks/v1/contacts", json=body, headers=tenant.headers)).json()
    views = await read_everywhere(client, tenant, created["id"])
    check(views, email="johan@example.com", phone="+61412345678", first="Johan", custom={"plan": "Enterprise"})


async def test_lead_created_through_leads_v1_is_seen_by_every_door(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+1-555-456-7890",
        "status": "qualified",
        "metadata": {"budget": "$50k-100k"},
    }
    created = (await client.post("/compat/leads-v1/api/v1/leads", json=body, headers=tenant.headers)).json()
    contact_id = "con_" + created["data"]["id"].removeprefix("lead_")
    views = await read_everywhere(client, tenant, contact_id)
    check(views, email="ada@example.com", phone="+15554567890", first="Ada", custom={"budget": "$50k-100k"})
    assert views["native"]["status"] == "qualified"


async def test_lead_created_through_leadconnector_is_seen_by_every_door(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {
        "locationId": tenant.ws_public_id,
        "firstName": "Jane",
        "lastName": "Smith",
        "email": "jane@smithco.com",
        "phone": "+15551234567",
        "tags": ["new-lead"],
        "companyName": "Smith Co",
        "country": "US",
    }
    response = await client.post("/compat/leadconnector/contacts/", json=body, headers={**tenant.headers, **LC})
    views = await read_everywhere(client, tenant, response.json()["contact"]["id"])
    check(views, email="jane@smithco.com", phone="+15551234567", first="Jane", custom={})
    assert views["native"]["company_name"] == "Smith Co" and views["native"]["country"] == "US"


async def test_native_contact_is_seen_by_every_dialect(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"first_name": "Nat", "email": "nat@example.com", "phone": "+15557654321", "custom_fields": {"k": 1}}
    created = (await client.post("/v1/contacts", json=body, headers=tenant.headers)).json()
    views = await read_everywhere(client, tenant, created["id"])
    check(views, email="nat@example.com", phone="+15557654321", first="Nat", custom={"k": 1})
