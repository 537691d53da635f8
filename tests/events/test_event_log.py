"""The event log: every change writes its event in the same transaction, with the acting key and a gap-free
per-workspace sequence; /v1/events pages and filters it; a contact's timeline is newest first."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from leadhub import uow
from leadhub.auth.models import Workspace
from leadhub.auth.principal import Actor
from leadhub.contacts import service as contacts
from leadhub.contacts.models import Contact
from leadhub.contacts.schemas import ContactIn
from leadhub.events import service as events
from leadhub.events.models import Event
from leadhub.webhooks import outbox
from leadhub.webhooks.models import Delivery
from tests.conftest import Tenant


async def _events(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", params={"limit": 200, **params}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def _admin_key_id(client: httpx.AsyncClient, tenant: Tenant) -> str:
    keys = (await client.get("/v1/keys", headers=tenant.headers)).json()["data"]
    return str(next(k["id"] for k in keys if k["prefix"] == tenant.key[:12]))


async def test_contact_lifecycle_writes_created_updated_deleted_with_the_actor(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = (
        await client.post(
            "/v1/contacts", json={"first_name": "Ada", "email": "ada@example.com"}, headers=tenant.headers
        )
    ).json()
    cid = created["id"]
    await client.patch(f"/v1/contacts/{cid}", json={"title": "CTO", "first_name": "Ada"}, headers=tenant.headers)
    await client.delete(f"/v1/contacts/{cid}", headers=tenant.headers)

    log = await _events(client, tenant)
    assert [e["type"] for e in log] == ["contact.created", "contact.updated", "contact.deleted"]
    key_id = await _admin_key_id(client, tenant)
    for event in log:
        assert event["id"].startswith("evt_")
        assert event["actor"] == {"type": "api_key", "id": key_id, "door": "api"}
        assert event["resource_type"] == "contact"
        assert event["resource_id"] == cid and event["contact_id"] == cid
    assert log[0]["data"] == created
    assert log[0]["changes"] is None
    # Only the field that changed, with its value before and after (first_name was sent unchanged).
    assert log[1]["changes"] == {"title": {"before": None, "after": "CTO"}}
    assert log[1]["data"]["title"] == "CTO"
    assert log[2]["data"]["emails"][0]["address"] == "ada@example.com"


async def test_a_patch_that_changes_nothing_writes_no_event(client: httpx.AsyncClient, tenant: Tenant) -> None:
    cid = (await client.post("/v1/contacts", json={"title": "CTO"}, headers=tenant.headers)).json()["id"]
    assert (await client.patch(f"/v1/contacts/{cid}", json={"title": "CTO"}, headers=tenant.headers)).status_code == 200
    assert [e["type"] for e in await _events(client, tenant)] == ["contact.created"]


async def test_custom_field_changes_write_custom_field_events(client: httpx.AsyncClient, tenant: Tenant) -> None:
    field = (
        await client.post(
            "/v1/custom-fields", json={"key": "tier", "label": "Tier", "type": "text"}, headers=tenant.headers
        )
    ).json()
    await client.patch(f"/v1/custom-fields/{field['id']}", json={"label": "Level"}, headers=tenant.headers)
    await client.delete(f"/v1/custom-fields/{field['id']}", headers=tenant.headers)
    log = await _events(client, tenant)
    assert [e["type"] for e in log] == ["custom_field.created", "custom_field.updated", "custom_field.deleted"]
    assert {e["resource_id"] for e in log} == {field["id"]}
    assert all(e["resource_type"] == "custom_field" and e["contact_id"] is None for e in log)
    assert log[1]["changes"]["label"] == {"before": "Tier", "after": "Level"}


async def test_failed_requests_write_no_event(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.post("/v1/contacts", json={"email": "taken@example.com"}, headers=tenant.headers)
    before = await _events(client, tenant)
    failures = [
        await client.post("/v1/contacts", json={"email": "taken@example.com"}, headers=tenant.headers),
        await client.post("/v1/contacts", json={"phone": "not a phone"}, headers=tenant.headers),
        await client.post("/v1/contacts", json={"email": "x@example.com", "phone": "12"}, headers=tenant.headers),
        await client.patch("/v1/contacts/con_00000000000000000000000000", json={"title": "x"}, headers=tenant.headers),
    ]
    assert [r.status_code for r in failures] == [409, 422, 422, 404]
    assert await _events(client, tenant) == before
    # Nothing of the rolled-back writes stayed either.
    listing = (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"]
    assert len(listing) == 1


async def test_seq_is_gap_free_and_increasing_even_under_concurrent_writes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await client.post("/v1/contacts", json={"email": "dup@example.com"}, headers=tenant.headers)
    bodies = [{"first_name": f"c{i}"} for i in range(15)] + [{"email": "dup@example.com"}] * 3
    responses = await asyncio.gather(*[client.post("/v1/contacts", json=b, headers=tenant.headers) for b in bodies])
    assert sorted(r.status_code for r in responses) == [201] * 15 + [409] * 3
    seqs = [e["seq"] for e in await _events(client, tenant)]
    assert seqs == list(range(1, 17))


async def test_big_and_small_transactions_together_number_every_event_once_in_commit_order(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Batches of 100 take their numbers before inserting their events (outbox._NUMBER_FIRST_MIN), single
    # creates only at COMMIT: side by side, every event still gets one number, gap-free, a batch's in item
    # order, and each delivery the number of its event.
    endpoint = await client.post("/v1/webhooks", json={"url": "https://93.184.216.34/hook"}, headers=tenant.headers)
    assert endpoint.status_code == 201, endpoint.text

    async def batch(n: int) -> httpx.Response:
        items = [{"email": f"b{n}.{i}@example.com"} for i in range(100)]
        return await client.post("/v1/contacts/batch", json={"mode": "create", "items": items}, headers=tenant.headers)

    singles = [client.post("/v1/contacts", json={"first_name": f"s{i}"}, headers=tenant.headers) for i in range(8)]
    answers = await asyncio.gather(batch(1), *singles, batch(2))
    assert [r.status_code for r in answers] == [200] + [201] * 8 + [200], [r.text[:200] for r in answers]
    async with tenant.db.read_session() as session:
        logged = (
            await session.execute(
                select(Event.seq, Event.id, Event.payload).where(Event.workspace_id == tenant.ws_id).order_by(Event.seq)
            )
        ).all()
        deliveries = (
            await session.execute(
                select(Delivery.event_seq, Delivery.event_id).where(Delivery.workspace_id == tenant.ws_id)
            )
        ).all()
    # The endpoint's creation, then 200 batch items and 8 single creates, each event once.
    assert [seq for seq, _, _ in logged] == list(range(1, 210))
    for n in (1, 2):
        emails = [(seq, (p.get("emails") or [{}])[0].get("address", "")) for seq, _, p in logged]
        mine = [(seq, email) for seq, email in emails if email.startswith(f"b{n}.")]
        first = mine[0][0]
        assert mine == [(first + i, f"b{n}.{i}@example.com") for i in range(100)]
    seq_of = {event_id: seq for seq, event_id, _ in logged}
    assert sorted(seq for seq, _ in deliveries) == list(range(1, 210))  # the endpoint takes every type
    assert all(seq_of[event_id] == seq for seq, event_id in deliveries)


async def test_events_page_by_cursor_in_both_orders(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for i in range(5):
        await client.post("/v1/contacts", json={"first_name": f"c{i}"}, headers=tenant.headers)
    for order, expected in (("asc", [1, 2, 3, 4, 5]), ("desc", [5, 4, 3, 2, 1])):
        seen: list[int] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 2, "order": order, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/events", params=params, headers=tenant.headers)).json()
            seen += [e["seq"] for e in page["data"]]
            pages += 1
            if not page["has_more"]:
                assert page["next_cursor"] is None
                break
            cursor = page["next_cursor"]
        assert seen == expected
        assert pages == 3
    bad = await client.get("/v1/events", params={"cursor": "garbage"}, headers=tenant.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"


async def test_events_filter_by_exact_type_and_prefix(client: httpx.AsyncClient, tenant: Tenant) -> None:
    cid = (await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=tenant.headers)).json()["id"]
    await client.patch(f"/v1/contacts/{cid}", json={"title": "CTO"}, headers=tenant.headers)
    await client.post(
        "/v1/custom-fields", json={"key": "tier", "label": "Tier", "type": "text"}, headers=tenant.headers
    )

    async def types(**params: Any) -> list[str]:
        return [e["type"] for e in await _events(client, tenant, **params)]

    assert await types(type="contact.updated") == ["contact.updated"]
    assert await types(type="contact.*") == ["contact.created", "contact.updated"]
    assert await types(type="custom_field.*") == ["custom_field.created"]
    assert await types(type=["contact.created", "custom_field.*"]) == ["contact.created", "custom_field.created"]
    assert await types(type="contact") == []
    # The prefix is literal text, not a LIKE pattern.
    assert await types(type="custom%.*") == []
    assert await types(type="%") == []


async def test_timeline_lists_one_contacts_events_newest_first(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ada = (await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=tenant.headers)).json()["id"]
    other = (await client.post("/v1/contacts", json={"first_name": "Bob"}, headers=tenant.headers)).json()["id"]
    await client.patch(f"/v1/contacts/{ada}", json={"title": "CTO"}, headers=tenant.headers)
    await client.post(f"/v1/contacts/{ada}/tags", json={"tags": ["vip"]}, headers=tenant.headers)
    await client.patch(f"/v1/contacts/{other}", json={"title": "CEO"}, headers=tenant.headers)

    response = await client.get(f"/v1/contacts/{ada}/timeline", headers=tenant.headers)
    assert response.status_code == 200
    timeline = response.json()["data"]
    assert [e["type"] for e in timeline] == ["contact.updated", "contact.updated", "contact.created"]
    assert [e["changes"] for e in timeline[:2]] == [
        {"tags": {"before": [], "after": ["vip"]}},
        {"title": {"before": None, "after": "CTO"}},
    ]
    assert {e["contact_id"] for e in timeline} == {ada}
    seqs = [e["seq"] for e in timeline]
    assert seqs == sorted(seqs, reverse=True)

    first = (await client.get(f"/v1/contacts/{ada}/timeline", params={"limit": 2}, headers=tenant.headers)).json()
    assert first["has_more"] is True
    rest = await client.get(
        f"/v1/contacts/{ada}/timeline", params={"limit": 2, "cursor": first["next_cursor"]}, headers=tenant.headers
    )
    assert [e["seq"] for e in first["data"] + rest.json()["data"]] == seqs
    filtered = await client.get(
        f"/v1/contacts/{ada}/timeline", params={"type": "contact.created"}, headers=tenant.headers
    )
    assert [e["type"] for e in filtered.json()["data"]] == ["contact.created"]


async def test_deleted_contacts_timeline_is_404_but_its_events_stay_in_the_log(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    cid = (await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=tenant.headers)).json()["id"]
    await client.delete(f"/v1/contacts/{cid}", headers=tenant.headers)
    assert (await client.get(f"/v1/contacts/{cid}/timeline", headers=tenant.headers)).status_code == 404
    assert [e["type"] for e in await _events(client, tenant)] == ["contact.created", "contact.deleted"]


async def test_a_change_still_unflushed_at_commit_is_written_with_its_event(tenant: Tenant) -> None:
    """On PostgreSQL the unit of work commits inside its last message; a change the ORM had not yet flushed
    must be in that transaction, not in a later one a crash could lose (an event of a change never stored)."""
    async with tenant.db.session() as session:
        ws = await session.get(Workspace, tenant.ws_id)
        assert ws is not None
        contact = await contacts.create(
            session, ws, Actor.system("api"), ContactIn.model_validate({"first_name": "Al"})
        )
        await uow.commit(session)
        contact_id = contact.id
    async with tenant.db.session() as session:
        stored = await session.get(Contact, (tenant.ws_id, contact_id))
        assert stored is not None
        stored.notes = "changed in memory only"  # not flushed yet
        events.record(
            session,
            tenant.ws_id,
            Actor.system("api"),
            "contact.updated",
            resource_type="contact",
            resource_id=contact_id,
            contact_id=contact_id,
            payload={},
        )
        await outbox.flush_and_enqueue(session)
        await session.rollback()  # the process died before the session's own COMMIT
    async with tenant.db.read_session() as session:
        after = await session.get(Contact, (tenant.ws_id, contact_id))
        updated = await session.scalar(
            select(func.count()).where(Event.workspace_id == tenant.ws_id, Event.type == "contact.updated")
        )
    assert after is not None
    assert (after.notes, updated) in {(None, 0), ("changed in memory only", 1)}
