"""LeadConnector beyond the page's example: versions, locations, scopes, field formats, and the routes
published client libraries call."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant

BASE = "/compat/leadconnector"


def headers(key: str, version: str | None = "2021-07-28") -> dict[str, str]:
    h = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if version is not None:
        h["Version"] = version
    return h


async def create(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"locationId": tenant.ws_public_id, **fields}
    response = await client.post(f"{BASE}/contacts/", json=body, headers=headers(tenant.key))
    assert response.status_code == 201, response.text
    contact: dict[str, Any] = response.json()["contact"]
    return contact


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"statusCode", "message"} and body["statusCode"] == status
    return str(body["message"])


@pytest.mark.parametrize("version", ["2021-07-28", "2021-04-15", "2023-02-21", "v3"])
async def test_every_published_version_creates_the_same_way(
    client: httpx.AsyncClient, tenant: Tenant, version: str
) -> None:
    body = {"locationId": tenant.ws_public_id, "email": "v@example.com", "dateOfBirth": "1990/05/17"}
    response = await client.post(f"{BASE}/contacts/", json=body, headers=headers(tenant.key, version))
    assert response.status_code == 201, response.text
    assert response.json()["contact"]["dateOfBirth"] == "1990-05-17"


@pytest.mark.parametrize(("version", "said"), [(None, "required"), ("2099-01-01", "Unsupported")])
async def test_missing_or_unknown_version_is_a_clear_400(
    client: httpx.AsyncClient, tenant: Tenant, version: str | None, said: str
) -> None:
    body = {"locationId": tenant.ws_public_id, "email": "v@example.com"}
    response = await client.post(f"{BASE}/contacts/", json=body, headers=headers(tenant.key, version))
    message = error(response, 400)
    assert "Version" in message and said in message
    assert (await client.get(f"{BASE}/contacts/con_x", headers=headers(tenant.key, version))).status_code == 400


@pytest.mark.parametrize("text", ["1990/05/17", "05/17/1990", "1990-05-17", "05-17-1990", "1990.05.17", "05.17.1990"])
async def test_date_of_birth_in_each_of_the_six_formats(client: httpx.AsyncClient, tenant: Tenant, text: str) -> None:
    assert (await create(client, tenant, phone="+15551230001", dateOfBirth=text))["dateOfBirth"] == "1990-05-17"


async def test_v3_date_of_birth_object_is_accepted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await create(client, tenant, email="obj@example.com", dateOfBirth={"year": 1985, "month": 2, "day": 3})
    assert contact["dateOfBirth"] == "1985-02-03"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"email": "a@example.com", "dateOfBirth": "17th May"}, "dateOfBirth"),
        ({"email": "a@example.com", "dateOfBirth": {"year": 1985, "month": 13, "day": 3}}, "dateOfBirth"),
        ({"phone": "12"}, "phone"),
        ({"email": "a@example.com", "country": "Atlantis"}, "country"),
        ({"email": "a@example.com", "timezone": "Mars/Olympus"}, "timezone"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@example.com", "dndSettings": {"Pager": {"status": "active"}}}, "dndSettings.Pager"),
    ],
)
async def test_bad_field_is_400_naming_the_vendor_field(
    client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any], named: str
) -> None:
    body = {"locationId": tenant.ws_public_id, **fields}
    response = await client.post(f"{BASE}/contacts/", json=body, headers=headers(tenant.key))
    assert error(response, 400).startswith(named)


async def test_missing_location_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(f"{BASE}/contacts/", json={"email": "a@example.com"}, headers=headers(tenant.key))
    assert error(response, 400).startswith("locationId")


async def test_foreign_location_is_403(client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant) -> None:
    body = {"locationId": other_tenant.ws_public_id, "email": "a@example.com"}
    response = await client.post(f"{BASE}/contacts/", json=body, headers=headers(tenant.key))
    assert "location" in error(response, 403)


async def test_organization_key_writes_any_location_workspace_key_only_its_own(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    second = await tenant.add_workspace()
    body = {"locationId": second, "email": "second@example.com"}
    created = await client.post(f"{BASE}/contacts/", json=body, headers=headers(tenant.key))
    assert created.status_code == 201 and created.json()["contact"]["locationId"] == second

    workspace_key = await tenant.make_key(["contacts.write", "contacts.read"], workspace=True)
    again = {"locationId": second, "email": "third@example.com"}
    error(await client.post(f"{BASE}/contacts/", json=again, headers=headers(workspace_key)), 403)
    own = {"locationId": tenant.ws_public_id, "email": "third@example.com"}
    assert (await client.post(f"{BASE}/contacts/", json=own, headers=headers(workspace_key))).status_code == 201
    # Reading the other workspace's contact with the workspace key: as if it did not exist.
    contact_id = created.json()["contact"]["id"]
    error(await client.get(f"{BASE}/contacts/{contact_id}", headers=headers(workspace_key)), 404)


async def test_key_without_contacts_write_is_403(client: httpx.AsyncClient, tenant: Tenant) -> None:
    reader = await tenant.make_key(["contacts.read"])
    body = {"locationId": tenant.ws_public_id, "email": "a@example.com"}
    assert "contacts.write" in error(await client.post(f"{BASE}/contacts/", json=body, headers=headers(reader)), 403)


async def test_duplicate_email_names_the_existing_contact(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await create(client, tenant, email="dup@example.com")
    body = {"locationId": tenant.ws_public_id, "email": "DUP@example.com"}
    response = await client.post(f"{BASE}/contacts/", json=body, headers=headers(tenant.key))
    error(response, 400)
    assert response.json()["meta"]["contactId"] == first["id"]
    assert response.json()["meta"]["matchingField"] == "email"


async def test_custom_fields_resolve_by_definition_id(client: httpx.AsyncClient, tenant: Tenant) -> None:
    definition = await client.post(
        "/v1/custom-fields", json={"key": "budget", "label": "Budget", "type": "number"}, headers=tenant.headers
    )
    field_id = definition.json()["id"]
    contact = await create(client, tenant, email="cf@example.com", customFields=[{"id": field_id, "value": "1200"}])
    assert contact["customFields"] == [{"id": field_id, "key": "budget", "value": 1200}]
    native = await client.get(f"/v1/contacts/{contact['id']}", headers=tenant.headers)
    assert native.json()["custom_fields"] == {"budget": 1200}

    body = {
        "locationId": tenant.ws_public_id,
        "email": "cf2@example.com",
        "customFields": [{"id": "cf_nope", "value": 1}],
    }
    message = error(await client.post(f"{BASE}/contacts/", json=body, headers=headers(tenant.key)), 400)
    assert "customFields[0].id" in message and "cf_nope" in message


async def test_dnd_settings_round_trip_in_vendor_channel_names(client: httpx.AsyncClient, tenant: Tenant) -> None:
    settings = {"SMS": {"status": "active", "message": "opted out"}, "Email": {"status": "inactive"}}
    contact = await create(client, tenant, email="dnd@example.com", dnd=True, dndSettings=settings)
    assert contact["dnd"] is True
    assert contact["dndSettings"] == settings


async def test_read_update_delete_without_location_use_the_contacts_workspace(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    second = await tenant.add_workspace()
    made = await client.post(
        f"{BASE}/contacts/", json={"locationId": second, "email": "w2@example.com"}, headers=headers(tenant.key)
    )
    contact_id = made.json()["contact"]["id"]
    # GET/DELETE with Content-Type: application/json and no body are normal.
    got = await client.get(f"{BASE}/contacts/{contact_id}/", headers=headers(tenant.key))
    assert got.status_code == 200 and got.json()["contact"]["locationId"] == second

    updated = await client.put(
        f"{BASE}/contacts/{contact_id}", json={"firstName": "Wanda"}, headers=headers(tenant.key)
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["succeded"] is True and body["succeeded"] is True
    assert body["contact"]["firstName"] == "Wanda" and body["contact"]["email"] == "w2@example.com"

    tagged = await client.post(
        f"{BASE}/contacts/{contact_id}/tags", json={"tags": ["a", "b"]}, headers=headers(tenant.key)
    )
    assert tagged.status_code == 200 and tagged.json() == {"tags": ["a", "b"]}
    untagged = await client.request(
        "DELETE", f"{BASE}/contacts/{contact_id}/tags", json={"tags": ["a"]}, headers=headers(tenant.key)
    )
    assert untagged.json() == {"tags": ["b"]}

    deleted = await client.delete(f"{BASE}/contacts/{contact_id}", headers=headers(tenant.key))
    assert deleted.status_code == 200 and deleted.json() == {"succeded": True, "succeeded": True}
    assert "Contact not found" in error(
        await client.get(f"{BASE}/contacts/{contact_id}", headers=headers(tenant.key)), 404
    )


async def test_upsert_creates_then_updates(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"locationId": tenant.ws_public_id, "email": "up@example.com", "tags": ["one"]}
    first = await client.post(f"{BASE}/contacts/upsert", json=body, headers=headers(tenant.key))
    assert first.status_code == 200 and first.json()["new"] is True and first.json()["traceId"]
    again = {**body, "tags": ["two"], "firstName": "Upton"}
    second = await client.post(f"{BASE}/contacts/upsert/", json=again, headers=headers(tenant.key))
    assert second.json()["new"] is False
    assert second.json()["contact"]["id"] == first.json()["contact"]["id"]
    assert second.json()["contact"]["tags"] == ["one", "two"]


async def test_search_duplicate_by_email_or_number(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await create(client, tenant, email="find@example.com", phone="+15551239876")
    url = f"{BASE}/contacts/search/duplicate"
    by_email = await client.get(
        url, params={"locationId": tenant.ws_public_id, "email": "find@example.com"}, headers=headers(tenant.key)
    )
    by_number = await client.get(
        url, params={"locationId": tenant.ws_public_id, "number": "+15551239876"}, headers=headers(tenant.key)
    )
    none = await client.get(
        url, params={"locationId": tenant.ws_public_id, "email": "no@example.com"}, headers=headers(tenant.key)
    )
    assert by_email.json()["contact"]["id"] == contact["id"] == by_number.json()["contact"]["id"]
    assert none.status_code == 200 and none.json() == {"contact": None}


async def test_list_pages_with_start_after_id_and_query(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = [await create(client, tenant, email=f"page{i}@example.com") for i in range(3)]
    params = {"locationId": tenant.ws_public_id, "limit": 2}
    first = (await client.get(f"{BASE}/contacts/", params=params, headers=headers(tenant.key))).json()
    assert len(first["contacts"]) == 2 and first["meta"]["startAfterId"]
    rest = await client.get(
        f"{BASE}/contacts",
        params={**params, "startAfterId": first["meta"]["startAfterId"]},
        headers=headers(tenant.key),
    )
    seen = [c["id"] for c in first["contacts"] + rest.json()["contacts"]]
    assert sorted(seen) == sorted(c["id"] for c in made)
    found = await client.get(
        f"{BASE}/contacts/", params={"locationId": tenant.ws_public_id, "query": "page1"}, headers=headers(tenant.key)
    )
    assert [c["email"] for c in found.json()["contacts"]] == ["page1@example.com"]
