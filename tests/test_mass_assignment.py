"""Mass assignment: a client can never set server-owned fields — `id`, `workspace_id`, `created_at`,
`updated_at`, event `seq`, key scopes — through any route, native or dialect. Each route either refuses
the field (4xx naming it) or ignores it; it never lands."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant

FOREIGN_ID = "con_01h00000000000000000000000"
FOREIGN_WS = "ws_01h00000000000000000000000"
LONG_AGO = "2001-01-01T00:00:00Z"
INJECTED: dict[str, Any] = {
    "id": FOREIGN_ID,
    "workspace_id": FOREIGN_WS,
    "workspaceId": FOREIGN_WS,
    "locationId_": FOREIGN_WS,
    "created_at": LONG_AGO,
    "createdAt": LONG_AGO,
    "updated_at": LONG_AGO,
    "dateAdded": LONG_AGO,
    "seq": 999_999,
    "scopes": ["admin"],
}


def landed(answer: dict[str, Any]) -> list[str]:
    """Server-owned fields of an answer that took an injected value."""
    text = repr(answer)
    return [value for value in (FOREIGN_ID, FOREIGN_WS, "2001-01-01", "999999") if value in text]


async def _send(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await client.request(method, path, json=body, headers={**headers, "Version": "2021-07-28"})


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/contacts", {"email": "m1@example.com"}),
        ("POST", "/v1/contacts/upsert", {"email": "m2@example.com"}),
        ("PATCH", "/v1/contacts/{contact}", {"title": "x"}),
        ("POST", "/v1/custom-fields", {"key": "k1", "label": "K", "type": "text"}),
        ("POST", "/v1/webhooks", {"url": "https://hooks.example.net/m", "event_types": ["*"]}),
        ("POST", "/v1/workspaces", {"name": "w"}),
        ("PATCH", "/v1/rate-limits", {"key_limit": 500}),
        ("POST", "/v1/privacy/suppressions", {"email": "m3@example.com"}),
        ("POST", "/v1/companies", {"name": "Acme"}),
        ("POST", "/compat/leadconnector/contacts/", {"locationId": "{ws}", "email": "m4@example.com"}),
        ("PUT", "/compat/leadconnector/contacts/{contact}", {"firstName": "x"}),
        ("POST", "/compat/magicblocks/v1/contacts", {"email": "m5@example.com"}),
        ("POST", "/compat/leads-v1/api/v1/leads", {"email": "m6@example.com", "first_name": "M"}),
    ],
)
async def test_server_owned_fields_cannot_be_set_by_a_client(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: dict[str, Any]
) -> None:
    contact = (await client.post("/v1/contacts", json={"first_name": "Base"}, headers=tenant.headers)).json()
    path = path.replace("{contact}", contact["id"])
    body = {k: (v.replace("{ws}", tenant.ws_public_id) if isinstance(v, str) else v) for k, v in body.items()}
    response = await _send(client, method, path, {**body, **INJECTED}, tenant.headers)
    if response.status_code >= 400:
        assert response.status_code in (400, 422), response.text  # refused, naming the unknown field
        return
    assert landed(response.json()) == [], response.text
    # And the row as stored: read back through the native API where there is one.
    if path.startswith("/v1/contacts") or path.startswith("/compat/"):
        stored = (await client.get(f"/v1/contacts/{contact['id']}", headers=tenant.headers)).json()
        assert landed(stored) == []


async def test_a_key_cannot_grant_scopes_it_does_not_hold(client: httpx.AsyncClient, tenant: Tenant) -> None:
    writer = {"Authorization": f"Bearer {await tenant.make_key(['contacts.write'])}"}
    escalate = await client.post("/v1/keys", json={"name": "x", "scopes": ["admin"]}, headers=writer)
    assert escalate.status_code == 403
    patched = await client.post("/v1/contacts", json={"first_name": "a", "scopes": ["admin"]}, headers=writer)
    assert patched.status_code == 422 and patched.json()["errors"][0]["field"] == "scopes"


async def test_event_sequence_numbers_are_the_servers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for _ in range(2):
        await client.post("/v1/contacts", json={"first_name": "S"}, headers=tenant.headers)
    seqs = [e["seq"] for e in (await client.get("/v1/events", headers=tenant.headers)).json()["data"]]
    assert sorted(seqs) == list(range(1, len(seqs) + 1))
