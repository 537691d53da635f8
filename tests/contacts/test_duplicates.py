"""An email or phone belongs to one contact of a workspace: a second owner is refused with 409."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant, new_tenant
from tests.contacts.support import create_contact, get_contact, problem


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "  Owner@EXAMPLE.com "}, "email"),
        ({"emails": [{"address": "new@example.com"}, {"address": "OWNER@example.com"}]}, "emails[1].address"),
    ],
)
async def test_a_second_contact_with_an_existing_email_is_a_conflict(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str
) -> None:
    owner = await create_contact(client, tenant, {"email": "owner@example.com"})

    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)

    conflict = problem(response, 409)
    assert conflict["code"] == "duplicate_email"
    assert conflict["field"] == field
    assert conflict["existing_id"] == owner["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "(415) 555-0120"}, "phone"),
        ({"phones": [{"number": "+1 212 555 0199"}, {"number": "001 415 555 0120"}]}, "phones[1].number"),
    ],
)
async def test_a_second_contact_with_an_existing_phone_in_any_spelling_is_a_conflict(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str
) -> None:
    owner = await create_contact(client, tenant, {"phone": "+14155550120"})

    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)

    conflict = problem(response, 409)
    assert conflict["code"] == "duplicate_phone"
    assert conflict["field"] == field
    assert conflict["existing_id"] == owner["id"]


async def test_a_refused_create_leaves_nothing_behind(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await create_contact(client, tenant, {"email": "kept@example.com"})
    response = await client.post(
        "/v1/contacts", json={"email": "fresh@example.com", "phone": "+14155550121"}, headers=tenant.headers
    )
    assert response.status_code == 201
    clash = await client.post(
        "/v1/contacts", json={"email": "other@example.com", "phone": "+14155550121"}, headers=tenant.headers
    )
    problem(clash, 409)

    lookup = await client.get("/v1/contacts/lookup", params={"email": "other@example.com"}, headers=tenant.headers)
    assert lookup.status_code == 404


async def test_patching_in_another_contacts_email_or_phone_is_a_conflict(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    owner = await create_contact(client, tenant, {"email": "first@example.com", "phone": "+14155550122"})
    other = await create_contact(client, tenant, {"email": "second@example.com"})

    by_email = await client.patch(
        f"/v1/contacts/{other['id']}", json={"email": "FIRST@example.com"}, headers=tenant.headers
    )
    by_phone = await client.patch(
        f"/v1/contacts/{other['id']}", json={"phones": [{"number": "415-555-0122"}]}, headers=tenant.headers
    )

    email_conflict, phone_conflict = problem(by_email, 409), problem(by_phone, 409)
    assert (email_conflict["code"], email_conflict["field"]) == ("duplicate_email", "email")
    assert (phone_conflict["code"], phone_conflict["field"]) == ("duplicate_phone", "phones[0].number")
    assert email_conflict["existing_id"] == phone_conflict["existing_id"] == owner["id"]
    unchanged = await get_contact(client, tenant, other["id"])
    assert [e["address"] for e in unchanged["emails"]] == ["second@example.com"]
    assert unchanged["phones"] == []


async def test_patching_a_contact_with_its_own_email_is_no_conflict(client: httpx.AsyncClient, tenant: Tenant) -> None:
    owner = await create_contact(client, tenant, {"email": "mine@example.com"})
    response = await client.patch(
        f"/v1/contacts/{owner['id']}",
        json={"emails": [{"address": "MINE@example.com", "type": "work"}]},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["emails"] == [{"address": "mine@example.com", "type": "work", "primary": True}]


async def test_another_workspace_may_hold_the_same_email(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await create_contact(client, tenant, {"email": "shared@example.com"})
    other = await new_tenant(tenant.db)
    response = await client.post("/v1/contacts", json={"email": "shared@example.com"}, headers=other.headers)
    assert response.status_code == 201, response.text
