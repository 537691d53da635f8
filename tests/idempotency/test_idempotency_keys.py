"""`Idempotency-Key` on POST/PUT/PATCH: a replay answers the first response byte for byte and writes
nothing; another request under the key is 422; a running one is 409; a failed one frees the key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from leadhub.core import clock
from leadhub.idempotency import service as idempotency
from tests.conftest import Tenant

IK = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


def with_key(tenant: Tenant, key: str, **extra: str) -> dict[str, str]:
    return {**tenant.headers, IK: key, **extra}


async def _contacts(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return list((await client.get("/v1/contacts", params={"limit": 200}, headers=headers)).json()["data"])


async def _event_types(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    return [e["type"] for e in (await client.get("/v1/events", params={"limit": 200}, headers=headers)).json()["data"]]


@pytest.fixture
def frozen_clock() -> Iterator[list[datetime]]:
    """A clock the test moves by assigning ``now[0]``."""
    now = [datetime(2030, 1, 1, 12, 0, tzinfo=UTC)]
    clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(None)


async def test_replay_returns_the_first_response_exactly_and_writes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"first_name": "Ada", "email": "ada@example.com", "tags": ["b", "a"]}
    first = await client.post("/v1/contacts", json=body, headers=with_key(tenant, "create-ada"))
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers

    replay = await client.post("/v1/contacts", json=body, headers=with_key(tenant, "create-ada"))
    assert replay.status_code == 201
    assert replay.content == first.content
    assert replay.headers[REPLAYED] == "true"
    assert replay.headers["content-type"] == first.headers["content-type"]

    assert [c["id"] for c in await _contacts(client, tenant.headers)] == [first.json()["id"]]
    assert await _event_types(client, tenant.headers) == ["contact.created"]


async def test_replay_ignores_json_key_order_and_spacing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await client.post(
        "/v1/contacts",
        content=b'{"first_name": "Ada", "title": "CTO"}',
        headers=with_key(tenant, "k", **{"content-type": "application/json"}),
    )
    assert first.status_code == 201
    replay = await client.post(
        "/v1/contacts",
        content=b'{"title":"CTO","first_name":"Ada"}',
        headers=with_key(tenant, "k", **{"content-type": "application/json"}),
    )
    assert replay.headers.get(REPLAYED) == "true"
    assert replay.content == first.content


async def test_patch_replay_answers_the_first_result_even_after_later_changes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    cid = (await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=tenant.headers)).json()["id"]
    first = await client.patch(f"/v1/contacts/{cid}", json={"title": "CTO"}, headers=with_key(tenant, "promote"))
    assert first.status_code == 200 and first.json()["title"] == "CTO"
    await client.patch(f"/v1/contacts/{cid}", json={"title": "CEO"}, headers=tenant.headers)

    replay = await client.patch(f"/v1/contacts/{cid}", json={"title": "CTO"}, headers=with_key(tenant, "promote"))
    assert replay.status_code == 200
    assert replay.headers[REPLAYED] == "true"
    assert replay.content == first.content
    # The replay changed nothing: the later write stands, and no third event was written.
    assert (await client.get(f"/v1/contacts/{cid}", headers=tenant.headers)).json()["title"] == "CEO"
    assert await _event_types(client, tenant.headers) == ["contact.created", "contact.updated", "contact.updated"]


async def test_same_key_with_a_different_request_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=with_key(tenant, "once"))
    for method, path, body in (
        ("POST", "/v1/contacts", {"first_name": "Grace"}),
        ("POST", "/v1/contacts/upsert", {"first_name": "Ada"}),
    ):
        response = await client.request(method, path, json=body, headers=with_key(tenant, "once"))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "idempotency_key_reused"
    assert [c["first_name"] for c in await _contacts(client, tenant.headers)] == ["Ada"]


async def test_request_while_the_first_is_in_flight_is_409_until_its_lease_ends(
    client: httpx.AsyncClient, tenant: Tenant, frozen_clock: list[datetime]
) -> None:
    body = {"first_name": "Ada"}
    fingerprint = idempotency.request_fingerprint("POST", "/v1/contacts", orjson.dumps(body))
    async with tenant.db.session() as session:
        await idempotency.claim(session, tenant.ws_id, "busy", fingerprint, timedelta(hours=24))

    response = await client.post("/v1/contacts", json=body, headers=with_key(tenant, "busy"))
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "idempotency_key_in_use"
    assert await _contacts(client, tenant.headers) == []

    # The first request's process died: once its lease lapses a retry takes the key over and runs.
    frozen_clock[0] += idempotency.IN_FLIGHT_LEASE + timedelta(seconds=1)
    retry = await client.post("/v1/contacts", json=body, headers=with_key(tenant, "busy"))
    assert retry.status_code == 201, retry.text
    assert REPLAYED not in retry.headers
    assert len(await _contacts(client, tenant.headers)) == 1


async def test_concurrent_identical_requests_with_one_key_make_one_contact(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {"first_name": "Race", "email": "race@example.com"}
    responses = await asyncio.gather(
        *[client.post("/v1/contacts", json=body, headers=with_key(tenant, "race")) for _ in range(12)]
    )
    created = [r for r in responses if r.status_code == 201]
    assert created, [r.text for r in responses]
    assert all(r.status_code in (201, 409) for r in responses), [r.text for r in responses]
    assert len({r.content for r in created}) == 1
    assert sum(REPLAYED not in r.headers for r in created) == 1
    for r in responses:
        if r.status_code == 409:
            assert r.json()["code"] == "idempotency_key_in_use"
    assert [c["id"] for c in await _contacts(client, tenant.headers)] == [created[0].json()["id"]]
    assert await _event_types(client, tenant.headers) == ["contact.created"]


async def test_a_failed_request_frees_the_key_for_a_corrected_retry(client: httpx.AsyncClient, tenant: Tenant) -> None:
    # Rejected by the service (the phone is normalized there), after the key was claimed.
    bad = await client.post("/v1/contacts", json={"phone": "not a phone"}, headers=with_key(tenant, "fix-me"))
    assert bad.status_code == 422, bad.text
    good = await client.post("/v1/contacts", json={"phone": "+14155550100"}, headers=with_key(tenant, "fix-me"))
    assert good.status_code == 201, good.text
    assert REPLAYED not in good.headers
    # Rejected by the schema, before any work.
    bad = await client.post("/v1/contacts", json={"email": "nope"}, headers=with_key(tenant, "fix-me-2"))
    assert bad.status_code == 422
    good = await client.post("/v1/contacts", json={"email": "yes@example.com"}, headers=with_key(tenant, "fix-me-2"))
    assert good.status_code == 201


async def test_a_409_duplicate_frees_the_key_and_the_same_request_runs_once_the_conflict_is_gone(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    holder = (await client.post("/v1/contacts", json={"email": "dup@example.com"}, headers=tenant.headers)).json()
    body = {"email": "dup@example.com", "first_name": "Second"}
    conflict = await client.post("/v1/contacts", json=body, headers=with_key(tenant, "dup"))
    assert conflict.status_code == 409 and conflict.json()["existing_id"] == holder["id"]
    assert (await client.delete(f"/v1/contacts/{holder['id']}", headers=tenant.headers)).status_code == 204

    retry = await client.post("/v1/contacts", json=body, headers=with_key(tenant, "dup"))
    assert retry.status_code == 201, retry.text
    assert REPLAYED not in retry.headers
    assert await _event_types(client, tenant.headers) == ["contact.created", "contact.deleted", "contact.created"]


async def test_the_same_key_in_another_workspace_is_independent(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    second = await tenant.add_workspace("second")
    body = {"first_name": "Ada"}
    answers = [
        await client.post("/v1/contacts", json=body, headers=with_key(tenant, "shared")),
        await client.post(
            "/v1/contacts", json=body, headers=with_key(tenant, "shared", **{"LeadHub-Workspace": second})
        ),
        await client.post("/v1/contacts", json=body, headers=with_key(other_tenant, "shared")),
    ]
    assert [r.status_code for r in answers] == [201, 201, 201]
    assert all(REPLAYED not in r.headers for r in answers)
    assert len({r.json()["id"] for r in answers}) == 3


async def test_keys_are_kept_24_hours_then_expire(
    client: httpx.AsyncClient, tenant: Tenant, frozen_clock: list[datetime]
) -> None:
    body = {"first_name": "Ada"}
    start = frozen_clock[0]
    first = await client.post("/v1/contacts", json=body, headers=with_key(tenant, "daily"))
    assert first.status_code == 201

    frozen_clock[0] = start + timedelta(hours=23)
    replay = await client.post("/v1/contacts", json=body, headers=with_key(tenant, "daily"))
    assert replay.headers.get(REPLAYED) == "true" and replay.content == first.content

    frozen_clock[0] = start + timedelta(hours=24, seconds=1)
    fresh = await client.post("/v1/contacts", json=body, headers=with_key(tenant, "daily"))
    assert fresh.status_code == 201
    assert REPLAYED not in fresh.headers
    assert fresh.json()["id"] != first.json()["id"]
    assert len(await _contacts(client, tenant.headers)) == 2


async def test_expired_keys_are_purged(client: httpx.AsyncClient, tenant: Tenant, frozen_clock: list[datetime]) -> None:
    await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=with_key(tenant, "old"))
    frozen_clock[0] += timedelta(hours=25)
    async with tenant.db.session() as session:
        assert await idempotency.purge_expired(session) >= 1
    # A different request may now use the key: nothing of the old one is left to mismatch.
    response = await client.post("/v1/contacts", json={"first_name": "Grace"}, headers=with_key(tenant, "old"))
    assert response.status_code == 201


async def test_key_longer_than_255_characters_is_422_and_255_is_fine(client: httpx.AsyncClient, tenant: Tenant) -> None:
    too_long = await client.post("/v1/contacts", json={"first_name": "A"}, headers=with_key(tenant, "k" * 256))
    assert too_long.status_code == 422, too_long.text
    assert too_long.json()["errors"][0]["field"] == IK
    assert await _contacts(client, tenant.headers) == []
    ok = await client.post("/v1/contacts", json={"first_name": "A"}, headers=with_key(tenant, "k" * 255))
    assert ok.status_code == 201, ok.text
    again = await client.post("/v1/contacts", json={"first_name": "A"}, headers=with_key(tenant, "k" * 255))
    assert again.headers.get(REPLAYED) == "true"
