"""Look-ups by email or phone, deletion, and the tag add/remove operations."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant
from tests.contacts.support import contact_events, create_contact, field_rules, get_contact, problem


@pytest.mark.parametrize(
    "params",
    [
        {"email": "Look.Up@EXAMPLE.com"},
        {"email": "second@example.com"},
        {"phone": "+14155550160"},
        {"phone": "(415) 555-0160"},
        {"phone": "001 415 555 0160"},
    ],
)
async def test_lookup_finds_the_contact_by_any_spelling(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str]
) -> None:
    contact = await create_contact(
        client,
        tenant,
        {"emails": [{"address": "look.up@example.com"}, {"address": "second@example.com"}], "phone": "4155550160"},
    )
    response = await client.get("/v1/contacts/lookup", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json() == contact


async def test_lookup_of_an_unknown_or_foreign_identity_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await create_contact(client, other_tenant, {"email": "theirs@example.com", "phone": "+14155550161"})
    for params in ({"email": "theirs@example.com"}, {"phone": "+14155550161"}, {"email": "nobody@example.com"}):
        response = await client.get("/v1/contacts/lookup", params=params, headers=tenant.headers)
        assert problem(response, 404)["code"] == "not_found"


@pytest.mark.parametrize("params", [{}, {"email": "a@example.com", "phone": "+14155550162"}])
async def test_lookup_needs_exactly_one_of_email_or_phone(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str]
) -> None:
    response = await client.get("/v1/contacts/lookup", params=params, headers=tenant.headers)
    assert problem(response, 422)["errors"][0]["rule"] == "one_of"


@pytest.mark.parametrize(("params", "field"), [({"email": "not-an-email"}, "email"), ({"phone": "12"}, "phone")])
async def test_lookup_with_a_malformed_identity_is_422(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], field: str
) -> None:
    response = await client.get("/v1/contacts/lookup", params=params, headers=tenant.headers)
    assert list(field_rules(problem(response, 422))) == [field]


async def test_a_deleted_contact_is_gone_and_its_identities_are_free(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await create_contact(client, tenant, {"email": "gone@example.com", "phone": "+14155550163"})

    response = await client.delete(f"/v1/contacts/{contact['id']}", headers=tenant.headers)

    assert response.status_code == 204 and response.content == b""
    problem(await client.get(f"/v1/contacts/{contact['id']}", headers=tenant.headers), 404)
    problem(await client.delete(f"/v1/contacts/{contact['id']}", headers=tenant.headers), 404)
    again = await create_contact(client, tenant, {"email": "GONE@example.com", "phone": "+14155550163"})
    assert again["id"] != contact["id"]


async def test_deleting_another_workspaces_contact_is_404_and_keeps_it(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_contact(client, other_tenant, {"email": "safe@example.com"})
    problem(await client.delete(f"/v1/contacts/{theirs['id']}", headers=tenant.headers), 404)
    assert (await get_contact(client, other_tenant, theirs["id"]))["id"] == theirs["id"]


async def test_adding_tags_dedupes_and_keeps_order(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await create_contact(client, tenant, {"tags": ["b", "a"]})

    response = await client.post(
        f"/v1/contacts/{contact['id']}/tags", json={"tags": ["c", "a", "d", "c"]}, headers=tenant.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["tags"] == ["b", "a", "c", "d"]
    assert (await get_contact(client, tenant, contact["id"]))["tags"] == ["b", "a", "c", "d"]


async def test_removing_tags_drops_only_those_tags(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await create_contact(client, tenant, {"tags": ["a", "b", "c", "d"]})

    response = await client.request(
        "DELETE", f"/v1/contacts/{contact['id']}/tags", json={"tags": ["b", "d", "zz"]}, headers=tenant.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["tags"] == ["a", "c"]


async def test_adding_tags_already_there_changes_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await create_contact(client, tenant, {"tags": ["a"]})
    response = await client.post(f"/v1/contacts/{contact['id']}/tags", json={"tags": ["a"]}, headers=tenant.headers)
    assert response.json() == contact
    assert [e["type"] for e in await contact_events(client, tenant, contact["id"])] == ["contact.created"]


@pytest.mark.parametrize("body", [{"tags": []}, {"tags": [""]}, {}, {"tags": "vip"}])
async def test_bad_tag_bodies_are_422(client: httpx.AsyncClient, tenant: Tenant, body: object) -> None:
    contact = await create_contact(client, tenant, {"tags": ["a"]})
    response = await client.post(f"/v1/contacts/{contact['id']}/tags", json=body, headers=tenant.headers)
    assert problem(response, 422)["errors"][0]["field"].startswith("tags")


async def test_tagging_a_foreign_contact_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_contact(client, other_tenant, {"tags": ["a"]})
    response = await client.post(f"/v1/contacts/{theirs['id']}/tags", json={"tags": ["x"]}, headers=tenant.headers)
    problem(response, 404)
