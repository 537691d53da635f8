"""Crash safety, end to end (issue 7). `leadhub serve` takes 5,000 POST /v1/contacts writes from several
concurrent clients while a webhook endpoint subscribed to `contact.*` points at a real receiver on 127.0.0.1.
The delivering process (`leadhub worker` on PostgreSQL, the dispatcher inside `serve` on SQLite) and the
server are SIGKILLed mid-way with requests and deliveries in flight, and restarted; the clients finish their
share against the restarted server, retrying a write whose connection died with the same Idempotency-Key.

Then: every write answered 2xx is stored with its email and exactly one `contact.created` event, once (no
twin); nothing is half-written (no contact without its event or email, no event without its contact, event
sequence numbers gap-free); every stored event reached the receiver, signed, at least once, and more than
once only if its delivery was in flight when its dispatcher died; each contact's events arrived in order.

``LEADHUB_CRASH_WRITES`` changes the number of writes (5,000 by default, as in CI).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from leadhub.contacts.models import Contact, ContactEmail
from leadhub.core import ids
from leadhub.db.engine import Database
from leadhub.events.models import Event
from leadhub.webhooks.models import OPEN_STATES, Delivery
from tests.conftest import ENGINE
from tests.crash.receiver import Receiver, running_receiver
from tests.crash.support import leased_by
from tests.serve_process import Server, Worker, fresh_database, start, start_worker

pytestmark = pytest.mark.slow
WRITES = int(os.environ.get("LEADHUB_CRASH_WRITES", "5000"))
CLIENTS = 12
# Every tenth created contact is then patched, so some contacts have two events whose delivery order matters.
PATCH_EVERY = 10
# Kill points, as shares of the writes acknowledged.
WORKER_KILL_AT = 0.25
SERVE_KILL_AT = 0.45
# Short recovery leases, so a kill costs seconds rather than the default minute: a retry of an interrupted write
# whose key the dead server had claimed is answered 409 until the key's in-flight lease runs out, and deliveries
# leased by a killed dispatcher go out again when theirs does. The webhook lease leaves 3 s past the request
# timeout to record an attempt (a live dispatcher's claim must not run out first: that would send twice).
LEASES = {
    "LEADHUB_IDEMPOTENCY_LEASE_SECONDS": "3",
    "LEADHUB_WEBHOOK_TIMEOUT_SECONDS": "3",
    "LEADHUB_WEBHOOK_LEASE_SECONDS": "6",
}
# A deferred (key-in-use) write is tried again after this, doubling up to the cap.
IN_USE_RETRY_SECONDS = (0.1, 1.0)
WRITES_DEADLINE_SECONDS = 900
DELIVERY_DEADLINE_SECONDS = 180


@dataclass
class Write:
    method: str
    path: str
    body: dict[str, Any]
    key: str
    n: int
    email: str | None = None  # creates only
    not_before: float = 0.0
    tries: int = 0
    in_use: int = 0  # answers "key in use" so far
    interrupted: bool = False


@dataclass
class Stats:
    interrupted: int = 0  # writes whose request died with the server
    retried: int = 0  # requests repeating an earlier one under the same key
    replayed: int = 0  # answers replayed from the idempotency store (the first try had committed)
    redone: int = 0  # interrupted writes that ran afresh on retry (the first try had not committed)
    in_use: int = 0  # 409 idempotency_key_in_use answers (the dead server's claim on the key)
    unexpected: list[str] = field(default_factory=list)


class Load:
    """The writes still to make, shared by the clients, and what was acknowledged."""

    def __init__(self, run: str) -> None:
        self.todo = deque(
            Write("POST", "/v1/contacts", {"email": e, "first_name": f"W{n}"}, f"{run}-{n}", n, email=e)
            for n, e in ((n, f"w{n}.{run}@example.com") for n in range(WRITES))
        )
        self.later: deque[Write] = deque()  # answered "key in use": try again once due
        self.acked: dict[str, str] = {}  # contact id → email, for each create answered 2xx
        self.by_email: dict[str, str] = {}
        self.patched: dict[str, str] = {}  # contact id → first name, for each patch answered 2xx
        self.sending = 0
        self.up = asyncio.Event()
        self.up.set()
        self.epoch = 0  # bumped at each server kill
        self.stats = Stats()

    def take(self) -> Write | None:
        if self.later and self.later[0].not_before <= time.monotonic():
            return self.later.popleft()
        return self.todo.popleft() if self.todo else None

    def finished(self) -> bool:
        return not self.todo and not self.later and not self.sending

    def acknowledge(self, write: Write, response: httpx.Response) -> None:
        body = response.json()
        contact_id: str = body["id"]
        if response.headers.get("idempotent-replayed") == "true":
            self.stats.replayed += 1
        elif write.interrupted:
            self.stats.redone += 1
        if write.email is None:
            self.patched[contact_id] = write.body["first_name"]
            return
        twin = self.by_email.setdefault(write.email, contact_id)
        if twin != contact_id or contact_id in self.acked:
            self.stats.unexpected.append(f"{write.email} acknowledged as {twin} and {contact_id}")
        self.acked[contact_id] = write.email
        if write.n % PATCH_EVERY == 0:
            patch = Write(
                "PATCH", f"/v1/contacts/{contact_id}", {"first_name": f"P{write.n}"}, write.key + "-p", write.n
            )
            self.todo.appendleft(patch)


async def _send(load: Load, http: httpx.AsyncClient, write: Write) -> None:
    """Send until answered: after a connection lost to a kill, again (same key) once the server is back."""
    while True:
        await load.up.wait()
        epoch = load.epoch
        load.stats.retried += write.tries > 0
        write.tries += 1
        try:
            response = await http.request(
                write.method, write.path, json=write.body, headers={"Idempotency-Key": write.key}
            )
        except httpx.TransportError as exc:
            if epoch == load.epoch and load.up.is_set():
                load.stats.unexpected.append(f"{write.method} {write.path}: {exc!r} with the server up")
                if write.tries >= 3:
                    return
            elif not write.interrupted:
                write.interrupted = True
                load.stats.interrupted += 1
            continue
        if response.status_code in (200, 201):
            load.acknowledge(write, response)
            return
        if response.status_code == 409 and response.json().get("code") == "idempotency_key_in_use":
            load.stats.in_use += 1
            first, cap = IN_USE_RETRY_SECONDS
            write.not_before = time.monotonic() + min(cap, first * 2**write.in_use)
            write.in_use += 1
            load.later.append(write)
            return
        load.stats.unexpected.append(f"{write.method} {write.path}: {response.status_code} {response.text[:300]}")
        return


async def _client(load: Load, http: httpx.AsyncClient) -> None:
    while True:
        write = load.take()
        if write is None:
            if load.finished():
                return
            # Deferred writes not yet due, or another client's create may still add its patch.
            await asyncio.sleep(0.05)
            continue
        load.sending += 1
        try:
            await _send(load, http, write)
        finally:
            load.sending -= 1


async def _acknowledged(load: Load, share: float, clients: list[asyncio.Task[None]]) -> None:
    """Wait (polling the clients' progress, with a deadline) until ``share`` of the writes were acknowledged."""
    deadline = time.monotonic() + WRITES_DEADLINE_SECONDS
    while len(load.acked) < share * WRITES:
        assert not any(c.done() for c in clients), "a client stopped early"
        assert not load.stats.unexpected, load.stats.unexpected[:5]
        assert time.monotonic() < deadline, f"only {len(load.acked)} writes acknowledged"
        await asyncio.sleep(0.05)


async def _in_flight_at_kill(db: Database, receiver: Receiver, dead: Server | Worker) -> set[str]:
    """Right after the delivering process was SIGKILLed while the receiver held deliveries open: the events
    whose delivery it had leased and not recorded, the only ones that may arrive twice. Not only those the
    receiver had read by then: a request the dead process wrote to its socket just before the kill is read
    after it (seen on a loaded machine), and its delivery goes out again when the lease runs out."""
    received = set(receiver.ids())
    in_flight = await leased_by(db, dead.pid)
    receiver.release()
    assert in_flight & received, "no delivery was in flight at the kill"
    return in_flight


async def _until(check: Any, within: float, what: str) -> float:
    """Poll ``check`` (async) until truthy; the seconds it took."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < within, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def test_every_acknowledged_write_survives_sigkills_whole_and_is_delivered(tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    env = {"LEADHUB_RATELIMIT_ENABLED": "false", "LEADHUB_WEBHOOK_ALLOW_PRIVATE": "1", **LEASES}
    log = tmp_path / "serve.log"
    processes: list[Server | Worker] = []
    async with running_receiver() as receiver, fresh_database(tmp_path) as url:
        db = Database(url)
        try:
            server = await start(url, tmp_path, log, **env)
            processes.append(server)
            auth = {"Authorization": f"Bearer {server.admin_key()}"}
            limits = httpx.Limits(max_connections=CLIENTS)
            async with httpx.AsyncClient(base_url=server.base_url, headers=auth, timeout=60, limits=limits) as http:
                hook = await http.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["contact.*"]})
                assert hook.status_code == 201, hook.text
                receiver.secret = hook.json()["secret"]
                worker: Worker | None = None
                if ENGINE == "postgres":
                    worker = await start_worker(url, tmp_path / "worker.log", **LEASES)
                    processes.append(worker)

                load = Load(run)
                started = time.monotonic()
                clients = [asyncio.create_task(_client(load, http)) for _ in range(CLIENTS)]
                in_flight_at_kills: set[str] = set()
                if worker is not None:
                    await _acknowledged(load, WORKER_KILL_AT, clients)
                    await receiver.hold_until_in_flight()
                    worker.kill()
                    in_flight_at_kills |= await _in_flight_at_kill(db, receiver, worker)
                    worker = await start_worker(url, tmp_path / "worker.log", **LEASES)
                    processes.append(worker)

                await _acknowledged(load, SERVE_KILL_AT, clients)
                if worker is None:  # SQLite: the dispatcher dies with the server
                    await receiver.hold_until_in_flight()
                load.up.clear()  # from here a lost connection is the kill's doing; clients wait for the restart
                load.epoch += 1
                server.kill()
                if worker is None:
                    in_flight_at_kills |= await _in_flight_at_kill(db, receiver, server)
                acked_at_kill, sending_at_kill = len(load.acked), load.sending
                killed_at = time.monotonic() - started
                server = await start(url, tmp_path, log, port=server.port, **env)
                processes.append(server)
                load.up.set()
                back_at, acked_when_back = time.monotonic() - started, len(load.acked)
                await asyncio.wait_for(asyncio.gather(*clients), WRITES_DEADLINE_SECONDS)
                writes_took = time.monotonic() - started
            stats = load.stats
            assert not stats.unexpected, stats.unexpected[:5]
            assert len(load.acked) == WRITES and len(load.patched) == len(range(0, WRITES, PATCH_EVERY))
            assert stats.interrupted >= 1, "no request was in flight when the server died"

            async with db.read_session() as session:
                contact_events = list(
                    (
                        await session.execute(
                            select(Event.id, Event.type, Event.contact_id, Event.seq).where(
                                Event.type.like("contact.%")
                            )
                        )
                    ).all()
                )
            expected = {ids.encode(ids.EVENT, e.id): e for e in contact_events}

            async def all_received() -> bool:
                return expected.keys() <= receiver.ids().keys()

            async def outbox_empty() -> bool:
                async with db.read_session() as session:
                    return not await session.scalar(
                        select(func.count()).select_from(Delivery).where(Delivery.status.in_(OPEN_STATES))
                    )

            delivered_after = await _until(all_received, DELIVERY_DEADLINE_SECONDS, "every event delivered")
            await _until(outbox_empty, 30, "every delivery recorded")
            total = time.monotonic() - started

            for process in processes:
                if process.process.poll() is None:
                    assert process.stop() in (0, -15), process.printed()[-2000:]

            async with db.read_session() as session:
                contacts = {
                    ids.encode(ids.CONTACT, c): name
                    for c, name in (await session.execute(select(Contact.id, Contact.first_name))).all()
                }
                emails = {
                    ids.encode(ids.CONTACT, c): a
                    for c, a in (await session.execute(select(ContactEmail.contact_id, ContactEmail.address))).all()
                }
                email_rows = await session.scalar(select(func.count()).select_from(ContactEmail))
                sequences = (
                    await session.execute(
                        select(Event.workspace_id, func.count(), func.min(Event.seq), func.max(Event.seq)).group_by(
                            Event.workspace_id
                        )
                    )
                ).all()
        finally:
            for process in processes:
                process.ensure_stopped()
            await db.dispose()

    # Every acknowledged write is stored, with its email, once.
    assert set(contacts) == set(load.acked), "stored contacts differ from the acknowledged writes"
    assert emails == load.acked and email_rows == len(load.acked)
    for contact_id, first_name in load.patched.items():
        assert contacts[contact_id] == first_name
    # Nothing half-written: one created event per contact, none about a contact that is not stored.
    created = Counter(ids.encode(ids.CONTACT, e.contact_id) for e in contact_events if e.type == "contact.created")
    assert created == Counter(set(contacts)), "a contact without exactly one contact.created event"
    updated = Counter(ids.encode(ids.CONTACT, e.contact_id) for e in contact_events if e.type == "contact.updated")
    assert updated == Counter(set(load.patched)), "a patch without exactly one contact.updated event"
    assert {ids.encode(ids.CONTACT, e.contact_id) for e in contact_events} <= set(contacts), "an orphan event"
    for _workspace, count, low, high in sequences:
        assert (low, high) == (1, count), "event sequence has gaps"

    # Delivery: every stored event, signed, with its own content; nothing that was never stored; twice only
    # when in flight at a kill; each contact's events in order.
    assert not receiver.refused, receiver.refused[:3]
    received = receiver.ids()
    assert received.keys() == expected.keys(), "a delivery of an event that is not stored"
    for got in receiver.got:
        event = expected[got.webhook_id]
        assert (got.event_type, got.seq, got.contact_id) == (
            event.type,
            event.seq,
            ids.encode(ids.CONTACT, event.contact_id),
        )
    twice = {event_id for event_id, n in received.items() if n > 1}
    assert twice <= in_flight_at_kills, f"{len(twice - in_flight_at_kills)} delivered twice without a kill"
    seen: dict[str | None, int] = {}
    for got in receiver.got:
        assert got.seq >= seen.get(got.contact_id, 0), f"{got.contact_id}'s events out of order"
        seen[got.contact_id] = got.seq

    print(
        f"\ncrash test [{ENGINE}]: {WRITES} creates + {len(load.patched)} patches from {CLIENTS} clients; serve "
        f"SIGKILLed after {killed_at:.1f} s at {acked_at_kill} acknowledged creates with {sending_at_kill} writes "
        f"in flight ({acked_at_kill / killed_at:.0f} creates/s), back after {back_at - killed_at:.1f} s; "
        f"{(WRITES - acked_when_back) / (writes_took - back_at):.0f} creates/s after; {stats.interrupted} "
        f"interrupted, {stats.retried} retried requests ({stats.replayed} replayed, "
        f"{stats.redone} redone, {stats.in_use} answered key-in-use); writes done after {writes_took:.1f} s; "
        f"{len(expected)} events, {len(receiver.got)} deliveries received, {len(twice)} twice (in flight at "
        f"the kills: {len(in_flight_at_kills)}); all delivered {delivered_after:.1f} s after the writes; "
        f"total {total:.1f} s"
    )
