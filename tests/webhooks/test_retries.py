"""Failures and retries under a clock the test moves: the schedule, Retry-After, 410, five days of failure,
and per-contact order when a delivery is held back."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx

from leadhub.webhooks.dispatcher import Dispatcher
from leadhub.webhooks.retries import SCHEDULE
from tests.conftest import Tenant
from tests.webhooks.conftest import Clock, Receiver, add_contact, add_endpoint, deliveries


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_failures_are_retried_on_the_schedule_then_given_up(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher, test_clock: Clock
) -> None:
    endpoint = await add_endpoint(client, tenant, receiver, "schedule")
    receiver.answer("schedule", *[(500, {})] * 8)
    await add_contact(client, tenant, "flaky@example.com")
    await dispatcher.run_once()

    for attempt, step in enumerate(SCHEDULE, start=1):
        [d] = await deliveries(client, tenant, endpoint["id"])
        assert d["status"] == "retrying" and d["attempt_count"] == attempt
        wait = _at(d["next_attempt_at"]) - _at(d["last_attempt_at"])
        assert step * 0.9 <= wait <= step * 1.1, (attempt, wait)
        test_clock.set(_at(d["next_attempt_at"]) - timedelta(seconds=1))
        await dispatcher.run_once()
        assert len(receiver.got("schedule")) == attempt  # not due yet: nothing sent
        test_clock.set(_at(d["next_attempt_at"]))
        await dispatcher.run_once()
        assert len(receiver.got("schedule")) == attempt + 1

    [d] = await deliveries(client, tenant, endpoint["id"])
    assert d["status"] == "failed" and d["attempt_count"] == 8 and d["next_attempt_at"] is None
    # About 28 hours of failure: the endpoint stays enabled (that takes five days).
    assert (await client.get(f"/v1/webhooks/{endpoint['id']}", headers=tenant.headers)).json()["enabled"] is True


async def test_retry_after_is_honoured(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher, test_clock: Clock
) -> None:
    endpoint = await add_endpoint(client, tenant, receiver, "retry-after")
    receiver.answer("retry-after", (503, {"Retry-After": "120"}))
    start = test_clock.now
    await add_contact(client, tenant, "busy@example.com")
    await dispatcher.run_once()
    [d] = await deliveries(client, tenant, endpoint["id"])
    assert _at(d["next_attempt_at"]) - start >= timedelta(seconds=120)

    test_clock.set(start + timedelta(seconds=60))  # past the 5 s step, before Retry-After
    await dispatcher.run_once()
    assert len(receiver.got("retry-after")) == 1
    test_clock.set(start + timedelta(seconds=121))
    await dispatcher.run_once()
    assert len(receiver.got("retry-after")) == 2
    assert (await deliveries(client, tenant, endpoint["id"]))[0]["status"] == "succeeded"


async def test_410_gone_disables_the_endpoint_and_says_so(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    gone = await add_endpoint(client, tenant, receiver, "gone")
    await add_endpoint(client, tenant, receiver, "watcher", event_types=["webhook_endpoint.disabled"])
    receiver.answer("gone", (410, {}))
    await add_contact(client, tenant, "gone@example.com")
    await dispatcher.run_once()

    state = (await client.get(f"/v1/webhooks/{gone['id']}", headers=tenant.headers)).json()
    assert state["enabled"] is False
    assert "410" in state["disabled_reason"]
    [d] = await deliveries(client, tenant, gone["id"])
    assert d["status"] == "failed" and d["last_status_code"] == 410
    log = (await client.get("/v1/events", params={"type": "webhook_endpoint.disabled"}, headers=tenant.headers)).json()
    assert [e["resource_id"] for e in log["data"]] == [gone["id"]]
    # Other endpoints hear of it; the disabled one gets nothing more.
    await add_contact(client, tenant, "after@example.com")
    await dispatcher.run_once()
    assert [g.message["type"] for g in receiver.got("watcher")] == ["webhook_endpoint.disabled"]
    assert len(receiver.got("gone")) == 1
    assert len(await deliveries(client, tenant, gone["id"])) == 1


async def test_five_days_of_failures_disable_the_endpoint(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher, test_clock: Clock
) -> None:
    endpoint = await add_endpoint(client, tenant, receiver, "down")
    receiver.answer("down", *[(500, {})] * 20)
    await add_contact(client, tenant, "one@example.com")
    await dispatcher.run_once()
    test_clock.advance(days=4, hours=23)
    await add_contact(client, tenant, "two@example.com")
    await dispatcher.run_once()
    assert (await client.get(f"/v1/webhooks/{endpoint['id']}", headers=tenant.headers)).json()["enabled"] is True

    test_clock.advance(hours=1, minutes=1)
    await add_contact(client, tenant, "three@example.com")
    await dispatcher.run_once()
    state = (await client.get(f"/v1/webhooks/{endpoint['id']}", headers=tenant.headers)).json()
    assert state["enabled"] is False
    assert "5 days" in state["disabled_reason"]
    assert {d["status"] for d in await deliveries(client, tenant, endpoint["id"])} == {"failed"}
    log = (await client.get("/v1/events", params={"type": "webhook_endpoint.disabled"}, headers=tenant.headers)).json()
    assert len(log["data"]) == 1


async def test_one_contacts_events_arrive_in_order_under_concurrent_writes(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher, test_clock: Clock
) -> None:
    await add_endpoint(client, tenant, receiver, "order")
    contacts = [await add_contact(client, tenant, f"order{i}@example.com") for i in range(3)]
    receiver.answer("order", (500, {}))  # the very first delivery fails: its contact's later events must wait
    await dispatcher.run_once()
    held_back = receiver.got("order")[0].message["data"]["contact_id"]

    patches = [
        client.patch(f"/v1/contacts/{contacts[i % 3]}", json={"title": f"t{i}"}, headers=tenant.headers)
        for i in range(24)
    ]
    assert all(r.status_code == 200 for r in await asyncio.gather(*patches))
    for _ in range(12):
        await dispatcher.run_once()
    assert [g for g in receiver.got("order")[1:] if g.message["data"]["contact_id"] == held_back] == []

    test_clock.advance(seconds=6)
    for _ in range(12):
        await dispatcher.run_once()

    log = (await client.get("/v1/events", params={"type": "contact.*", "limit": 200}, headers=tenant.headers)).json()
    for contact_id in contacts:
        expected = [e["seq"] for e in log["data"] if e["contact_id"] == contact_id]
        seen = [
            g.message["data"]["seq"] for g in receiver.got("order") if g.message["data"]["contact_id"] == contact_id
        ]
        deduped = list(dict.fromkeys(seen))  # the failed first attempt is received twice
        assert deduped == expected and len(expected) == 9
