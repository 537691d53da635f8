"""Leads v1 beyond the page's examples: create, get, list and delete in its conventions; read-only
fields; merge semantics; error bodies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from leadhub.core import clock
from tests.conftest import Tenant

BASE = "/compat/leads-v1/api/v1/leads"


async def create(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    response = await client.post(BASE, json=fields, headers=tenant.headers)
    assert response.status_code == 201, response.text
    assert response.json()["success"] is True
    data: dict[str, Any] = response.json()["data"]
    return data


def validation(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"success", "error", "code", "details"}
    assert body["success"] is False and body["code"] == "VALIDATION_ERROR"
    details: dict[str, Any] = body["details"]
    return details


async def test_create_get_list_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    lead = await create(client, tenant, name="Ada Lovelace", email="ada@example.com", status="new", source="form")
    assert lead["id"].startswith("lead_") and lead["workspaceId"] == tenant.ws_public_id
    got = await client.get(f"{BASE}/{lead['id']}", headers=tenant.headers)
    assert got.json() == {"success": True, "data": lead}
    listing = (await client.get(BASE, params={"status": "new"}, headers=tenant.headers)).json()
    assert [item["id"] for item in listing["data"]] == [lead["id"]]
    assert listing["pagination"]["hasMore"] is False
    deleted = await client.delete(f"{BASE}/{lead['id']}", headers=tenant.headers)
    assert deleted.json() == {"success": True, "data": {"id": lead["id"], "deleted": True}}
    gone = await client.get(f"{BASE}/{lead['id']}", headers=tenant.headers)
    assert gone.status_code == 404 and gone.json()["error"] == "Lead not found"


async def test_lead_and_contact_ids_name_the_same_lead(client: httpx.AsyncClient, tenant: Tenant) -> None:
    lead = await create(client, tenant, email="same@example.com")
    native = (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"][0]
    assert lead["id"].removeprefix("lead_") == native["id"].removeprefix("con_")
    via_con = await client.get(f"{BASE}/{native['id']}", headers=tenant.headers)
    assert via_con.json()["data"]["id"] == lead["id"]


async def test_metadata_merges_and_null_deletes_a_key(client: httpx.AsyncClient, tenant: Tenant) -> None:
    lead = await create(client, tenant, email="m@example.com", metadata={"a": 1, "b": 2})
    response = await client.put(f"{BASE}/{lead['id']}", json={"metadata": {"b": None, "c": 3}}, headers=tenant.headers)
    assert response.json()["data"]["metadata"] == {"a": 1, "c": 3}


async def test_update_moves_updated_at_and_never_created_at(client: httpx.AsyncClient, tenant: Tenant) -> None:
    start = clock.now()
    clock.set_clock(lambda: start)
    try:
        lead = await create(client, tenant, email="t@example.com")
        clock.set_clock(lambda: start + timedelta(minutes=5))
        body = {"status": "lost", "createdAt": "2000-01-01T00:00:00.000Z", "updatedAt": "2000-01-01T00:00:00.000Z"}
        updated = (await client.put(f"{BASE}/{lead['id']}", json=body, headers=tenant.headers)).json()["data"]
    finally:
        clock.set_clock(None)
    assert updated["createdAt"] == lead["createdAt"]
    assert updated["updatedAt"] > lead["updatedAt"]


async def test_id_and_workspace_id_may_be_echoed_but_not_changed(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    lead = await create(client, tenant, email="ro@example.com")
    other = await create(client, tenant, email="ro2@example.com")
    echo = {"id": lead["id"], "workspaceId": tenant.ws_public_id, "status": "contacted"}
    assert (await client.put(f"{BASE}/{lead['id']}", json=echo, headers=tenant.headers)).status_code == 200

    moved = await client.put(
        f"{BASE}/{lead['id']}", json={"workspaceId": other_tenant.ws_public_id}, headers=tenant.headers
    )
    assert validation(moved) == {
        "field": "workspaceId",
        "value": other_tenant.ws_public_id,
        "message": "WorkspaceId cannot be modified",
    }
    renumbered = await client.put(f"{BASE}/{lead['id']}", json={"id": other["id"]}, headers=tenant.headers)
    assert validation(renumbered)["field"] == "id"


async def test_missing_email_on_create_and_bad_phone_are_validation_errors(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    missing = validation(await client.post(BASE, json={"name": "No Email"}, headers=tenant.headers))
    assert missing == {"field": "email", "value": None, "message": "Email is required"}
    bad = validation(
        await client.post(BASE, json={"email": "p@example.com", "phone": "call me"}, headers=tenant.headers)
    )
    assert bad["field"] == "phone" and bad["value"] == "call me" and bad["message"].startswith("Phone is not")


async def test_other_workspaces_lead_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    lead = await create(client, other_tenant, email="theirs@example.com")
    response = await client.put(f"{BASE}/{lead['id']}", json={"status": "lost"}, headers=tenant.headers)
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Lead not found", "code": "NOT_FOUND"}


async def test_bad_key_is_401_in_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get(BASE, headers={"Authorization": "Bearer sk-workspace_your_api_key"})
    assert response.status_code == 401
    assert response.json()["success"] is False and response.json()["code"] == "UNAUTHORIZED"
