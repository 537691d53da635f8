"""Helpers for the duplicate tests: make contacts and call the duplicate routes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant

LC = {"Version": "2021-07-28"}


async def make(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> str:
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def candidates(client: httpx.AsyncClient, tenant: Tenant, contact_id: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/contacts/{contact_id}/duplicates", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def merge(
    client: httpx.AsyncClient, tenant: Tenant, survivor: str, absorb: list[str], **extra: Any
) -> httpx.Response:
    return await client.post(f"/v1/contacts/{survivor}/merge", json={"absorb": absorb, **extra}, headers=tenant.headers)


async def settings(client: httpx.AsyncClient, tenant: Tenant, **values: Any) -> dict[str, Any]:
    response = await client.patch("/v1/duplicates/settings", json=values, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())
