"""Merging: nothing is lost (counted before and after), the caller's choices win, absorbed ids keep
resolving, repeating is harmless, and tenants stay walled."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.contacts.support import DrivenClock, contact_events, get_contact, problem, workspace_events
from tests.duplicates.support import make, merge

A = {
    "first_name": "Jon",
    "last_name": "Smith",
    "emails": [{"address": "jsmith@acme.com", "type": "work"}, {"address": "jon@home.example"}],
    "phones": [{"number": "+1 415 555 0100", "type": "mobile"}],
    "company_name": "Acme Inc",
    "title": "Engineer",
    "tags": ["lead", "acme"],
    "custom_fields": {"tier": "gold", "seats": 5},
    "notes": "Met at the fair.",
    "consent": {"email": {"granted": True, "recorded_at": "2024-01-01T00:00:00Z"}},
}
B = {
    "name": "Jonathan Smith",
    "emails": [{"address": "jonathan.smith@gmail.com"}],
    "phones": [{"number": "+44 20 7946 0958"}, {"number": "+1 212 555 0199"}],
    "company_name": "ACME",
    "title": "CTO",
    "tags": ["vip", "lead"],
    "custom_fields": {"tier": "platinum", "region": "west"},
    "notes": "Prefers phone.",
    "dnd": True,
    "consent": {"email": {"granted": False, "recorded_at": "2024-06-01T00:00:00Z"}},
}


def _identities(contact: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    return (
        {e["address"] for e in contact["emails"]},
        {p["number"] for p in contact["phones"]},
        set(contact["tags"]),
    )


async def test_merge_keeps_every_email_phone_tag_custom_field_and_event(
    client: httpx.AsyncClient, tenant: Tenant, driven_clock: DrivenClock
) -> None:
    a = await make(client, tenant, A)
    driven_clock.advance(60)
    b = await make(client, tenant, B)
    before = [await get_contact(client, tenant, c) for c in (a, b)]
    events_before = {c: len(await contact_events(client, tenant, c)) for c in (a, b)}
    emails = set().union(*(_identities(c)[0] for c in before))
    phones = set().union(*(_identities(c)[1] for c in before))
    tags = set().union(*(_identities(c)[2] for c in before))
    driven_clock.advance(60)

    response = await merge(client, tenant, a, [b])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["merged"] == [b] and body["already_merged"] == []
    merged = body["contact"]
    assert merged["id"] == a
    assert _identities(merged) == (emails, phones, tags)
    assert len(merged["emails"]) == 3 and len(merged["phones"]) == 3  # each once
    assert [e["address"] for e in merged["emails"] if e["primary"]] == ["jsmith@acme.com"]  # the survivor's
    assert sum(p["primary"] for p in merged["phones"]) == 1
    # Custom fields unioned; the conflicting one takes the newest value (B was written later).
    assert merged["custom_fields"] == {"tier": "platinum", "seats": 5, "region": "west"}
    assert merged["title"] == "CTO"
    assert merged["notes"] == "Met at the fair.\n\nPrefers phone."
    assert merged["dnd"] is True  # an opt-out is never lost
    assert merged["consent"]["email"]["granted"] is False  # the latest recorded decision
    assert await get_contact(client, tenant, a) == merged

    timeline = await contact_events(client, tenant, a)
    # Every event of both contacts now tells the survivor's story, plus the merge itself.
    assert len(timeline) == events_before[a] + events_before[b] + 1
    merged_event = timeline[-1]
    assert merged_event["type"] == "contact.merged"
    data = merged_event["data"]
    assert [x["id"] for x in data["absorbed"]] == [b]
    assert data["absorbed"][0]["contact"]["title"] == "CTO"
    title = next(f for f in data["fields"] if f["field"] == "title")
    assert title == {"field": "title", "rule": "newest_non_empty", "from": b, "values": {a: "Engineer", b: "CTO"}}
    assert data["repointed"]["events.contact_id"] == events_before[b]
    assert data["dropped"] == []
    assert len(await workspace_events(client, tenant, "contact.merged")) == 1


async def test_the_callers_choice_wins_per_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await make(client, tenant, A)
    b = await make(client, tenant, B)
    response = await merge(
        client,
        tenant,
        b,
        [a],
        winners={"title": a, "custom_fields.tier": a, "name": a, "primary_email": a, "notes": b, "dnd": a},
    )
    assert response.status_code == 200, response.text
    merged = response.json()["contact"]
    assert merged["id"] == b
    assert merged["title"] == "Engineer"
    assert merged["custom_fields"]["tier"] == "gold"
    assert (merged["first_name"], merged["last_name"]) == ("Jon", "Smith")
    assert [e["address"] for e in merged["emails"] if e["primary"]] == ["jsmith@acme.com"]
    assert merged["notes"] == "Prefers phone."
    assert merged["dnd"] is False


async def test_bad_merge_requests_name_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await make(client, tenant, A)
    b = await make(client, tenant, B)
    c = await make(client, tenant, {"email": "third@example.com"})
    unknown = await merge(client, tenant, a, [b], winners={"shoe_size": b})
    assert problem(unknown, 422)["errors"][0]["field"] == "winners.shoe_size"
    outsider = await merge(client, tenant, a, [b], winners={"title": c})
    assert problem(outsider, 422)["errors"][0]["field"] == "winners.title"
    empty = await merge(client, tenant, a, [])
    assert problem(empty, 422)["errors"][0]["field"] == "absorb"
    problem(await merge(client, tenant, a, ["con_nonsense"]), 404)
    # Nothing happened.
    assert len((await get_contact(client, tenant, a))["emails"]) == 2
    assert (await get_contact(client, tenant, b))["id"] == b


async def test_absorbed_ids_resolve_to_the_survivor_through_every_door(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    a = await make(client, tenant, A)
    b = await make(client, tenant, B)
    assert (await merge(client, tenant, a, [b])).status_code == 200
    lc = {**tenant.headers, "Version": "2021-07-28"}
    lead = "lead_" + b.removeprefix("con_")

    native = await client.get(f"/v1/contacts/{b}", headers=tenant.headers)
    magicblocks = await client.get(f"/compat/magicblocks/v1/contacts/{b}", headers=tenant.headers)
    leads_v1 = await client.get(f"/compat/leads-v1/api/v1/leads/{lead}", headers=tenant.headers)
    leadconnector = await client.get(f"/compat/leadconnector/contacts/{b}", headers=lc)

    assert native.status_code == magicblocks.status_code == leads_v1.status_code == leadconnector.status_code == 200
    assert native.json()["id"] == magicblocks.json()["id"] == leadconnector.json()["contact"]["id"] == a
    assert leads_v1.json()["data"]["id"] == "lead_" + a.removeprefix("con_")
    # Writes through an absorbed id land on the survivor too.
    patched = await client.patch(f"/v1/contacts/{b}", json={"title": "CEO"}, headers=tenant.headers)
    assert patched.json()["id"] == a
    lc_put = await client.put(f"/compat/leadconnector/contacts/{b}", json={"companyName": "Acme Two"}, headers=lc)
    assert lc_put.status_code == 200, lc_put.text
    contact = await get_contact(client, tenant, a)
    assert (contact["title"], contact["company_name"]) == ("CEO", "Acme Two")
    # The timeline, by either id, is the survivor's.
    by_old_id = await client.get(f"/v1/contacts/{b}/timeline", headers=tenant.headers)
    assert by_old_id.json()["data"][0]["type"] == "contact.updated"


async def test_a_chain_of_merges_still_resolves_in_one_hop(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await make(client, tenant, {"email": "a@example.com"})
    b = await make(client, tenant, {"email": "b@example.com"})
    c = await make(client, tenant, {"email": "c@example.com"})
    assert (await merge(client, tenant, b, [a])).status_code == 200
    assert (await merge(client, tenant, c, [b])).status_code == 200
    for old in (a, b):
        assert (await get_contact(client, tenant, old))["id"] == c
    assert {e["address"] for e in (await get_contact(client, tenant, c))["emails"]} == {
        "a@example.com",
        "b@example.com",
        "c@example.com",
    }


async def test_repeating_a_merge_changes_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await make(client, tenant, A)
    b = await make(client, tenant, B)
    first = await merge(client, tenant, a, [b])
    again = await merge(client, tenant, a, [b])
    assert again.status_code == 200
    assert again.json()["merged"] == [] and again.json()["already_merged"] == [b]
    assert again.json()["contact"] == first.json()["contact"]
    assert len(await workspace_events(client, tenant, "contact.merged")) == 1
    # Merging the survivor "into" its absorbed id follows the redirect: still one contact, nothing lost.
    reverse = await merge(client, tenant, b, [a])
    assert reverse.json()["contact"]["id"] == a and reverse.json()["merged"] == []


async def test_not_duplicate_marks_carry_over_to_the_survivor(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await make(client, tenant, {"name": "Maria Garcia", "email": "maria.garcia@gmail.com"})
    b = await make(client, tenant, {"name": "Maria Garcia", "email": "mariagarcia@gmail.com"})
    c = await make(client, tenant, {"name": "Maria Garcia", "email": "maria.garcia+x@gmail.com"})
    await client.post(f"/v1/contacts/{b}/not-duplicates", json={"other_id": c}, headers=tenant.headers)
    assert (await merge(client, tenant, a, [b])).status_code == 200
    found = (await client.get(f"/v1/contacts/{a}/duplicates", headers=tenant.headers)).json()["data"]
    assert found == []


async def test_merging_another_workspaces_contact_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await make(client, tenant, A)
    theirs = await make(client, other_tenant, B)
    problem(await merge(client, tenant, mine, [theirs]), 404)
    problem(await merge(client, tenant, theirs, [mine]), 404)
    problem(await merge(client, tenant, mine, [mine], winners={"title": theirs}), 404)
    assert (await get_contact(client, other_tenant, theirs))["id"] == theirs
    # An id absorbed in one workspace does not resolve in another.
    other_b = await make(client, other_tenant, {"email": "x@example.com"})
    assert (await merge(client, other_tenant, theirs, [other_b])).status_code == 200
    problem(await client.get(f"/v1/contacts/{other_b}", headers=tenant.headers), 404)


async def test_deleting_the_survivor_leaves_no_redirect(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await make(client, tenant, A)
    b = await make(client, tenant, B)
    await merge(client, tenant, a, [b])
    assert (await client.delete(f"/v1/contacts/{a}", headers=tenant.headers)).status_code == 204
    problem(await client.get(f"/v1/contacts/{b}", headers=tenant.headers), 404)
