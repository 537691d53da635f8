"""Concurrent merges of overlapping sets never lose or duplicate anything."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import Tenant
from tests.duplicates.support import make, merge


@pytest.mark.parametrize("shift", [0, 2, 4])
async def test_concurrent_overlapping_merges_end_in_one_contact_with_everything(
    client: httpx.AsyncClient, tenant: Tenant, shift: int
) -> None:
    ids = [
        await make(client, tenant, {"email": f"p{i}@example.com", "phone": f"+1 415 555 01{i:02d}", "tags": [f"t{i}"]})
        for i in range(6)
    ]
    a, b, c, d, e, f = ids[shift:] + ids[:shift]  # the same overlaps with other lock orders
    # Each contact is in two requests; survivors are absorbed by other requests; one pair goes both ways.
    plans = [(a, [b, c]), (d, [c, e]), (e, [f, a]), (b, [a]), (f, [d])]

    responses = await asyncio.gather(*[merge(client, tenant, survivor, absorb) for survivor, absorb in plans])

    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    listing = (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"]
    assert len(listing) == 1
    final = listing[0]
    assert sorted(x["address"] for x in final["emails"]) == sorted(f"p{i}@example.com" for i in range(6))
    assert sorted(x["number"] for x in final["phones"]) == sorted(f"+1415555010{i}" for i in range(6))
    assert sorted(final["tags"]) == sorted(f"t{i}" for i in range(6))
    assert sum(x["primary"] for x in final["emails"]) == 1
    for old in ids:
        assert (await client.get(f"/v1/contacts/{old}", headers=tenant.headers)).json()["id"] == final["id"]
    # Each of the five absorbed contacts was absorbed exactly once, by exactly one merge.
    events = (await client.get("/v1/events", params={"type": "contact.merged"}, headers=tenant.headers)).json()
    absorbed = [x["id"] for event in events["data"] for x in event["data"]["absorbed"]]
    assert sorted(absorbed) == sorted(set(ids) - {final["id"]})
    # Every contact.created event still exists, now on the survivor's timeline.
    timeline = (await client.get(f"/v1/contacts/{final['id']}/timeline", headers=tenant.headers)).json()["data"]
    assert sum(event["type"] == "contact.created" for event in timeline) == 6
