"""`leadhub worker` processes on PostgreSQL: two side by side deliver each event exactly once per endpoint,
and a worker killed with SIGKILL mid-batch loses nothing (the other takes its deliveries after the lease)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from leadhub.config import Settings
from leadhub.db import migrate
from leadhub.db.engine import Database
from leadhub.webhooks.models import Attempt, Delivery
from tests.conftest import ENGINE, POSTGRES_URL, Tenant, _pg_admin, new_tenant
from tests.webhooks.conftest import Receiver, _app_client, add_contact, add_endpoint, until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(ENGINE != "postgres", reason="worker processes share the outbox on PostgreSQL only"),
]
LEADHUB = str(Path(sys.executable).with_name("leadhub"))


@pytest.fixture
async def worker_db() -> AsyncIterator[tuple[Database, str]]:
    """A database of its own (a worker process cannot be pointed at the session's schema)."""
    name = f"lh_wh_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    await migrate.upgrade(db)
    yield db, url
    await db.dispose()
    await _pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
async def worker_client(worker_db: tuple[Database, str], settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _app_client(dataclasses.replace(settings, webhook_allow_private=True), worker_db[0]):
        yield c


class Workers:
    def __init__(self, url: str) -> None:
        self.url = url
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "LEADHUB_DATABASE_URL": self.url, "LEADHUB_WEBHOOK_ALLOW_PRIVATE": "1"}
        proc = subprocess.Popen(
            [LEADHUB, "worker", "--batch-size", "5", "--poll-interval", "0.05", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    async def ready(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout=30)
        assert b"ready" in line, line

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(worker_db: tuple[Database, str]) -> Iterator[Workers]:
    group = Workers(worker_db[1])
    yield group
    group.stop_all()


async def _statuses(db: Database) -> Counter[str]:
    async with db.read_session() as session:
        rows = (await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))).all()
    return Counter({status: count for status, count in rows})


async def test_two_workers_deliver_each_event_exactly_once_per_endpoint(
    worker_db: tuple[Database, str], worker_client: httpx.AsyncClient, receiver: Receiver, workers: Workers
) -> None:
    db, _ = worker_db
    tenant: Tenant = await new_tenant(db)
    for name in ("pair-a", "pair-b"):
        await add_endpoint(worker_client, tenant, receiver, name)
    first, second = workers.start(), workers.start()
    await workers.ready(first)
    await workers.ready(second)

    contacts = [await add_contact(worker_client, tenant, f"pair{i}@example.com") for i in range(30)]

    async def all_done() -> bool:
        return (await _statuses(db))["succeeded"] == 2 * len(contacts)

    await until(all_done, within=30, what="60 deliveries")
    for name in ("pair-a", "pair-b"):
        got = receiver.got(name)
        assert all(g.verified for g in got)
        ids = Counter(g.headers["webhook-id"] for g in got)
        assert len(ids) == len(contacts) and set(ids.values()) == {1}, ids.most_common(3)
    async with db.read_session() as session:
        by_worker = (await session.execute(select(Attempt.worker, func.count()).group_by(Attempt.worker))).all()
    assert sum(n for _, n in by_worker) == 2 * len(contacts)
    assert len(by_worker) == 2, by_worker  # both workers took part


async def test_a_worker_killed_mid_batch_loses_nothing(
    worker_db: tuple[Database, str], worker_client: httpx.AsyncClient, receiver: Receiver, workers: Workers
) -> None:
    db, _ = worker_db
    tenant: Tenant = await new_tenant(db)
    await add_endpoint(worker_client, tenant, receiver, "killed")
    contacts = [await add_contact(worker_client, tenant, f"kill{i}@example.com") for i in range(12)]
    receiver.hold = asyncio.Event()  # the receiver keeps the first worker's batch in flight

    doomed = workers.start("--lease-seconds", "3", "--timeout", "2")
    await until(lambda: receiver.in_flight >= 1, within=30, what="the first worker's batch in flight")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    receiver.hold.set()
    receiver.hold = None
    assert (await _statuses(db))["succeeded"] == 0  # the dead worker recorded nothing

    survivor = workers.start("--lease-seconds", "3", "--timeout", "2")
    await workers.ready(survivor)

    async def all_done() -> bool:
        return (await _statuses(db))["succeeded"] == len(contacts)

    await until(all_done, within=30, what="the survivor to finish the dead worker's deliveries")
    delivered = {g.message["data"]["contact_id"] for g in receiver.got("killed") if g.verified}
    assert delivered == set(contacts)
