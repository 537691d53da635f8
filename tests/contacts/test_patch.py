"""PATCH changes only what it is given: absent fields stay, objects merge, lists replace."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.contacts.support import (
    DrivenClock,
    contact_events,
    create_contact,
    field_rules,
    get_contact,
    instant,
    problem,
)


async def _patch(client: httpx.AsyncClient, tenant: Tenant, contact_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.patch(f"/v1/contacts/{contact_id}", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_absent_fields_stay_as_they_are(client: httpx.AsyncClient, tenant: Tenant) -> None:
    before = await create_contact(
        client,
        tenant,
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace@example.com",
            "phone": "+14155550140",
            "tags": ["navy"],
            "custom_fields": {"rank": "admiral"},
            "status": "contacted",
            "address": {"city": "Arlington", "country": "US"},
            "dnd_settings": {"call": {"status": "active"}},
        },
    )

    after = await _patch(client, tenant, before["id"], {"title": "Rear Admiral"})

    assert after["title"] == "Rear Admiral"
    unchanged = {k: v for k, v in after.items() if k not in ("title", "updated_at")}
    assert unchanged == {k: v for k, v in before.items() if k not in ("title", "updated_at")}
    assert await get_contact(client, tenant, before["id"]) == after


async def test_custom_fields_merge_key_by_key_and_null_deletes_a_key(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await create_contact(client, tenant, {"custom_fields": {"a": "1", "b": "2", "c": "3"}})

    after = await _patch(client, tenant, contact["id"], {"custom_fields": {"b": "two", "c": None, "d": [4]}})

    assert after["custom_fields"] == {"a": "1", "b": "two", "d": [4]}


async def test_address_and_dnd_settings_merge_too(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await create_contact(
        client,
        tenant,
        {"address": {"line1": "1 Main St", "city": "Austin"}, "dnd_settings": {"sms": {"status": "active"}}},
    )

    after = await _patch(
        client,
        tenant,
        contact["id"],
        {"address": {"city": "Dallas"}, "dnd_settings": {"email": {"status": "permanent"}, "sms": None}},
    )

    assert (after["address"]["line1"], after["address"]["city"]) == ("1 Main St", "Dallas")
    assert after["dnd_settings"] == {"email": {"status": "permanent"}}


@pytest.mark.parametrize(
    ("given", "expected_key", "expected"),
    [
        ({"tags": ["b", "c"]}, "tags", ["b", "c"]),
        (
            {"emails": [{"address": "new@example.com", "type": "work"}]},
            "emails",
            [{"address": "new@example.com", "type": "work", "primary": True}],
        ),
        (
            {"phones": [{"number": "+14155550149", "type": "home"}]},
            "phones",
            [{"number": "+14155550149", "type": "home", "primary": True}],
        ),
    ],
)
async def test_a_given_list_replaces_the_stored_list(
    client: httpx.AsyncClient, tenant: Tenant, given: dict[str, Any], expected_key: str, expected: Any
) -> None:
    contact = await create_contact(
        client,
        tenant,
        {
            "tags": ["a", "b"],
            "emails": [{"address": "old1@example.com"}, {"address": "old2@example.com"}],
            "phones": [{"number": "+14155550141"}, {"number": "+14155550142"}],
        },
    )

    after = await _patch(client, tenant, contact["id"], given)

    assert after[expected_key] == expected
    # The replaced identities are free for another contact.
    if expected_key == "emails":
        await create_contact(client, tenant, {"email": "old1@example.com"})


async def test_the_email_shorthand_alone_replaces_only_the_primary_email(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await create_contact(
        client,
        tenant,
        {"emails": [{"address": "main@example.com", "primary": True}, {"address": "alt@example.com"}]},
    )

    after = await _patch(client, tenant, contact["id"], {"email": "New.Main@example.com"})

    assert after["emails"] == [
        {"address": "new.main@example.com", "type": "other", "primary": True},
        {"address": "alt@example.com", "type": "other", "primary": False},
    ]


@pytest.mark.parametrize(
    "field", ["status", "tags", "emails", "phones", "custom_fields", "dnd", "is_test", "session_count", "consent"]
)
async def test_null_for_a_field_that_cannot_be_empty_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, field: str
) -> None:
    contact = await create_contact(client, tenant, {"email": "keep@example.com", "tags": ["x"]})

    response = await client.patch(f"/v1/contacts/{contact['id']}", json={field: None}, headers=tenant.headers)

    assert field_rules(problem(response, 422)) == {field: "not_null"}
    assert await get_contact(client, tenant, contact["id"]) == contact


async def test_null_clears_a_nullable_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await create_contact(client, tenant, {"title": "CEO", "address": {"city": "Paris"}, "country": "FR"})
    after = await _patch(client, tenant, contact["id"], {"title": None, "address": None, "country": None})
    assert (after["title"], after["address"], after["country"]) == (None, None, None)


async def test_changing_a_name_part_regenerates_the_display_name(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await create_contact(client, tenant, {"first_name": "Ann", "last_name": "Lee"})
    after = await _patch(client, tenant, contact["id"], {"last_name": "Smith"})
    assert (after["first_name"], after["last_name"], after["name"]) == ("Ann", "Smith", "Ann Smith")


async def test_updated_at_moves_only_when_something_changed_and_a_no_op_writes_no_event(
    client: httpx.AsyncClient, tenant: Tenant, driven_clock: DrivenClock
) -> None:
    contact = await create_contact(
        client, tenant, {"email": "still@example.com", "title": "CTO", "tags": ["a"], "custom_fields": {"k": "v"}}
    )
    driven_clock.advance(60)

    same = await _patch(
        client,
        tenant,
        contact["id"],
        {"title": "CTO", "email": "STILL@example.com", "tags": ["a"], "custom_fields": {"k": "v"}},
    )

    assert same == contact
    assert [e["type"] for e in await contact_events(client, tenant, contact["id"])] == ["contact.created"]

    later = driven_clock.advance(60)
    changed = await _patch(client, tenant, contact["id"], {"title": "CEO"})

    assert instant(changed["updated_at"]) == later
    assert changed["created_at"] == contact["created_at"]
    events = await contact_events(client, tenant, contact["id"])
    assert [e["type"] for e in events] == ["contact.created", "contact.updated"]
    assert events[-1]["changes"]["title"] == {"before": "CTO", "after": "CEO"}


async def test_patching_an_unknown_or_foreign_contact_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    foreign = await create_contact(client, other_tenant, {"email": "foreign@example.com"})
    for contact_id in (foreign["id"], "con_nonsense", "not-an-id"):
        response = await client.patch(f"/v1/contacts/{contact_id}", json={"title": "x"}, headers=tenant.headers)
        assert problem(response, 404)["code"] == "not_found"
    assert (await get_contact(client, other_tenant, foreign["id"]))["title"] is None


async def test_the_phone_shorthand_alone_replaces_only_the_primary_phone(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await create_contact(
        client, tenant, {"phones": [{"number": "+14155550143", "type": "work"}, {"number": "+14155550144"}]}
    )

    after = await _patch(client, tenant, contact["id"], {"phone": "(415) 555-0145"})

    assert after["phones"] == [
        {"number": "+14155550145", "type": "other", "primary": True},
        {"number": "+14155550144", "type": "other", "primary": False},
    ]


async def test_patch_consent_null_deletes_that_purpose_only(client: httpx.AsyncClient, tenant: Tenant) -> None:
    consent = {"sms": {"granted": True, "source": "form"}, "email": {"granted": False}}
    created = await client.post(
        "/v1/contacts", json={"email": "consent@example.com", "consent": consent}, headers=tenant.headers
    )
    patched = await client.patch(
        f"/v1/contacts/{created.json()['id']}", json={"consent": {"sms": None}}, headers=tenant.headers
    )
    assert patched.status_code == 200
    assert patched.json()["consent"] == {"email": {"granted": False}}
