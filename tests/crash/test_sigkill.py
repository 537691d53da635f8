"""Crash safety: `leadhub serve` takes contact writes from several clients and is SIGKILLed mid-way. After
a restart every write that was answered 2xx is stored with its email and its `contact.created` event,
nothing is half-written (no contact without its event or email, no event without its contact, event
sequence numbers gap-free), and the service answers again."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from leadhub.contacts.models import Contact, ContactEmail
from leadhub.core import ids
from leadhub.db.engine import Database
from leadhub.events.models import Event
from tests.serve_process import fresh_database, start

pytestmark = pytest.mark.slow
CLIENTS = 8
# Kill once this many writes were acknowledged, or at the deadline (a loaded CI box writes slower), but
# never before MIN_ACKED: the test needs writes on both sides of the kill.
KILL_AFTER_ACKED = 1500
MIN_ACKED = 100
MAX_WRITES = 5000
KILL_DEADLINE_SECONDS = 12


async def _writer(client: httpx.AsyncClient, run: str, n: int, acked: dict[str, str], stop: asyncio.Event) -> int:
    sent = 0
    while not stop.is_set() and sent < MAX_WRITES // CLIENTS:
        email = f"w{n}.{sent}.{run}@example.com"
        sent += 1
        try:
            response = await client.post("/v1/contacts", json={"email": email, "first_name": f"W{n}"})
        except httpx.TransportError:
            return sent  # the server is gone
        if response.status_code == 201:
            acked[response.json()["id"]] = email
        else:
            assert response.status_code in (429, 503), response.text
    return sent


async def test_every_acknowledged_write_survives_a_sigkill_whole(tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    acked: dict[str, str] = {}
    # The test measures crash consistency, not rate limits.
    env = {"LEADHUB_RATELIMIT_ENABLED": "false"}
    async with fresh_database(tmp_path) as url:
        server = await start(url, tmp_path, tmp_path / "serve.log", **env)
        auth = {"Authorization": f"Bearer {server.admin_key()}"}
        stop = asyncio.Event()
        limits = httpx.Limits(max_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=server.base_url, headers=auth, timeout=30, limits=limits) as client:
            writers = [asyncio.create_task(_writer(client, run, n, acked, stop)) for n in range(CLIENTS)]
            deadline = asyncio.get_running_loop().time() + KILL_DEADLINE_SECONDS
            while len(acked) < KILL_AFTER_ACKED:
                late = asyncio.get_running_loop().time() > deadline
                if all(w.done() for w in writers) or (late and len(acked) >= MIN_ACKED):
                    break
                assert asyncio.get_running_loop().time() < deadline + 30, "the server acknowledged too few writes"
                await asyncio.sleep(0.05)  # watching the clients' progress, with a deadline
            server.kill()  # SIGKILL: no shutdown, no flush, mid-request for most clients
            stop.set()
            sent = sum(await asyncio.gather(*writers))
        assert len(acked) >= MIN_ACKED and sent > len(acked), (sent, len(acked))

        restarted = await start(url, tmp_path, tmp_path / "serve.log", **env)
        try:
            async with httpx.AsyncClient(base_url=restarted.base_url, headers=auth, timeout=30) as client:
                sample = list(acked)[:: max(1, len(acked) // 20)]
                for contact_id in sample:
                    got = await client.get(f"/v1/contacts/{contact_id}")
                    assert got.status_code == 200 and got.json()["emails"][0]["address"] == acked[contact_id]
                after = await client.post("/v1/contacts", json={"email": f"after.{run}@example.com"})
                assert after.status_code == 201
        finally:
            restarted.stop()

        db = Database(url)
        try:
            async with db.read_session() as session:
                contacts = set(await session.scalars(select(Contact.id)))
                emails = dict((await session.execute(select(ContactEmail.contact_id, ContactEmail.address))).all())
                created = list(await session.scalars(select(Event.contact_id).where(Event.type == "contact.created")))
                seqs = list(
                    await session.execute(
                        select(Event.workspace_id, func.count(), func.min(Event.seq), func.max(Event.seq)).group_by(
                            Event.workspace_id
                        )
                    )
                )
        finally:
            await db.dispose()
    stored = {ids.encode(ids.CONTACT, c) for c in contacts}
    lost = set(acked) - stored
    assert not lost, f"{len(lost)} acknowledged writes lost"
    for contact_id, email in acked.items():
        assert emails[ids.decode(ids.CONTACT, contact_id)] == email
    # Nothing half-written: each contact has exactly one created event and an email; no orphan event.
    assert sorted(created) == sorted(contacts)
    assert set(emails) == contacts
    for _workspace, count, low, high in seqs:
        assert (low, high) == (1, count), "event sequence has gaps"
