"""Exports through the real API: streamed CSV / JSON Lines, filters, custom fields as columns, and the
round trip (export, then import into a fresh workspace, reproduces the contacts)."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import orjson

from tests.conftest import Tenant

CONTACTS: list[dict[str, Any]] = [
    {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "emails": [
            {"address": "ada@example.com", "type": "work", "primary": True},
            {"address": "ada@home.example", "type": "personal"},
        ],
        "phones": [{"number": "+14155550100", "type": "mobile"}],
        "company_name": "Analytical Engines, Ltd",
        "title": "Countess",
        "status": "qualified",
        "tags": ["vip", "math"],
        "custom_fields": {"plan": "pro", "seats": "12"},
        "address": {"city": "London", "country": "GB"},
        "notes": 'said "hello",\nthen left',
        "source": "fair",
    },
    {"name": "Grace Hopper", "email": "grace@example.com", "status": "new", "custom_fields": {"navy": "yes"}},
    {"email": "plain@example.com", "dnd": True, "dnd_settings": {"sms": {"status": "active"}}},
]
COMPARED = ("first_name", "last_name", "name", "company_name", "title", "status", "tags", "custom_fields", "notes")


async def _seed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for body in CONTACTS:
        r = await client.post("/v1/contacts", json=body, headers=tenant.headers)
        assert r.status_code == 201, r.text


async def _listed(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    r = await client.get("/v1/contacts", params={"limit": 100}, headers=headers)
    return {c["emails"][0]["address"]: c for c in r.json()["data"]}


async def test_csv_export_has_a_column_per_custom_field_and_follows_the_filters(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _seed(client, tenant)
    r = await client.get("/v1/exports/contacts", headers=tenant.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 3
    assert {"custom_fields.plan", "custom_fields.seats", "custom_fields.navy", "address.city"} <= set(rows[0])
    ada = next(row for row in rows if row["first_name"] == "Ada")
    assert ada["emails"] == "ada@example.com;ada@home.example" and ada["custom_fields.plan"] == "pro"
    assert ada["notes"] == 'said "hello",\nthen left'
    filtered = await client.get("/v1/exports/contacts", params={"status": "qualified"}, headers=tenant.headers)
    assert [row["first_name"] for row in csv.DictReader(io.StringIO(filtered.text))] == ["Ada"]


async def test_csv_round_trip_into_a_fresh_workspace_reproduces_the_contacts(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _seed(client, tenant)
    exported = await client.get("/v1/exports/contacts", headers=tenant.headers)
    fresh = {**tenant.headers, "LeadHub-Workspace": await tenant.add_workspace("copy")}
    r = await client.post(
        "/v1/imports", content=exported.content, params={"wait": "true", "mode": "create_only"}, headers=fresh
    )
    assert r.status_code == 201 and (r.json()["created"], r.json()["failed"]) == (3, 0), r.text
    before, after = await _listed(client, tenant.headers), await _listed(client, fresh)
    assert before.keys() == after.keys()
    for email, original in before.items():
        copy = after[email]
        assert {k: copy[k] for k in COMPARED} == {k: original[k] for k in COMPARED}
        assert [e["address"] for e in copy["emails"]] == [e["address"] for e in original["emails"]]
        assert [p["number"] for p in copy["phones"]] == [p["number"] for p in original["phones"]]
        assert copy["address"] == original["address"] and copy["dnd_settings"] == original["dnd_settings"]


async def test_json_lines_round_trip_keeps_every_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await _seed(client, tenant)
    exported = await client.get("/v1/exports/contacts", params={"format": "jsonl"}, headers=tenant.headers)
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in exported.content.splitlines()]
    assert len(lines) == 3
    fresh = {**tenant.headers, "LeadHub-Workspace": await tenant.add_workspace("copy")}
    r = await client.post("/v1/imports", content=exported.content, params={"wait": "true"}, headers=fresh)
    assert r.json()["created"] == 3, r.text
    volatile = ("id", "created_at", "updated_at", "company_id")
    before, after = await _listed(client, tenant.headers), await _listed(client, fresh)
    for email, original in before.items():
        assert {k: v for k, v in after[email].items() if k not in volatile} == {
            k: v for k, v in original.items() if k not in volatile
        }


async def test_exports_stay_inside_the_workspace_and_refuse_bad_filters(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _seed(client, tenant)
    for resource in ("contacts", "companies", "deals"):
        r = await client.get(f"/v1/exports/{resource}", params={"format": "jsonl"}, headers=other_tenant.headers)
        assert r.status_code == 200 and r.content == b"", resource
    bad = await client.get("/v1/exports/contacts", params={"email": "nope"}, headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"
    reader = await tenant.make_key(["deals.read"], workspace=True)
    denied = await client.get("/v1/exports/contacts", headers={"Authorization": f"Bearer {reader}"})
    assert denied.status_code == 403


async def test_companies_and_deals_export_as_csv(client: httpx.AsyncClient, tenant: Tenant) -> None:
    company = await client.post(
        "/v1/companies", json={"name": "Acme", "domain": "acme.example"}, headers=tenant.headers
    )
    assert company.status_code == 201, company.text
    r = await client.get("/v1/exports/companies", headers=tenant.headers)
    [row] = list(csv.DictReader(io.StringIO(r.text)))
    assert row["name"] == "Acme" and row["domain"] == "acme.example"
    deal = await client.post("/v1/deals", json={"name": "Big one"}, headers=tenant.headers)
    assert deal.status_code == 201, deal.text
    [deal_row] = list(csv.DictReader(io.StringIO((await client.get("/v1/exports/deals", headers=tenant.headers)).text)))
    assert deal_row["name"] == "Big one"
