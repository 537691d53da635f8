"""Keyset pagination of GET /v1/contacts (the issue's named test) and its cursor rules."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
import pytest

from tests.conftest import Tenant
from tests.contacts.support import DrivenClock, field_rules, instant, problem

ORIGINALS = 300
PAGE = 25


async def _seed(client: httpx.AsyncClient, tenant: Tenant, clock: DrivenClock) -> set[str]:
    """300 contacts over three instants, so many rows share a sort value and only the id breaks ties."""
    ids: set[str] = set()
    for group in range(3):
        clock.advance(10)
        items = [{"email": f"orig{group}-{i}@example.com"} for i in range(ORIGINALS // 3)]
        response = await client.post(
            "/v1/contacts/batch", json={"mode": "create", "items": items}, headers=tenant.headers
        )
        assert response.json()["created"] == ORIGINALS // 3
        ids |= {r["id"] for r in response.json()["results"]}
    return ids


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "updated_at", "-updated_at"])
async def test_pagination_walks_a_large_list_without_gaps_or_repeats_while_rows_are_being_inserted(
    client: httpx.AsyncClient, tenant: Tenant, driven_clock: DrivenClock, sort: str
) -> None:
    originals = await _seed(client, tenant, driven_clock)
    driven_clock.advance(10)
    inserted: list[str] = []
    walking = True

    async def insert_while_walking() -> None:
        n = 0
        while walking:
            n += 1
            body = {"email": f"late{n}@example.com"}
            response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
            assert response.status_code == 201, response.text
            inserted.append(response.json()["id"])

    async def inserts_beyond(count: int) -> None:
        """Poll until the inserter has landed another row (a deadline, not a sleep)."""
        deadline = asyncio.get_running_loop().time() + 10
        while len(inserted) <= count:
            assert asyncio.get_running_loop().time() < deadline, "the inserter made no progress"
            await asyncio.sleep(0)

    inserter = asyncio.create_task(insert_while_walking())
    seen: list[str] = []
    stamps: list[datetime] = []
    cursor: str | None = None
    try:
        while True:
            params: dict[str, str | int] = {"limit": PAGE, "sort": sort, **({"cursor": cursor} if cursor else {})}
            response = await client.get("/v1/contacts", params=params, headers=tenant.headers)
            assert response.status_code == 200, response.text
            page = response.json()
            seen += [c["id"] for c in page["data"]]
            stamps += [instant(c[sort.lstrip("-")]) for c in page["data"]]
            if not page["has_more"]:
                assert page["next_cursor"] is None
                break
            cursor = page["next_cursor"]
            await inserts_beyond(len(inserted))
    finally:
        walking = False
        await inserter

    assert len(inserted) >= ORIGINALS // PAGE - 1
    assert len(seen) == len(set(seen)), "a contact was returned twice"
    assert originals <= set(seen), f"{len(originals - set(seen))} contacts were skipped"
    assert set(seen) <= originals | set(inserted)
    assert stamps == sorted(stamps, reverse=sort.startswith("-"))


async def test_a_page_never_holds_more_than_the_limit(client: httpx.AsyncClient, tenant: Tenant) -> None:
    items = [{"email": f"p{i}@example.com"} for i in range(5)]
    await client.post("/v1/contacts/batch", json={"mode": "create", "items": items}, headers=tenant.headers)

    first = (await client.get("/v1/contacts", params={"limit": 2}, headers=tenant.headers)).json()
    assert len(first["data"]) == 2 and first["has_more"] is True
    last = (await client.get("/v1/contacts", params={"limit": 5}, headers=tenant.headers)).json()
    assert len(last["data"]) == 5 and last["has_more"] is False and last["next_cursor"] is None


@pytest.mark.parametrize("limit", [0, 201, -1, "many"])
async def test_a_limit_outside_1_to_200_is_refused(client: httpx.AsyncClient, tenant: Tenant, limit: object) -> None:
    response = await client.get("/v1/contacts", params={"limit": limit}, headers=tenant.headers)
    assert list(field_rules(problem(response, 422))) == ["limit"]


async def test_a_limit_of_200_is_allowed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/v1/contacts", params={"limit": 200}, headers=tenant.headers)
    assert response.status_code == 200


@pytest.mark.parametrize("cursor", ["garbage", "!!!", "eyJrIjoiY29udGFjdHM6LWNyZWF0ZWRfYXQiLCJ2IjpbMSwyXX0", "e30"])
async def test_a_garbage_cursor_is_refused(client: httpx.AsyncClient, tenant: Tenant, cursor: str) -> None:
    response = await client.get("/v1/contacts", params={"cursor": cursor}, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {"cursor": "cursor"}


async def test_a_cursor_from_another_sort_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    items = [{"email": f"s{i}@example.com"} for i in range(3)]
    await client.post("/v1/contacts/batch", json={"mode": "create", "items": items}, headers=tenant.headers)
    page = (await client.get("/v1/contacts", params={"limit": 1, "sort": "created_at"}, headers=tenant.headers)).json()

    response = await client.get(
        "/v1/contacts",
        params={"limit": 1, "sort": "-updated_at", "cursor": page["next_cursor"]},
        headers=tenant.headers,
    )

    assert field_rules(problem(response, 422)) == {"cursor": "cursor"}


async def test_an_unknown_sort_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/v1/contacts", params={"sort": "name"}, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {"sort": "enum"}
