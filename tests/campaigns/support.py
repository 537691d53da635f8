"""Helpers for campaign tests: a campaign with criteria, adding leads, reading events."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant

# A small B2B profile: software companies of 50-500 people in the US, sales leaders.
PROFILE: dict[str, Any] = {
    "criteria": [
        {"id": "industry", "field": "company.industry", "op": "one_of", "value": ["Software", "SaaS"], "weight": 30},
        {"id": "size", "field": "company.employee_count", "op": "range", "min": 50, "max": 500, "weight": 20},
        {"id": "country", "field": "company.country", "op": "equals", "value": "United States", "weight": 10},
        {"id": "seniority", "field": "contact.seniority", "op": "one_of", "value": ["VP", "C-Level"], "weight": 25},
        {"id": "title", "field": "contact.title", "op": "contains", "value": ["sales", "revenue"], "weight": 15},
    ],
    "disqualifiers": [{"id": "competitor", "field": "company.domain", "op": "equals", "value": "rival.example"}],
}


async def make_campaign(
    client: httpx.AsyncClient, tenant: Tenant, status: str = "active", **fields: Any
) -> dict[str, Any]:
    body = {"name": "Q3 outbound", "status": status, **PROFILE, **fields}
    response = await client.post("/v1/campaigns", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def add(
    client: httpx.AsyncClient, tenant: Tenant, campaign_id: str, body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    response = await client.post(f"/v1/campaigns/{campaign_id}/prospects", json=body, headers=tenant.headers)
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


async def events_of(client: httpx.AsyncClient, tenant: Tenant, type_: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", params={"type": type_, "limit": 200}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [e for e in response.json()["data"] if e["type"] == type_]
