"""Everything that pointed at an absorbed contact points at the survivor afterwards: deals, tasks, events,
and any table with a contact_id, including one whose unique key the move would break."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import Column, MetaData, String, Table, UniqueConstraint, Uuid, select

from leadhub.contacts import merge as merging
from leadhub.db.engine import Database
from leadhub.uow import unit_of_work
from tests.conftest import Tenant
from tests.duplicates.support import make, merge


async def test_deals_and_tasks_follow_the_survivor(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await make(client, tenant, {"name": "Jon Smith", "email": "jon@acme.com"})
    b = await make(client, tenant, {"name": "Jonathan Smith", "email": "jonathan@acme.com"})
    deals = []
    for i, owner in enumerate((a, b, b)):
        created = await client.post(
            "/v1/deals", json={"name": f"Deal {i}", "contact_id": owner}, headers=tenant.headers
        )
        assert created.status_code == 201, created.text
        deals.append(created.json()["id"])
    task = await client.post("/v1/tasks", json={"title": "Call back", "contact_id": b}, headers=tenant.headers)
    assert task.status_code == 201, task.text

    response = await merge(client, tenant, a, [b])

    assert response.status_code == 200, response.text
    assert response.json()["contact"]["id"] == a
    for deal in deals:
        assert (await client.get(f"/v1/deals/{deal}", headers=tenant.headers)).json()["contact_id"] == a
    moved = await client.get(f"/v1/tasks/{task.json()['id']}", headers=tenant.headers)
    assert moved.json()["contact_id"] == a
    events = await client.get("/v1/events", params={"type": "contact.merged"}, headers=tenant.headers)
    counts = events.json()["data"][0]["data"]["repointed"]
    assert counts["deals.contact_id"] == 2 and counts["tasks.contact_id"] == 1


async def test_a_move_that_would_break_a_unique_key_keeps_the_survivors_row_and_reports_the_other(
    database: Database, tenant: Tenant
) -> None:
    # A membership table keyed by (list, contact), as a campaign's prospects are: the survivor and the
    # absorbed contact are both on list 1 (one row must give way) and only the absorbed one is on list 2.
    metadata = MetaData()
    name = f"memberships_{uuid.uuid4().hex[:8]}"
    table = Table(
        name,
        metadata,
        Column("workspace_id", Uuid(), primary_key=True),
        Column("id", Uuid(), primary_key=True),
        Column("list", String(20)),
        Column("contact_id", Uuid()),
        Column("score", String(20)),
        UniqueConstraint("workspace_id", "list", "contact_id"),
    )
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    survivor, absorbed = uuid.uuid4(), uuid.uuid4()
    rows = [("one", survivor, "80"), ("one", absorbed, "95"), ("two", absorbed, "60")]
    try:
        async with unit_of_work(database) as session:
            await session.execute(
                table.insert(),
                [
                    {"workspace_id": tenant.ws_id, "id": uuid.uuid4(), "list": lst, "contact_id": c, "score": s}
                    for lst, c, s in rows
                ],
            )
        async with unit_of_work(database) as session:
            counts, dropped = await merging._repoint(
                session, tenant.ws_id, survivor, [absorbed], references=[(table, table.c.contact_id)]
            )
        async with database.read_session() as session:
            left = sorted((r.list, r.contact_id, r.score) for r in await session.execute(select(table)))
    finally:
        async with database.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)

    assert left == [("one", survivor, "80"), ("two", survivor, "60")]
    assert counts == {f"{name}.contact_id": 1}
    assert len(dropped) == 1
    assert dropped[0]["table"] == name
    assert dropped[0]["row"]["score"] == "95" and dropped[0]["row"]["contact_id"] == str(absorbed)
