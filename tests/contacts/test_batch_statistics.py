"""PostgreSQL: a batch first analyzes the tables it writes once contacts has outgrown its statistics (the
foreign-key checks of its emails, phones and match keys are planned from them)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
import pytest
from sqlalchemy import text

from leadhub.contacts import batch as batches
from leadhub.db.engine import Database
from tests.conftest import ENGINE, Tenant, pg_statements

pytestmark = pytest.mark.skipif(ENGINE != "postgres", reason="SQLite plans each statement as it is prepared")

_STATE = text(
    "SELECT s.last_analyze, s.n_mod_since_analyze, c.reltuples FROM pg_stat_user_tables s"
    " JOIN pg_class c ON c.oid = s.relid WHERE s.relid = 'contacts'::regclass"
)


async def _state(db: Database) -> tuple[datetime | None, int, float]:
    async with db.read_session() as session:
        last, changed, known = (await session.execute(_STATE)).one()
    return last, int(changed), float(known)


async def test_a_batch_analyzes_contacts_once_it_outgrew_its_statistics(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Autovacuum's own analysis would reset the counts this test reads: off for the test's length.
    await pg_statements(tenant.db, "ALTER TABLE contacts SET (autovacuum_enabled = false)")
    try:
        await _outgrow_and_batch(client, tenant)
    finally:
        await pg_statements(tenant.db, "ALTER TABLE contacts RESET (autovacuum_enabled)")


async def _outgrow_and_batch(client: httpx.AsyncClient, tenant: Tenant) -> None:
    items = [{"email": f"stats{n}@example.com"} for n in range(1000)]
    response = await client.post("/v1/contacts/batch", json={"mode": "create", "items": items}, headers=tenant.headers)
    assert response.status_code == 200 and response.json()["created"] == 1000
    async with tenant.db.session() as session:
        await session.execute(text("ANALYZE contacts"))
        await session.commit()
    analyzed, _, known = await _state(tenant.db)
    assert known >= 1000

    await batches.keep_statistics(tenant.db, 1000)
    assert (await _state(tenant.db))[0] == analyzed  # statistics as fresh as they come: nothing to do

    # As many changes as twice the rows: more than the statistics count.
    await pg_statements(tenant.db, "UPDATE contacts SET notes = notes", "UPDATE contacts SET notes = notes")
    for _ in range(50):  # the counts reach the shared statistics when that connection is closed
        if (await _state(tenant.db))[1] > known:
            break
        await asyncio.sleep(0.1)
    after = [{"email": f"after{n}@example.com"} for n in range(batches.STATISTICS_MIN_ITEMS)]
    response = await client.post("/v1/contacts/batch", json={"mode": "create", "items": after}, headers=tenant.headers)
    assert response.status_code == 200
    last = (await _state(tenant.db))[0]
    assert last is not None and analyzed is not None and last > analyzed
