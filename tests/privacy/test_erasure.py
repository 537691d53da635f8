"""Erasure (GDPR art. 17 / CCPA): after `DELETE /v1/contacts/{id}?erase=true` or an erasure by email or
phone, the person's data is nowhere in the workspace's tables — contact, emails, phones, custom fields,
event payloads and changes, webhook reply excerpts, stored idempotent replies — and one thin
`contact.erased` event remains. The suppression list keeps them from being re-imported silently."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select, text

from leadhub.core import ids
from leadhub.db.engine import Database
from leadhub.db.models import metadata
from leadhub.uow import unit_of_work
from leadhub.webhooks.models import Attempt, Delivery
from tests.conftest import Tenant


def canary() -> tuple[str, str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"erase.{tag}@example.org", f"+1415555{int(tag[:6], 16) % 10000:04d}", f"Zyx{tag}"


async def rows_mentioning(db: Database, ws_id: uuid.UUID, needles: list[str]) -> list[str]:
    """Every row of every tenant table of this workspace whose text holds one of ``needles``."""
    found = []
    async with db.read_session() as session:
        for table in metadata.sorted_tables:
            if "workspace_id" not in table.c:
                continue
            for row in await session.execute(select(table).where(table.c.workspace_id == ws_id)):
                blob = repr(tuple(row)).lower()
                found += [f"{table.name}: {n}" for n in needles if n.lower() in blob]
    return found


async def person(client: httpx.AsyncClient, tenant: Tenant) -> tuple[dict[str, Any], list[str]]:
    email, phone, name = canary()
    body = {
        "first_name": name,
        "last_name": "Canary",
        "emails": [{"address": email}, {"address": f"second.{email}"}],
        "phone": phone,
        "custom_fields": {"favourite": f"{name} likes tea"},
        "notes": f"Met {name} at the fair",
    }
    created = await client.post("/v1/contacts", json=body, headers={**tenant.headers, "Idempotency-Key": name})
    assert created.status_code == 201, created.text
    contact = created.json()
    changed = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"title": f"CTO of {name}Corp"}, headers=tenant.headers
    )
    assert changed.status_code == 200
    return contact, [email, phone, name]


async def test_erasing_a_contact_leaves_no_trace_but_a_thin_event(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    contact, needles = await person(client, tenant)
    key = ids.decode(ids.CONTACT, contact["id"])
    # A webhook subscriber echoed the person back in its reply: that excerpt is personal data too.
    hook = await client.post(
        "/v1/webhooks", json={"url": "https://hooks.example.net/in", "event_types": ["*"]}, headers=tenant.headers
    )
    assert hook.status_code == 201, hook.text
    await client.patch(f"/v1/contacts/{contact['id']}", json={"source": "fair"}, headers=tenant.headers)
    async with unit_of_work(database) as session:
        delivery = (await session.scalars(select(Delivery).where(Delivery.contact_id == key))).first()
        assert delivery is not None
        session.add(
            Attempt(
                workspace_id=tenant.ws_id,
                id=ids.new_uuid(),
                delivery_id=delivery.id,
                url="https://hooks.example.net/in",
                attempted_at=delivery.created_at,
                status_code=200,
                latency_ms=5,
                response_excerpt=f"thanks for {needles[0]}",
            )
        )
    assert await rows_mentioning(database, tenant.ws_id, needles)

    erased = await client.delete(f"/v1/contacts/{contact['id']}", params={"erase": "true"}, headers=tenant.headers)
    assert erased.status_code == 204

    assert await rows_mentioning(database, tenant.ws_id, needles) == []
    assert (await client.get(f"/v1/contacts/{contact['id']}", headers=tenant.headers)).status_code == 404
    lookup = await client.get("/v1/contacts/lookup", params={"email": needles[0]}, headers=tenant.headers)
    assert lookup.status_code == 404
    listed = await client.get("/v1/contacts", params={"q": needles[2]}, headers=tenant.headers)
    assert listed.json()["data"] == []
    events = (await client.get("/v1/events", params={"limit": 100}, headers=tenant.headers)).json()["data"]
    thin = [e for e in events if e["type"] == "contact.erased"]
    assert len(thin) == 1 and set(thin[0]["data"]) == {"id", "erased_at"} and thin[0]["data"]["id"] == contact["id"]
    history = [e for e in events if e["contact_id"] == contact["id"] and e["type"] != "contact.erased"]
    assert {e["type"] for e in history} == {"contact.created", "contact.updated"}
    assert all(e["data"] == {"erased": True} and e["changes"] is None for e in history)
    # A retried create with the same Idempotency-Key must not replay the erased person's record.
    retried = await client.post(
        "/v1/contacts", json={"first_name": "x"}, headers={**tenant.headers, "Idempotency-Key": needles[2]}
    )
    assert needles[0] not in retried.text


async def test_erasing_by_email_also_scrubs_a_contact_deleted_earlier(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    contact, needles = await person(client, tenant)
    assert (await client.delete(f"/v1/contacts/{contact['id']}", headers=tenant.headers)).status_code == 204
    assert await rows_mentioning(database, tenant.ws_id, needles)  # the deleted event keeps a snapshot

    erased = await client.post("/v1/privacy/erasures", json={"email": needles[0].upper()}, headers=tenant.headers)
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] == [] and erased.json()["events_scrubbed"] == 3
    assert await rows_mentioning(database, tenant.ws_id, needles) == []


async def test_erasing_by_phone_finds_the_holder(client: httpx.AsyncClient, tenant: Tenant, database: Database) -> None:
    contact, needles = await person(client, tenant)
    national = needles[1].removeprefix("+1")
    erased = await client.post("/v1/privacy/erasures", json={"phone": national}, headers=tenant.headers)
    assert erased.status_code == 200 and erased.json()["erased"] == [contact["id"]]
    assert await rows_mentioning(database, tenant.ws_id, needles) == []


async def test_erasure_input_errors_name_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    nothing = await client.post("/v1/privacy/erasures", json={}, headers=tenant.headers)
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["rule"] == "one_of"
    bad = await client.post("/v1/privacy/erasures", json={"email": "not-an-email"}, headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"


async def test_another_workspace_cannot_erase_or_export_a_contact(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    contact, needles = await person(client, tenant)
    path = f"/v1/contacts/{contact['id']}"
    assert (await client.delete(path, params={"erase": "true"}, headers=other_tenant.headers)).status_code == 404
    assert (await client.get(f"{path}/export", headers=other_tenant.headers)).status_code == 404
    by_email = await client.post("/v1/privacy/erasures", json={"email": needles[0]}, headers=other_tenant.headers)
    assert by_email.json()["erased"] == []
    assert (await client.get(path, headers=tenant.headers)).json()["first_name"] == needles[2]


async def test_erasure_needs_the_write_scope(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact, needles = await person(client, tenant)
    reader = {"Authorization": f"Bearer {await tenant.make_key(['contacts.read'])}"}
    path = f"/v1/contacts/{contact['id']}"
    assert (await client.delete(path, params={"erase": "true"}, headers=reader)).status_code == 403
    assert (await client.post("/v1/privacy/erasures", json={"email": needles[0]}, headers=reader)).status_code == 403


# ------------------------------------------------------------------------------------------- suppression


async def test_a_suppressed_person_is_not_reimported_silently_by_any_door(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact, needles = await person(client, tenant)
    erased = await client.delete(
        f"/v1/contacts/{contact['id']}", params={"erase": "true", "suppress": "true"}, headers=tenant.headers
    )
    assert erased.status_code == 204

    again = await client.post("/v1/contacts", json={"email": needles[0].upper()}, headers=tenant.headers)
    assert again.status_code == 422
    assert again.json()["errors"][0] == {
        "field": "email",
        "rule": "suppressed",
        "message": again.json()["errors"][0]["message"],
        "kind": "string",
    }
    upsert = await client.post("/v1/contacts/upsert", json={"phone": needles[1]}, headers=tenant.headers)
    assert upsert.status_code == 422 and upsert.json()["errors"][0]["rule"] == "suppressed"
    batch = await client.post(
        "/v1/contacts/batch", json={"items": [{"email": needles[0]}, {"first_name": "fine"}]}, headers=tenant.headers
    )
    assert [r["status"] for r in batch.json()["results"]] == ["error", "created"]
    dialect = await client.post(
        "/compat/leadconnector/contacts/",
        json={"locationId": tenant.ws_public_id, "email": needles[0]},
        headers={**tenant.headers, "Version": "2021-07-28"},
    )
    assert dialect.status_code == 400 and "email" in dialect.json()["message"]
    # Someone else's contact may not take the number either.
    other = await client.post("/v1/contacts", json={"first_name": "B"}, headers=tenant.headers)
    taken = await client.patch(f"/v1/contacts/{other.json()['id']}", json={"phone": needles[1]}, headers=tenant.headers)
    assert taken.status_code == 422

    listed = (await client.get("/v1/privacy/suppressions", headers=tenant.headers)).json()["data"]
    assert len(listed) == 3 and {s["kind"] for s in listed} == {"email", "phone"}
    assert all(needles[0] not in str(s) for s in listed)
    for entry in listed:
        path = f"/v1/privacy/suppressions/{entry['digest']}"
        assert (await client.delete(path, headers=tenant.headers)).status_code == 204
    back = await client.post("/v1/contacts", json={"email": needles[0]}, headers=tenant.headers)
    assert back.status_code == 201


async def test_without_suppression_an_erased_person_may_come_back(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact, needles = await person(client, tenant)
    await client.delete(f"/v1/contacts/{contact['id']}", params={"erase": "true"}, headers=tenant.headers)
    assert (await client.post("/v1/contacts", json={"email": needles[0]}, headers=tenant.headers)).status_code == 201


async def test_the_suppression_list_accepts_entries_by_hand(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    email = canary()[0]
    added = await client.post("/v1/privacy/suppressions", json={"email": email}, headers=tenant.headers)
    assert added.status_code == 201 and added.json()["kind"] == "email" and added.json()["reason"] == "manual"
    twice = await client.post("/v1/privacy/suppressions", json={"email": email}, headers=tenant.headers)
    assert twice.json()["digest"] == added.json()["digest"]
    assert (await client.post("/v1/contacts", json={"email": email}, headers=tenant.headers)).status_code == 422
    # Another workspace's list is its own.
    assert (await client.post("/v1/contacts", json={"email": email}, headers=other_tenant.headers)).status_code == 201
    gone = await client.delete(f"/v1/privacy/suppressions/{added.json()['digest']}", headers=other_tenant.headers)
    assert gone.status_code == 404
    both = await client.post(
        "/v1/privacy/suppressions", json={"email": email, "phone": "+14155550100"}, headers=tenant.headers
    )
    assert both.status_code == 422


async def test_the_suppression_check_costs_one_indexed_lookup(database: Database) -> None:
    async with database.read_session() as session:
        plan = await session.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT digest FROM suppressions WHERE workspace_id = :w AND digest IN ('a')"
                if database.is_sqlite
                else "EXPLAIN SELECT digest FROM suppressions WHERE workspace_id = :w AND digest IN ('a')"
            ),
            {"w": uuid.uuid4().hex if database.is_sqlite else str(uuid.uuid4())},
        )
        described = " ".join(str(r) for r in plan).lower()
    assert "scan suppressions" not in described and "seq scan" not in described
