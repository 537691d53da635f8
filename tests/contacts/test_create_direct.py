"""POST /v1/contacts without an Idempotency-Key (on PostgreSQL two statements and no session): the answer,
the event, its deliveries and their order are those of the unit of work; a concurrent owner is a 409."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.contacts import service
from leadhub.contacts.schemas import ContactIn
from leadhub.core import ids
from leadhub.db.engine import CONNECTION_LOST, Database, connection_driver
from leadhub.events.models import Event
from leadhub.uow import unit_of_work
from leadhub.webhooks import outbox, wakeup
from leadhub.webhooks import service as webhooks
from leadhub.webhooks.models import Delivery, WebhookEndpoint
from leadhub.webhooks.schemas import EndpointIn
from tests.conftest import Tenant
from tests.contacts.support import create_contact, problem

BODY: dict[str, Any] = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "Ada@Example.COM",
    "phone": "(415) 555-0100",
    "company_name": "Analytical Engines",
    "tags": ["vip", "math"],
    "custom_fields": {"plan": "pro", "seats": 7},
    "address": {"city": "London"},
    "consent": {"marketing": {"granted": True, "source": "web form"}},
}


async def _endpoint(db: Database, tenant: Tenant, event_types: list[str], *, enabled: bool = True) -> uuid.UUID:
    actor = Actor(type="system", id="test", door="test")
    async with unit_of_work(db) as session:
        endpoint = await webhooks.create_endpoint(
            session,
            tenant.ws_id,
            actor,
            EndpointIn(url="http://127.0.0.1:9/hook", event_types=event_types),
            allow_private=True,
        )
        if not enabled:
            await session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.workspace_id == tenant.ws_id, WebhookEndpoint.id == endpoint.id)
                .values(enabled=False)
            )
        return endpoint.id


async def _created_events(db: Database, tenant: Tenant) -> list[Event]:
    async with db.read_session() as session:
        rows = await session.scalars(
            select(Event).where(Event.workspace_id == tenant.ws_id, Event.type == "contact.created").order_by(Event.seq)
        )
        return list(rows)


async def _deliveries(db: Database, tenant: Tenant) -> list[Delivery]:
    async with db.read_session() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.workspace_id == tenant.ws_id, Delivery.event_type == "contact.created")
        )
        return list(rows)


async def test_the_answer_is_the_read_the_event_payload_and_goes_to_matching_endpoints(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    wanted = {await _endpoint(database, tenant, ["contact.*"]), await _endpoint(database, tenant, ["*"])}
    await _endpoint(database, tenant, ["deal.*", "contact.updated"])
    await _endpoint(database, tenant, ["contact.created"], enabled=False)
    wake = asyncio.Event()
    wakeup.register(wake)
    try:
        response = await client.post("/v1/contacts", json=BODY, headers=tenant.headers)
    finally:
        wakeup.unregister(wake)
    assert response.status_code == 201, response.text
    assert wake.is_set()
    created = response.json()
    read = await client.get(f"/v1/contacts/{created['id']}", headers=tenant.headers)
    # (PostgreSQL's jsonb answers an object's keys in its own order: the read is equal, not byte-equal.)
    assert read.json() == created

    (event,) = await _created_events(database, tenant)
    assert event.payload == created
    assert event.contact_id == event.resource_id == ids.decode(ids.CONTACT, created["id"])
    assert (event.resource_type, event.actor_type, event.door, event.changes) == ("contact", "api_key", "api", None)
    deliveries = await _deliveries(database, tenant)
    assert {d.endpoint_id for d in deliveries} == wanted and len(deliveries) == 2
    assert {(d.event_id, d.event_seq, d.contact_id, d.status, d.attempts) for d in deliveries} == {
        (event.id, event.seq, event.contact_id, "pending", 0)
    }


async def test_concurrent_creates_are_numbered_without_gaps_and_each_delivered_once(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    await _endpoint(database, tenant, ["contact.*"])

    async def one(n: int) -> httpx.Response:
        body = {"name": f"Person {n}", "email": f"p{n}@example.org", "phone": f"+1415555{n:04d}"}
        return await client.post("/v1/contacts", json=body, headers=tenant.headers)

    answers = await asyncio.gather(*(one(n) for n in range(24)))
    assert [a.status_code for a in answers] == [201] * 24
    events = await _created_events(database, tenant)
    seqs = [e.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + 24))
    assert {e.payload["id"] for e in events} == {a.json()["id"] for a in answers}
    deliveries = await _deliveries(database, tenant)
    assert sorted(d.event_seq for d in deliveries) == seqs


async def test_an_email_taken_after_the_read_is_a_conflict_naming_its_owner(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that commits the same email between our read and our write: the write fails as a whole
    (nothing of ours stays), and the answer is the usual 409 naming that writer's contact."""
    if not database.is_postgres:
        pytest.skip("SQLite's writer holds the write lock from its read to its commit: no one writes between")
    rival: dict[str, str] = {}
    read_found = service._pg_read_found

    async def read_then_lose_the_race(*args: Any) -> Any:
        found = await read_found(*args)
        if not rival:
            rival["id"] = ""  # (the rival's own read passes through)
            # Another request takes the email now (it reads nothing taken either, and commits first).
            rival["id"] = (await create_contact(client, tenant, {"email": "ada@example.com"}))["id"]
        return found

    monkeypatch.setattr(service, "_pg_read_found", read_then_lose_the_race)
    response = await client.post("/v1/contacts", json=BODY, headers=tenant.headers)
    body = problem(response, 409)
    assert (body["code"], body["field"], body["existing_id"]) == ("duplicate_email", "email", rival["id"])
    events = await _created_events(database, tenant)
    assert [e.payload["id"] for e in events] == [rival["id"]]
    listed = await client.get("/v1/contacts", headers=tenant.headers)
    assert [c["id"] for c in listed.json()["data"]] == [rival["id"]]


async def test_a_taken_identity_whose_owner_is_gone_again_is_written_at_the_next_try(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database.is_postgres:
        pytest.skip("the direct path is PostgreSQL's")
    calls: list[str] = []
    read_found = service._pg_read_found

    async def read_then_lose_then_free(*args: Any) -> Any:
        found = await read_found(*args)
        if not calls:
            calls.append("")  # (the rival's own read passes through)
            calls[0] = (await create_contact(client, tenant, {"email": "ada@example.com"}))["id"]
            # ... and deletes it again before our next read.
            deleted = await client.delete(f"/v1/contacts/{calls[0]}", headers=tenant.headers)
            assert deleted.status_code == 204, deleted.text
        return found

    monkeypatch.setattr(service, "_pg_read_found", read_then_lose_then_free)
    created = await create_contact(client, tenant, BODY)
    assert created["emails"][0]["address"] == "ada@example.com"
    events = await _created_events(database, tenant)
    assert [e.payload["id"] for e in events] == [calls[0], created["id"]]


_TYPES = st.sampled_from(["contact.created", "contact.updated", "deal.created", "company.deleted"])
_PATTERNS = st.lists(
    st.one_of(_TYPES, st.sampled_from(["*", "contact.*", "deal.*", "contact.", "contact", ".*"])), max_size=4
)


@given(st.lists(_PATTERNS, max_size=4), _TYPES)
def test_endpoints_for_chooses_as_matches_does(patterns: list[list[str]], event_type: str) -> None:
    endpoints = [(uuid.uuid4(), p) for p in patterns]
    event = Event(type=event_type, resource_id=None, payload={})
    expected = [endpoint_id for endpoint_id, p in endpoints if outbox.matches(endpoint_id, p, None, event)]
    assert outbox.endpoints_for(event_type, endpoints) == expected


async def test_concurrent_creates_sharing_an_email_make_one_contact_and_one_conflict(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    """On PostgreSQL concurrent creates are written in groups (one transaction each): a group in which two
    claim the same email fails as a whole, and each of its creates is then written alone."""

    async def one(n: int) -> httpx.Response:
        email = "shared@example.org" if n in (5, 6) else f"q{n}@example.org"
        return await client.post("/v1/contacts", json={"name": f"Q {n}", "email": email}, headers=tenant.headers)

    answers = await asyncio.gather(*(one(n) for n in range(16)))
    statuses = [a.status_code for a in answers]
    assert sorted(statuses[5:7]) == [201, 409] and statuses[:5] + statuses[7:] == [201] * 14
    winner = next(a.json()["id"] for a in answers[5:7] if a.status_code == 201)
    loser = next(a for a in answers[5:7] if a.status_code == 409)
    assert problem(loser, 409)["existing_id"] == winner
    events = await _created_events(database, tenant)
    seqs = [e.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + 15))
    assert sorted(e.payload["id"] for e in events) == sorted(a.json()["id"] for a in answers if a.status_code == 201)


async def test_concurrent_creates_in_two_workspaces_number_each_workspace_without_gaps(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, database: Database
) -> None:
    """A group of concurrent creates spans workspaces (run by workspace in it): each workspace's events
    are numbered gap-free, in the order of their own creates' commits, and only its own."""
    tenants = [tenant, other_tenant]

    async def one(n: int) -> httpx.Response:
        body = {"name": f"R {n}", "email": f"r{n}@example.org"}
        return await client.post("/v1/contacts", json=body, headers=tenants[n % 2].headers)

    answers = await asyncio.gather(*(one(n) for n in range(20)))
    assert [a.status_code for a in answers] == [201] * 20
    for k, owner in enumerate(tenants):
        events = await _created_events(database, owner)
        seqs = [e.seq for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + 10))
        assert {e.payload["id"] for e in events} == {a.json()["id"] for a in answers[k::2]}


async def test_a_connection_lost_under_the_direct_path_fails_one_create_and_the_next_reconnects(
    tenant: Tenant, database: Database
) -> None:
    """As SQLAlchemy does on a lost connection: the request that met it fails, the pool is renewed."""
    if not database.is_postgres:
        pytest.skip("the direct path is PostgreSQL's")
    own = Database(database.url, schema=database.schema, pool_size=1, max_overflow=0)
    try:
        async with own.read_session() as session:
            ws = await session.get(Workspace, tenant.ws_id)
        assert ws is not None
        actor = Actor(type="system", id="test", door="test")
        assert await service.create_direct(own, ws, actor, ContactIn(email="lost1@example.org")) is not None
        async with own.engine.connect() as connection:
            pid = await (await connection_driver(connection)).fetchval("SELECT pg_backend_pid()")
        async with database.engine.connect() as connection:
            # (With a timeout it waits until that server process is gone.)
            await (await connection_driver(connection)).execute("SELECT pg_terminate_backend($1, 5000)", pid)
        with pytest.raises(CONNECTION_LOST):
            await service.create_direct(own, ws, actor, ContactIn(email="lost2@example.org"))
        answer = await service.create_direct(own, ws, actor, ContactIn(email="lost3@example.org"))
        assert answer is not None and b"lost3@example.org" in answer
    finally:
        await own.dispose()
