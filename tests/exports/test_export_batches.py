"""The contacts export reads plain rows in keyset batches; each line is exactly the contact's native JSON
(what the list API answers), in the list's order, across batch boundaries and with filters."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import orjson
import pytest

from leadhub.exports import service as exports
from tests.conftest import Tenant

PEOPLE: list[dict[str, Any]] = [
    {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "emails": [{"address": "ada@example.com", "type": "work"}, {"address": "ada@home.example", "primary": True}],
        "phones": [{"number": "+14155550100", "type": "mobile"}, {"number": "+14155550101"}],
        "status": "qualified",
        "tags": ["vip", "math"],
        "custom_fields": {"plan": "pro", "seats": 12, "ratio": 1.5, "nested": {"a": [1, 2]}},
        "address": {"city": "London", "country": "GB"},
        "date_of_birth": "1915-12-10",
        "first_seen": "2024-01-02T03:04:05.123456Z",
        "dnd_settings": {"sms": {"status": "active", "message": "no"}},
        "consent": {"marketing": {"granted": True, "source": "form"}},
        "notes": 'said "hello",\nthen left',
    },
    {"name": "Grace Hopper", "email": "grace@example.com", "status": "new", "last_seen": "2024-05-01T00:00:00Z"},
    *[{"email": f"p{n}@example.com", "status": "new" if n % 2 else "lost", "source": "fair"} for n in range(9)],
]


async def _listed(client: httpx.AsyncClient, tenant: Tenant, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": "3", **params, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/v1/contacts", params=query, headers=tenant.headers)
        assert r.status_code == 200, r.text
        found += r.json()["data"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return found


@pytest.mark.parametrize("batch", [2, 5000])
async def test_jsonl_export_is_the_list_apis_json_across_batches(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(exports, "CONTACT_BATCH", batch)
    for body in PEOPLE:
        r = await client.post("/v1/contacts", json=body, headers=tenant.headers)
        assert r.status_code == 201, r.text
    for params in ({}, {"status": "new"}, {"source": "fair", "status": "lost"}, {"q": "lovelace"}):
        r = await client.get("/v1/exports/contacts", params={"format": "jsonl", **params}, headers=tenant.headers)
        assert r.status_code == 200
        lines = [orjson.loads(line) for line in r.content.splitlines()]
        assert lines == await _listed(client, tenant, **params), params
        assert lines, params
    everyone = await _listed(client, tenant)
    assert len(everyone) == len(PEOPLE)
    r = await client.get("/v1/exports/contacts", params={"format": "csv"}, headers=tenant.headers)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["id"] for row in rows] == [c["id"] for c in everyone]
    # Each CSV row is the flattened native JSON (the one definition, exports.flatten_contact).
    jsonl = await client.get("/v1/exports/contacts", params={"format": "jsonl"}, headers=tenant.headers)
    flattened = [exports.flatten_contact(orjson.loads(line)) for line in jsonl.content.splitlines()]
    assert [{k: v for k, v in row.items() if v} for row in rows] == [
        {k: v for k, v in row.items() if v} for row in flattened
    ]
    ada = next(row for row in rows if row["first_name"] == "Ada")
    assert ada["emails"] == "ada@home.example;ada@example.com" and ada["custom_fields.seats"] == "12"
    assert ada["custom_fields.nested"] == '{"a":[1,2]}' and ada["first_seen"] == "2024-01-02T03:04:05.123456Z"
