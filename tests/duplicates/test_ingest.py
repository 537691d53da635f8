"""Opt-in duplicate handling on create and upsert, from any door: a report event, or an automatic merge
with the same event trail as a requested one."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant
from tests.duplicates.support import make, settings


async def _events(client: httpx.AsyncClient, tenant: Tenant, type_: str) -> list[dict[str, object]]:
    response = await client.get("/v1/events", params={"type": type_}, headers=tenant.headers)
    return list(response.json()["data"])


async def test_nothing_happens_on_ingest_unless_the_workspace_opts_in(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await make(client, tenant, {"name": "Jon Smith", "email": "jon.smith@gmail.com"})
    second = await make(client, tenant, {"name": "Jonathan Smith", "email": "jonsmith+x@gmail.com"})
    assert first != second
    assert await _events(client, tenant, "contact.duplicates_suspected") == []
    assert await _events(client, tenant, "contact.merged") == []


async def test_the_report_names_the_candidates_with_their_reasons(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await settings(client, tenant, report_on_ingest=True)
    jon = await make(client, tenant, {"first_name": "Jon", "last_name": "Smith", "company_name": "Acme Inc"})
    upserted = await client.post(
        "/v1/contacts/upsert",
        json={"name": "Jonathan Smith", "company_name": "ACME", "email": "js@acme.com"},
        headers=tenant.headers,
    )
    assert upserted.status_code == 201
    reports = await _events(client, tenant, "contact.duplicates_suspected")
    assert len(reports) == 1
    data = reports[0]["data"]
    assert isinstance(data, dict)
    assert data["contact_id"] == upserted.json()["id"]
    assert [c["id"] for c in data["candidates"]] == [jon]
    assert {r["rule"] for r in data["candidates"][0]["reasons"]} >= {"nickname", "same"}


async def test_auto_merge_absorbs_a_sure_duplicate_into_the_older_contact_from_any_door(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await settings(client, tenant, auto_merge=True)
    first = await make(client, tenant, {"name": "Jon Smith", "email": "jon.smith@gmail.com", "tags": ["web"]})
    # The same mailbox (gmail ignores dots and +tags) through the MagicBlocks dialect.
    body = {"name": {"first": "Jonathan", "last": "Smith"}, "emails": [{"address": "jonsmith+promo@gmail.com"}]}
    response = await client.post("/compat/magicblocks/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    assert response.json()["id"] == first

    contact = (await client.get(f"/v1/contacts/{first}", headers=tenant.headers)).json()
    assert {e["address"] for e in contact["emails"]} == {"jon.smith@gmail.com", "jonsmith+promo@gmail.com"}
    merged = await _events(client, tenant, "contact.merged")
    assert len(merged) == 1
    data = merged[0]["data"]
    assert isinstance(data, dict)
    assert data["origin"]["rule"] == "auto_merge"
    assert data["origin"]["matches"][0]["id"] == first
    assert data["origin"]["matches"][0]["score"] >= 0.97
    # The newcomer's creation stays in the trail, on the survivor's timeline.
    timeline = (await client.get(f"/v1/contacts/{first}/timeline", headers=tenant.headers)).json()["data"]
    assert [e["type"] for e in timeline] == ["contact.merged", "contact.created", "contact.created"]


async def test_auto_merge_leaves_likely_but_unsure_pairs_alone(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await settings(client, tenant, auto_merge=True, report_on_ingest=True)
    jon = await make(client, tenant, {"first_name": "Jon", "last_name": "Smith", "company_name": "Acme Inc"})
    other = await make(client, tenant, {"name": "Jonathan Smith", "company_name": "ACME"})
    assert other != jon
    assert await _events(client, tenant, "contact.merged") == []
    assert len(await _events(client, tenant, "contact.duplicates_suspected")) == 1
