"""POST /v1/contacts/upsert: match by any email, then any phone; add to the match, never wipe it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.contacts.support import create_contact, get_contact, problem


async def _upsert(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], status: int) -> dict[str, Any]:
    response = await client.post("/v1/contacts/upsert", json=body, headers=tenant.headers)
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_an_unknown_identity_creates_a_contact(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await _upsert(client, tenant, {"email": "Fresh@Example.com", "first_name": "Fresh"}, 201)
    assert created["emails"][0]["address"] == "fresh@example.com"
    assert await get_contact(client, tenant, created["id"]) == created


async def test_a_known_email_in_any_position_updates_its_owner(client: httpx.AsyncClient, tenant: Tenant) -> None:
    owner = await create_contact(
        client, tenant, {"emails": [{"address": "a@example.com"}, {"address": "b@example.com"}], "title": "Dev"}
    )

    updated = await _upsert(
        client,
        tenant,
        {"emails": [{"address": "unknown@example.com"}, {"address": "B@EXAMPLE.COM"}], "title": "Lead"},
        200,
    )

    assert updated["id"] == owner["id"]
    assert updated["title"] == "Lead"
    assert updated["emails"] == [
        {"address": "a@example.com", "type": "other", "primary": True},
        {"address": "b@example.com", "type": "other", "primary": False},
        {"address": "unknown@example.com", "type": "other", "primary": False},
    ]


async def test_with_no_email_match_a_phone_written_nationally_matches(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    owner = await create_contact(client, tenant, {"phone": "+14155550150", "tags": ["old"]})

    updated = await _upsert(
        client, tenant, {"email": "new.one@example.com", "phone": "(415) 555-0150", "tags": ["new", "old"]}, 200
    )

    assert updated["id"] == owner["id"]
    assert [e["address"] for e in updated["emails"]] == ["new.one@example.com"]
    assert updated["phones"] == [{"number": "+14155550150", "type": "other", "primary": True}]
    assert updated["tags"] == ["old", "new"]


async def test_upsert_adds_phones_and_keeps_the_existing_primary(client: httpx.AsyncClient, tenant: Tenant) -> None:
    owner = await create_contact(client, tenant, {"email": "keep@example.com", "phone": "+14155550151"})

    updated = await _upsert(
        client, tenant, {"email": "keep@example.com", "phones": [{"number": "+14155550152", "primary": True}]}, 200
    )

    assert updated["id"] == owner["id"]
    assert updated["phones"] == [
        {"number": "+14155550151", "type": "other", "primary": True},
        {"number": "+14155550152", "type": "other", "primary": False},
    ]


async def test_upsert_merges_custom_fields_and_leaves_absent_fields(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await create_contact(
        client, tenant, {"email": "cf@example.com", "company_name": "Acme", "custom_fields": {"a": 1, "b": 2}}
    )

    updated = await _upsert(client, tenant, {"email": "cf@example.com", "custom_fields": {"b": 3, "c": 4}}, 200)

    assert updated["company_name"] == "Acme"
    assert updated["custom_fields"] == {"a": 1, "b": 3, "c": 4}


async def test_an_email_of_one_contact_and_a_phone_of_another_is_a_conflict(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    a = await create_contact(client, tenant, {"email": "a.owner@example.com"})
    b = await create_contact(client, tenant, {"phone": "+14155550153"})

    response = await client.post(
        "/v1/contacts/upsert", json={"email": "a.owner@example.com", "phone": "415 555 0153"}, headers=tenant.headers
    )

    conflict = problem(response, 409)
    assert conflict["code"] == "duplicate_phone"
    assert conflict["existing_id"] == b["id"]
    assert (await get_contact(client, tenant, a["id"]))["phones"] == []


async def test_upsert_without_email_or_phone_creates_each_time(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await _upsert(client, tenant, {"name": "No Identity"}, 201)
    second = await _upsert(client, tenant, {"name": "No Identity"}, 201)
    assert first["id"] != second["id"]


async def test_upsert_validates_like_create(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post("/v1/contacts/upsert", json={"phone": "12"}, headers=tenant.headers)
    assert problem(response, 422)["errors"][0]["field"] == "phone"
