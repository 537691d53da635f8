"""Small helpers shared by the contact and custom-field tests: call the API and unwrap answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Tenant

PROBLEM_JSON = "application/problem+json"


async def create_contact(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/contacts and insist on 201."""
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def get_contact(client: httpx.AsyncClient, tenant: Tenant, contact_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/contacts/{contact_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem+json body of an error answer with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def field_rules(body: dict[str, Any]) -> dict[str, str]:
    """``{field path: rule}`` of a validation problem."""
    return {e["field"]: e["rule"] for e in body["errors"]}


async def contact_events(client: httpx.AsyncClient, tenant: Tenant, contact_id: str) -> list[dict[str, Any]]:
    """The contact's timeline, oldest first."""
    response = await client.get(f"/v1/contacts/{contact_id}/timeline", params={"limit": 200}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["data"]))


async def workspace_events(client: httpx.AsyncClient, tenant: Tenant, type_: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", params={"limit": 200, "type": type_}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class DrivenClock:
    """The service clock under a test's control (see the ``driven_clock`` fixture)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def advance(self, seconds: float = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def without_ids(value: Any) -> Any:
    """``value`` without what differs between two workspaces by construction: ids and timestamps."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in ("id", "created_at", "updated_at")}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value
