"""The in-flight lease of an Idempotency-Key is an operator setting (LEADHUB_IDEMPOTENCY_LEASE_SECONDS): a
retry of a request whose process died is answered 409 until the dead request's lease runs out, then runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from leadhub.app import create_app
from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.config import Settings
from leadhub.contacts import service as contacts
from leadhub.contacts.models import Contact
from leadhub.contacts.schemas import ContactIn
from leadhub.core import clock
from leadhub.db.engine import Database
from leadhub.idempotency import service as idempotency
from leadhub.idempotency.models import IdempotencyKey
from leadhub.webhooks import outbox
from tests.conftest import Tenant

LEASE = timedelta(seconds=3)
BODY = {"first_name": "Ada"}


@pytest.fixture
def frozen_clock() -> Iterator[list[datetime]]:
    """A clock the test moves by assigning ``now[0]``."""
    now = [datetime(2030, 1, 1, 12, 0, tzinfo=UTC)]
    clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(None)


@pytest.fixture
async def short_lease_client(database: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a server configured with a 3-second idempotency lease."""
    settings = Settings(data_dir=tmp_path, public_url="http://leadhub.test", idempotency_lease_seconds=3)
    app: Any = create_app(settings, database, background=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://leadhub.test") as client:
            yield client


async def _claim_for_a_request_that_dies(tenant: Tenant, key: str, lease: timedelta | None = None) -> None:
    fingerprint = idempotency.request_fingerprint("POST", "/v1/contacts", orjson.dumps(BODY))
    async with tenant.db.session() as session:
        if lease is None:
            await idempotency.claim(session, tenant.ws_id, key, fingerprint, timedelta(hours=24))
        else:
            await idempotency.claim(session, tenant.ws_id, key, fingerprint, timedelta(hours=24), lease)


async def _post(client: httpx.AsyncClient, tenant: Tenant, key: str) -> httpx.Response:
    return await client.post("/v1/contacts", json=BODY, headers={**tenant.headers, "Idempotency-Key": key})


async def test_a_dead_requests_key_is_taken_over_once_its_configured_lease_runs_out(
    client: httpx.AsyncClient, tenant: Tenant, frozen_clock: list[datetime]
) -> None:
    await _claim_for_a_request_that_dies(tenant, "dead", LEASE)

    frozen_clock[0] += LEASE - timedelta(milliseconds=100)
    in_use = await _post(client, tenant, "dead")
    assert in_use.status_code == 409 and in_use.json()["code"] == "idempotency_key_in_use", in_use.text

    frozen_clock[0] += timedelta(milliseconds=200)
    retry = await _post(client, tenant, "dead")
    assert retry.status_code == 201, retry.text
    assert "Idempotent-Replayed" not in retry.headers


async def test_claim_keeps_its_minute_lease_by_default(
    client: httpx.AsyncClient, tenant: Tenant, frozen_clock: list[datetime]
) -> None:
    await _claim_for_a_request_that_dies(tenant, "dead-default")
    frozen_clock[0] += idempotency.IN_FLIGHT_LEASE - timedelta(seconds=1)
    assert (await _post(client, tenant, "dead-default")).status_code == 409
    frozen_clock[0] += timedelta(seconds=2)
    assert (await _post(client, tenant, "dead-default")).status_code == 201


async def test_serve_claims_keys_with_the_configured_lease(
    short_lease_client: httpx.AsyncClient, tenant: Tenant, frozen_clock: list[datetime]
) -> None:
    # A request the server took over from a dead one holds the key for the server's lease, not the default.
    await _claim_for_a_request_that_dies(tenant, "taken-over", timedelta(seconds=1))
    frozen_clock[0] += timedelta(seconds=2)
    claimed_at = frozen_clock[0]
    first = await _post(short_lease_client, tenant, "taken-over")
    assert first.status_code == 201, first.text
    fresh = await short_lease_client.post(
        "/v1/contacts", json={"first_name": "Bo"}, headers={**tenant.headers, "Idempotency-Key": "fresh"}
    )
    assert fresh.status_code == 201, fresh.text
    async with tenant.db.read_session() as session:
        rows = (
            await session.scalars(
                select(IdempotencyKey).where(
                    IdempotencyKey.workspace_id == tenant.ws_id, IdempotencyKey.key.in_(["taken-over", "fresh"])
                )
            )
        ).all()
    assert {row.key: row.locked_until - claimed_at for row in rows} == {"taken-over": LEASE, "fresh": LEASE}


async def test_the_stored_answer_commits_with_the_change_it_answers(tenant: Tenant) -> None:
    """The process dies after the unit of work's commit of the change but before anything else: a retry must
    find either no change and a free key (after the lease), or the change and its stored answer, never the
    change with its key still in flight (the retry would run again and meet its own contact: 409 duplicate)."""
    fingerprint = idempotency.request_fingerprint("POST", "/v1/contacts", orjson.dumps(BODY))
    async with tenant.db.session() as session:
        await idempotency.claim(session, tenant.ws_id, "atomic", fingerprint, timedelta(hours=24))
    async with tenant.db.session() as session:
        ws = await session.get(Workspace, tenant.ws_id)
        assert ws is not None
        contact = await contacts.create(
            session, ws, Actor.system("api"), ContactIn.model_validate({"email": "atomic@example.com"})
        )
        contact_id = contact.id
        await idempotency.complete(session, tenant.ws_id, "atomic", 201, b"{}", {})
        # What uow.commit writes before the session's own COMMIT (on PostgreSQL it commits in that message).
        await outbox.flush_and_enqueue(session)
        await session.rollback()  # the process died here
    async with tenant.db.read_session() as session:
        stored = await session.get(Contact, (tenant.ws_id, contact_id))
        key = await session.get(IdempotencyKey, (tenant.ws_id, "atomic"))
    assert key is not None
    assert (stored is not None, key.state) in {(False, "in_flight"), (True, "completed")}
