"""MagicBlocks beyond the page's examples: flow requests become events, matching without an id, errors."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant

BASE = "/compat/magicblocks/v1/contacts"


async def flow_events(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", params={"type": "flow.triggered"}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_send_message_events_emits_flow_triggered_for_the_contact(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {
        "email": "flow@example.com",
        "sendMessageEvents": True,
        "flowEditorName": "Agent Welcome Flow",
        "flowEditorLink": "https://app.magicblocks.ai/flow/agent-welcome",
    }
    created = (await client.post(BASE, json=body, headers=tenant.headers)).json()
    [event] = await flow_events(client, tenant)
    assert event["data"]["flow"] == {
        "name": "Agent Welcome Flow",
        "link": "https://app.magicblocks.ai/flow/agent-welcome",
    }
    assert event["contact_id"] == event["data"]["contact"]["id"] == created["id"]
    assert event["actor"]["door"] == "compat:magicblocks"


async def test_no_flow_event_when_messages_are_declined_or_not_asked(client: httpx.AsyncClient, tenant: Tenant) -> None:
    declined = {"email": "no@example.com", "sendMessageEvents": False, "flowEditorName": "Agent Welcome Flow"}
    assert (await client.post(BASE, json=declined, headers=tenant.headers)).status_code == 201
    assert (await client.post(BASE, json={"email": "plain@example.com"}, headers=tenant.headers)).status_code == 201
    assert await flow_events(client, tenant) == []


async def test_put_without_id_matches_by_phone_when_email_is_unknown(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = (await client.post(BASE, json={"phone": "+61412345678"}, headers=tenant.headers)).json()
    body = {"phones": [{"number": "0412 345 678", "type": "mobile", "primary": True}], "first_name": "Found"}
    response = await client.put(BASE, json=body, headers={**tenant.headers})
    # A national Australian number only matches with the +61 code (the workspace's region is US).
    assert response.status_code == 404
    response = await client.put(BASE, json={"phone": "+61 412 345 678", "first_name": "Found"}, headers=tenant.headers)
    assert response.status_code == 200 and response.json()["id"] == made["id"]
    assert response.json()["name"]["first"] == "Found"


async def test_put_without_id_and_no_match_is_404(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.put(BASE, json={"email": "nobody@example.com", "first_name": "X"}, headers=tenant.headers)
    assert response.status_code == 404
    assert response.json()["statusCode"] == 404


async def test_bad_data_is_400_naming_the_magicblocks_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(BASE, json={"emails": [{"address": "nope", "primary": True}]}, headers=tenant.headers)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["emails[0].address"]
    response = await client.post(BASE, json={"email": "c@example.com", "custom": "flat"}, headers=tenant.headers)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "custom"


async def test_generated_name_comes_from_the_email_when_no_name_is_given(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = (await client.post(BASE, json={"email": "johan.greg@magicblocks.ai"}, headers=tenant.headers)).json()
    assert body["name"] == {"first": "", "middle": "", "last": ""}
    assert body["generatedName"] == {"first": "Johan", "middle": "", "last": "Greg"}


async def test_missing_key_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(BASE)
    assert response.status_code == 401 and response.json()["statusCode"] == 401
