"""Which workspace a request acts in: an organization key names one with `LeadHub-Workspace` (default: the
organization's first); a workspace key acts only in its own; another organization's workspace is 404."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant

WS = "LeadHub-Workspace"


def bearer(key: str, workspace: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if workspace:
        headers[WS] = workspace
    return headers


async def _names(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    response = await client.get("/v1/contacts", headers=headers)
    assert response.status_code == 200, response.text
    return [c["first_name"] for c in response.json()["data"]]


async def test_organization_key_acts_in_the_named_workspace_else_the_first(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    second = await tenant.add_workspace("second")
    first = tenant.ws_public_id
    assert (
        await client.post("/v1/contacts", json={"first_name": "Default"}, headers=tenant.headers)
    ).status_code == 201
    response = await client.post("/v1/contacts", json={"first_name": "Second"}, headers={**tenant.headers, WS: second})
    assert response.status_code == 201

    assert await _names(client, tenant.headers) == ["Default"]
    assert await _names(client, bearer(tenant.key, first)) == ["Default"]
    assert await _names(client, bearer(tenant.key, second)) == ["Second"]
    # An id of the second workspace's contact is 404 in the first.
    contact_id = response.json()["id"]
    assert (await client.get(f"/v1/contacts/{contact_id}", headers=tenant.headers)).status_code == 404
    assert (await client.get(f"/v1/contacts/{contact_id}", headers=bearer(tenant.key, second))).status_code == 200


async def test_workspace_key_acts_only_in_its_own_workspace(client: httpx.AsyncClient, tenant: Tenant) -> None:
    second = await tenant.add_workspace("second")
    key = await tenant.make_key(["contacts.*"], workspace=True)
    await client.post("/v1/contacts", json={"first_name": "Mine"}, headers=bearer(key))
    assert await _names(client, bearer(key, tenant.ws_public_id)) == ["Mine"]
    for headers in (bearer(key, second), bearer(key, "ws_garbage")):
        response = await client.get("/v1/contacts", headers=headers)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
        response = await client.post("/v1/contacts", json={"first_name": "Sneaky"}, headers=headers)
        assert response.status_code == 404
    assert await _names(client, bearer(tenant.key, second)) == []


async def test_another_organizations_workspace_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    response = await client.get("/v1/contacts", headers=bearer(tenant.key, other_tenant.ws_public_id))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    # The same answer as for a workspace that never existed: no existence leak.
    missing = await client.get("/v1/contacts", headers=bearer(tenant.key, "ws_00000000000000000000000000"))
    assert missing.status_code == 404
    assert missing.json()["detail"] == response.json()["detail"]
    write = await client.post(
        "/v1/contacts", json={"first_name": "X"}, headers=bearer(tenant.key, other_tenant.ws_public_id)
    )
    assert write.status_code == 404
    assert await _names(client, other_tenant.headers) == []


async def test_admin_creates_and_lists_workspaces_of_its_organization_only(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = await client.post("/v1/workspaces", json={"name": "EU", "default_region": "de"}, headers=tenant.headers)
    assert created.status_code == 201, created.text
    ws = created.json()
    assert ws["id"].startswith("ws_") and ws["name"] == "EU" and ws["default_region"] == "DE"
    listed = (await client.get("/v1/workspaces", headers=tenant.headers)).json()["data"]
    assert [w["id"] for w in listed] == [tenant.ws_public_id, ws["id"]]
    other = (await client.get("/v1/workspaces", headers=other_tenant.headers)).json()["data"]
    assert [w["id"] for w in other] == [other_tenant.ws_public_id]
    # The new workspace is usable at once, and reads national phones in its region.
    response = await client.post(
        "/v1/contacts", json={"phone": "030 1234567"}, headers={**tenant.headers, WS: ws["id"]}
    )
    assert response.status_code == 201, response.text
    assert response.json()["phones"][0]["number"] == "+49301234567"


async def test_workspace_bound_key_is_created_and_confined(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    second = await tenant.add_workspace("second")
    created = await client.post(
        "/v1/keys", json={"scopes": ["contacts.*"], "workspace_id": second}, headers=tenant.headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["workspace_id"] == second
    key = created.json()["key"]
    await client.post("/v1/contacts", json={"first_name": "InSecond"}, headers=bearer(key))
    assert await _names(client, bearer(tenant.key, second)) == ["InSecond"]
    assert await _names(client, tenant.headers) == []
    # A key for a workspace of another organization cannot be minted.
    foreign = await client.post(
        "/v1/keys", json={"scopes": ["admin"], "workspace_id": other_tenant.ws_public_id}, headers=tenant.headers
    )
    assert foreign.status_code == 404
