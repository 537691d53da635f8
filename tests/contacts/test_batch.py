"""POST /v1/contacts/batch: up to 1,000 items, each answered on its own."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.contacts.support import create_contact, field_rules, problem, workspace_events


async def _batch(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/contacts/batch", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_one_bad_item_does_not_sink_the_others(client: httpx.AsyncClient, tenant: Tenant) -> None:
    owner = await create_contact(client, tenant, {"email": "taken@example.com"})
    items = [
        {"email": "one@example.com"},
        {"email": "not an email", "status": "asleep"},
        {"email": "TAKEN@example.com"},
        {"email": "two@example.com", "phone": "+14155550170"},
        {"phone": "415-555-0170"},
        {"email": "three@example.com", "bogus": 1},
    ]

    result = await _batch(client, tenant, {"mode": "create", "items": items})

    statuses = [(r["index"], r["status"]) for r in result["results"]]
    assert statuses == [(0, "created"), (1, "error"), (2, "error"), (3, "created"), (4, "error"), (5, "error")]
    assert (result["created"], result["updated"], result["failed"]) == (2, 0, 4)
    bad, taken, phone_taken, extra = (result["results"][i]["error"] for i in (1, 2, 4, 5))
    assert bad["code"] == "validation_error"
    assert field_rules(bad) == {"email": "email", "status": "literal_error"}
    assert (taken["code"], taken["existing_id"]) == ("duplicate_email", owner["id"])
    assert (phone_taken["code"], phone_taken["existing_id"]) == ("duplicate_phone", result["results"][3]["id"])
    assert field_rules(extra) == {"bogus": "extra_forbidden"}

    for index in (0, 3):
        contact_id = result["results"][index]["id"]
        assert (await client.get(f"/v1/contacts/{contact_id}", headers=tenant.headers)).status_code == 200
    created_events = await workspace_events(client, tenant, "contact.created")
    assert sorted(e["resource_id"] for e in created_events) == sorted(
        [owner["id"], result["results"][0]["id"], result["results"][3]["id"]]
    )


async def test_upsert_mode_creates_and_updates(client: httpx.AsyncClient, tenant: Tenant) -> None:
    existing = await create_contact(client, tenant, {"email": "known@example.com", "tags": ["a"]})
    items = [
        {"email": "KNOWN@example.com", "tags": ["b"]},
        {"email": "unknown@example.com"},
        {"email": "unknown@example.com", "title": "Second mention"},
    ]

    result = await _batch(client, tenant, {"mode": "upsert", "items": items})

    assert [r["status"] for r in result["results"]] == ["updated", "created", "updated"]
    assert result["results"][0]["id"] == existing["id"]
    assert result["results"][1]["id"] == result["results"][2]["id"]
    known = (await client.get(f"/v1/contacts/{existing['id']}", headers=tenant.headers)).json()
    assert known["tags"] == ["a", "b"]
    updated_events = await workspace_events(client, tenant, "contact.updated")
    assert len(updated_events) == 2


async def test_events_of_a_batch_follow_its_items_whichever_path_each_takes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    existing = await create_contact(client, tenant, {"email": "known@example.com"})
    items = [
        {"email": "first@example.com"},  # new: written with the batch's one read
        {"email": "known@example.com", "title": "Boss"},  # a match: updated on its own
        {"email": "second@example.com", "phone": "+14155550171"},  # new
        {"phone": "415-555-0171", "title": "Again"},  # repeats an item of this batch: updates it
        {"email": "third@example.com"},  # new
    ]

    result = await _batch(client, tenant, {"mode": "upsert", "items": items})

    assert [r["status"] for r in result["results"]] == ["created", "updated", "created", "updated", "created"]
    ids = [r["id"] for r in result["results"]]
    assert ids[1] == existing["id"] and ids[3] == ids[2]
    response = await client.get("/v1/events", params={"limit": 200, "type": "contact.*"}, headers=tenant.headers)
    batch_events = [(e["type"], e["resource_id"]) for e in response.json()["data"]][1:]  # after the seed's
    assert batch_events == [
        ("contact.created", ids[0]),
        ("contact.updated", ids[1]),
        ("contact.created", ids[2]),
        ("contact.updated", ids[2]),
        ("contact.created", ids[4]),
    ]
    assert [e["seq"] for e in response.json()["data"]] == sorted(e["seq"] for e in response.json()["data"])
    second = (await client.get(f"/v1/contacts/{ids[2]}", headers=tenant.headers)).json()
    assert second["title"] == "Again" and [p["number"] for p in second["phones"]] == ["+14155550171"]


async def test_a_batch_of_1000_is_accepted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    items = [{"email": f"bulk{i}@example.com"} for i in range(1000)]
    result = await _batch(client, tenant, {"mode": "create", "items": items})
    assert result["created"] == 1000 and result["failed"] == 0
    assert [r["index"] for r in result["results"]] == list(range(1000))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "create", "items": [{}] * 1001}, "items"),
        ({"mode": "create", "items": []}, "items"),
        ({"mode": "replace", "items": [{}]}, "mode"),
        ({"items": [{}], "extra": True}, "extra"),
        ({"mode": "create", "items": ["not an object"]}, "items[0]"),
    ],
)
async def test_a_malformed_batch_is_refused_whole(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/contacts/batch", json=body, headers=tenant.headers)
    assert field in field_rules(problem(response, 422))
    listing = (await client.get("/v1/contacts", headers=tenant.headers)).json()
    assert listing["data"] == []


@pytest.mark.parametrize("mode", ["upsert", "create"])
async def test_concurrent_batches_with_overlapping_emails_make_one_contact_per_email(
    client: httpx.AsyncClient, tenant: Tenant, mode: str
) -> None:
    # Four batches of 150 over 300 emails: each email is in two batches, spelled differently, with a tag
    # naming the batch (so an upsert that lost its write would show as a missing tag).
    emails = [f"racer{n}@example.com" for n in range(300)]
    bodies = [
        {
            "mode": mode,
            "items": [
                {
                    "email": emails[(b * 75 + i) % 300].upper() if b % 2 else emails[(b * 75 + i) % 300],
                    "tags": [f"b{b}"],
                }
                for i in range(150)
            ],
        }
        for b in range(4)
    ]

    responses = await asyncio.gather(
        *[client.post("/v1/contacts/batch", json=body, headers=tenant.headers) for body in bodies]
    )

    assert all(r.status_code == 200 for r in responses), [r.text[:300] for r in responses]
    answers = [r.json()["results"] for r in responses]
    stored = await _all_contacts(client, tenant)
    by_email = {c["emails"][0]["address"]: c for c in stored}
    assert len(stored) == len(by_email) == 300 and sorted(by_email) == sorted(emails)
    created = [a for results in answers for a in results if a["status"] == "created"]
    assert len(created) == 300 and {a["id"] for a in created} == {c["id"] for c in stored}
    for b, results in enumerate(answers):
        for i, answer in enumerate(results):
            contact = by_email[emails[(b * 75 + i) % 300]]
            if mode == "upsert":
                assert answer["status"] in ("created", "updated") and answer["id"] == contact["id"]
                assert f"b{b}" in contact["tags"]
            elif answer["status"] == "error":
                assert (answer["error"]["code"], answer["error"]["existing_id"]) == ("duplicate_email", contact["id"])
            else:
                assert answer["id"] == contact["id"]
    assert len(await _all(client, tenant, "/v1/events", type="contact.created")) == 300


async def _all_contacts(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    return await _all(client, tenant, "/v1/contacts")


async def _all(client: httpx.AsyncClient, tenant: Tenant, path: str, **filters: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200, **filters}
    while True:
        page = (await client.get(path, params=params, headers=tenant.headers)).json()
        found += page["data"]
        if not page.get("next_cursor"):
            return found
        params["cursor"] = page["next_cursor"]
