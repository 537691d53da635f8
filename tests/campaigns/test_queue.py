"""The outreach queue: claim order, atomic claims by concurrent agents (SQLite and PostgreSQL), claim
expiry driven by the clock, outcome reports and the events they record."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from leadhub.core import clock
from tests.campaigns.support import add, events_of, make_campaign
from tests.conftest import Tenant


@pytest.fixture
def frozen() -> Iterator[list[datetime]]:
    """A clock that moves only when the test moves it."""
    now = [datetime(2025, 3, 1, 9, 0, tzinfo=UTC)]
    clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(None)


def _lead(n: int, industry: str = "Software", seniority: str = "VP") -> dict[str, Any]:
    return {
        "contact": {"email": f"p{n}@firm{n}.example", "name": f"Person {n}", "seniority": seniority},
        "company": {"name": f"Firm {n}", "industry": industry},
    }


async def _claim(client: httpx.AsyncClient, tenant: Tenant, campaign: str, agent: str, limit: int = 1) -> list[Any]:
    response = await client.post(
        f"/v1/campaigns/{campaign}/queue/claim", json={"agent": agent, "limit": limit}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    data: list[Any] = response.json()["data"]
    return data


async def _report(
    client: httpx.AsyncClient, tenant: Tenant, campaign: str, prospect: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/campaigns/{campaign}/prospects/{prospect}/outcome", json=body, headers=tenant.headers
    )


async def test_claims_go_best_score_first_then_oldest(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = (await make_campaign(client, tenant))["id"]
    weak = await add(client, tenant, campaign, _lead(1, industry="Mining", seniority="Intern"))
    strong_old = await add(client, tenant, campaign, _lead(2))
    strong_new = await add(client, tenant, campaign, _lead(3))
    assert weak["score"] < strong_old["score"] == strong_new["score"]

    taken = await _claim(client, tenant, campaign, "agent-a", limit=2)
    assert [p["id"] for p in taken] == [strong_old["id"], strong_new["id"]]
    assert all(p["state"] == "in_progress" and p["claim"]["agent"] == "agent-a" for p in taken)
    assert [p["id"] for p in await _claim(client, tenant, campaign, "agent-b", limit=5)] == [weak["id"]]
    assert await _claim(client, tenant, campaign, "agent-c") == []


async def test_concurrent_agents_never_get_the_same_prospect(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = (await make_campaign(client, tenant))["id"]
    added = [await add(client, tenant, campaign, _lead(n)) for n in range(24)]
    handed: list[str] = []
    agents = [f"agent-{i}" for i in range(6)]
    while True:
        rounds = await asyncio.gather(*(_claim(client, tenant, campaign, agent, limit=2) for agent in agents))
        got = [p["id"] for batch in rounds for p in batch]
        if not got:
            break
        handed += got
    assert len(handed) == len(set(handed)) == 24
    assert set(handed) == {p["id"] for p in added}
    claimed = await events_of(client, tenant, "prospect.state_changed")
    assert sorted(e["resource_id"] for e in claimed if e["data"]["to"] == "in_progress") == sorted(handed)


async def test_expired_claim_returns_to_the_queue_and_the_late_token_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, frozen: list[datetime]
) -> None:
    campaign = (await make_campaign(client, tenant, claim_ttl_seconds=600))["id"]
    prospect = (await add(client, tenant, campaign, _lead(1)))["id"]
    first = (await _claim(client, tenant, campaign, "slow-agent"))[0]
    assert first["claim"]["until"] == "2025-03-01T09:10:00Z"

    frozen[0] += timedelta(seconds=599)
    assert await _claim(client, tenant, campaign, "fast-agent") == []
    frozen[0] += timedelta(seconds=2)
    second = (await _claim(client, tenant, campaign, "fast-agent"))[0]
    assert (second["id"], second["claim_count"]) == (prospect, 2)

    late = await _report(client, tenant, campaign, prospect, outcome="contacted", claim_token=first["claim"]["token"])
    assert late.status_code == 409 and late.json()["code"] == "claim_mismatch"
    done = await _report(client, tenant, campaign, prospect, outcome="contacted", claim_token=second["claim"]["token"])
    assert done.status_code == 200 and done.json()["state"] == "contacted" and done.json()["claim"] is None
    reasons = [
        (e["data"]["from"], e["data"]["to"], e["data"]["reason"])
        for e in await events_of(client, tenant, "prospect.state_changed")
    ]
    assert reasons == [
        ("queued", "in_progress", "claimed"),
        ("in_progress", "queued", "claim_expired"),
        ("queued", "in_progress", "claimed"),
        ("in_progress", "contacted", "reported"),
    ]


async def test_outcomes_follow_the_states_and_record_events(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = (await make_campaign(client, tenant))["id"]
    prospect = (await add(client, tenant, campaign, _lead(1)))["id"]
    token = (await _claim(client, tenant, campaign, "bot"))[0]["claim"]["token"]

    unclaimed = await _report(client, tenant, campaign, prospect, outcome="contacted")
    assert unclaimed.status_code == 409 and unclaimed.json()["code"] == "claim_mismatch"
    assert (
        await _report(client, tenant, campaign, prospect, outcome="contacted", claim_token=token)
    ).status_code == 200
    replied = await _report(client, tenant, campaign, prospect, outcome="replied", note="Asked for pricing")
    assert replied.json()["state"] == "replied"
    booked = await _report(
        client, tenant, campaign, prospect, outcome="meeting_booked", meeting_at="2025-03-04T16:00:00Z"
    )
    assert (booked.json()["state"], booked.json()["meeting_at"]) == ("meeting_booked", "2025-03-04T16:00:00Z")
    again = await _report(client, tenant, campaign, prospect, outcome="contacted")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"

    assert [e["data"]["note"] for e in await events_of(client, tenant, "prospect.replied")] == ["Asked for pricing"]
    meetings = await events_of(client, tenant, "prospect.meeting_booked")
    assert [e["resource_id"] for e in meetings] == [prospect]
    assert "token" not in (meetings[0]["data"]["claim"] or {})
    counts = (await client.get(f"/v1/campaigns/{campaign}/counts", headers=tenant.headers)).json()
    assert counts["meeting_booked"] == 1 and counts["queued"] == 0


async def test_released_prospect_keeps_its_place_in_the_queue(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = (await make_campaign(client, tenant))["id"]
    first = (await add(client, tenant, campaign, _lead(1)))["id"]
    await add(client, tenant, campaign, _lead(2))
    token = (await _claim(client, tenant, campaign, "bot"))[0]["claim"]["token"]
    released = await _report(client, tenant, campaign, first, outcome="released", claim_token=token)
    assert released.json()["state"] == "queued"
    assert [p["id"] for p in await _claim(client, tenant, campaign, "bot")] == [first]


async def test_only_an_active_campaign_hands_out_prospects(client: httpx.AsyncClient, tenant: Tenant) -> None:
    campaign = (await make_campaign(client, tenant, status="paused"))["id"]
    await add(client, tenant, campaign, _lead(1))
    response = await client.post(f"/v1/campaigns/{campaign}/queue/claim", json={"agent": "bot"}, headers=tenant.headers)
    assert response.status_code == 409 and response.json()["code"] == "campaign_not_active"


async def test_another_tenant_cannot_claim_or_report(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    campaign = (await make_campaign(client, tenant))["id"]
    prospect = (await add(client, tenant, campaign, _lead(1)))["id"]
    claim = await client.post(
        f"/v1/campaigns/{campaign}/queue/claim", json={"agent": "x"}, headers=other_tenant.headers
    )
    assert claim.status_code == 404
    report = await _report(client, other_tenant, campaign, prospect, outcome="disqualified")
    assert report.status_code == 404
    assert (await _claim(client, tenant, campaign, "mine"))[0]["id"] == prospect
