"""Concurrent upserts of one identity make exactly one contact (the issue's named tests)."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import Tenant

EMAIL_SPELLINGS = [
    "Race.Winner@Example.com",
    "  race.winner@example.com",
    "RACE.WINNER@EXAMPLE.COM ",
    "race.winner@EXAMPLE.com",
]
PHONE_SPELLINGS = ["+1 415 555 0142", "(415) 555-0142", "415.555.0142", "+14155550142", "001 415 555 0142"]


async def _fire(client: httpx.AsyncClient, tenant: Tenant, bodies: list[dict[str, object]]) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *[client.post("/v1/contacts/upsert", json=body, headers=tenant.headers) for body in bodies]
        )
    )


async def test_50_concurrent_upserts_of_one_email_make_one_contact(client: httpx.AsyncClient, tenant: Tenant) -> None:
    bodies = [{"email": EMAIL_SPELLINGS[i % len(EMAIL_SPELLINGS)], "tags": [f"t{i}"]} for i in range(50)]
    responses = await _fire(client, tenant, bodies)

    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses if r.status_code >= 300]
    assert sum(r.status_code == 201 for r in responses) == 1
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    listing = (await client.get("/v1/contacts", params={"limit": 200}, headers=tenant.headers)).json()
    assert [c["id"] for c in listing["data"]] == list(ids)
    contact = listing["data"][0]
    assert contact["emails"] == [{"address": "race.winner@example.com", "type": "other", "primary": True}]
    # Every upsert added its tag to the one contact: none of the 50 writes was lost.
    assert sorted(contact["tags"]) == sorted(f"t{i}" for i in range(50))


async def test_50_concurrent_upserts_of_one_phone_in_national_and_international_forms(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    bodies = [{"phone": PHONE_SPELLINGS[i % len(PHONE_SPELLINGS)]} for i in range(50)]
    responses = await _fire(client, tenant, bodies)

    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses if r.status_code >= 300]
    assert len({r.json()["id"] for r in responses}) == 1
    listing = (await client.get("/v1/contacts", headers=tenant.headers)).json()
    assert len(listing["data"]) == 1
    assert listing["data"][0]["phones"][0]["number"] == "+14155550142"


async def test_concurrent_creates_of_one_email_make_one_contact_and_409s(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    responses = await asyncio.gather(
        *[
            client.post("/v1/contacts", json={"email": "only.once@example.com"}, headers=tenant.headers)
            for _ in range(20)
        ]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    winner = next(r.json()["id"] for r in responses if r.status_code == 201)
    assert {r.json()["existing_id"] for r in responses if r.status_code == 409} == {winner}
