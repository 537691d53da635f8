"""The running dispatcher (``Dispatcher.run``, as in ``leadhub worker`` and ``serve``): a commit wakes it at once,
requests overlap without letting one slow subscriber hold back another, and one contact's events still reach
an endpoint one at a time, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from leadhub.db.engine import Database
from leadhub.webhooks import wakeup
from leadhub.webhooks.dispatcher import Dispatcher, Options
from tests.conftest import ENGINE, Tenant
from tests.webhooks.conftest import Receiver, add_contact, add_endpoint, deliveries, until

# Far longer than any wait below: a delivery that arrives in time was woken, not polled.
NO_POLLING = 60.0


@asynccontextmanager
async def running(database: Database, **options: Any) -> AsyncIterator[Dispatcher]:
    dispatcher = Dispatcher(
        database,
        Options(allow_private=True, timeout_seconds=5, poll_interval_seconds=NO_POLLING, **options),
        name="test-pipeline",
    )
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield dispatcher
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


async def test_a_commit_wakes_the_running_dispatcher_without_a_poll(
    database: Database, client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(client, tenant, receiver, "woken")
    async with running(database):
        for i in range(3):
            await add_contact(client, tenant, f"woken{i}@example.com")

            async def recorded(n: int = i + 1) -> bool:
                found = await deliveries(client, tenant, endpoint["id"], status="succeeded")
                return len(found) == n

            await until(recorded, within=10, what=f"delivery {i + 1} sent and recorded")
    assert len(receiver.got("woken")) == 3


@pytest.mark.skipif(ENGINE != "postgres", reason="NOTIFY reaches other processes on PostgreSQL only")
async def test_postgres_notifies_a_listening_worker_on_commit(
    database: Database, client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver
) -> None:
    await add_endpoint(client, tenant, receiver, "notified")
    heard, stop = asyncio.Event(), asyncio.Event()
    listener = asyncio.create_task(wakeup.listen(database, heard, stop))
    try:
        await until(heard.is_set, what="the listener to start")  # it wakes once on connecting
        heard.clear()
        await add_contact(client, tenant, "notify@example.com")
        await until(heard.is_set, within=10, what="the commit's NOTIFY")
    finally:
        stop.set()
        await asyncio.wait_for(listener, timeout=10)


async def test_a_slow_endpoint_does_not_hold_back_another(
    database: Database, client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver
) -> None:
    await add_endpoint(client, tenant, receiver, "slow")
    await add_endpoint(client, tenant, receiver, "fast")
    receiver.holds["slow"] = release = asyncio.Event()
    async with running(database, max_in_flight=4, per_endpoint_in_flight=2):
        for i in range(6):
            await add_contact(client, tenant, f"hol{i}@example.com")
        await until(lambda: len(receiver.got("fast")) == 6, within=15, what="the fast endpoint's six deliveries")
        assert len(receiver.got("slow")) == 2  # its two slots are taken by held requests; nothing more was sent
        release.set()
        await until(lambda: len(receiver.got("slow")) == 6, within=15, what="the slow endpoint's six deliveries")
    assert receiver.peak["slow"] == 2


async def test_one_contacts_events_go_one_at_a_time_and_in_order_while_others_overlap(
    database: Database, client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver
) -> None:
    await add_endpoint(client, tenant, receiver, "ordered")
    contacts = [await add_contact(client, tenant, f"seq{i}@example.com") for i in range(4)]
    receiver.delay["ordered"] = 0.02  # each answer takes a moment, so overlapping requests would show

    async with running(database, max_in_flight=8):
        answers = await asyncio.gather(
            *(
                client.patch(f"/v1/contacts/{contacts[i % 4]}", json={"title": f"t{i}"}, headers=tenant.headers)
                for i in range(20)
            )
        )
        assert all(r.status_code == 200 for r in answers)
        await until(lambda: len(receiver.got("ordered")) == 24, within=20, what="24 deliveries")

    log = (await client.get("/v1/events", params={"type": "contact.*", "limit": 100}, headers=tenant.headers)).json()
    for contact_id in contacts:
        expected = [e["seq"] for e in log["data"] if e["contact_id"] == contact_id]
        seen = [
            g.message["data"]["seq"] for g in receiver.got("ordered") if g.message["data"]["contact_id"] == contact_id
        ]
        assert seen == sorted(expected) and len(seen) == 6
        assert receiver.peak[f"ordered/{contact_id}"] == 1
    assert receiver.peak["ordered"] > 1  # different contacts' events did overlap
