"""Creating a contact: every native field round-trips, and identities are normalized once."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.contacts.support import create_contact, field_rules, get_contact, instant, problem

FULL: dict[str, Any] = {
    "first_name": "Ada",
    "middle_name": "King",
    "last_name": "Lovelace",
    "emails": [
        {"address": "Ada@Example.COM", "type": "work", "primary": False},
        {"address": "ada.home@example.org", "type": "personal", "primary": True},
    ],
    "phones": [
        {"number": "(415) 555-0100", "type": "mobile"},
        {"number": "+44 20 7946 0958", "type": "work", "primary": True},
    ],
    "company_name": "Analytical Engines Ltd",
    "title": "Mathematician",
    "website": "https://ada.example.org",
    "address": {
        "line1": "12 St James's Square",
        "line2": "Flat 2",
        "city": "London",
        "state": "Greater London",
        "postal_code": "SW1Y 4JH",
        "country": "GBR",
    },
    "country": "United Kingdom",
    "timezone": "europe/london",
    "date_of_birth": "12/10/1985",
    "source": "conference",
    "status": "qualified",
    "tags": ["vip", "math"],
    "custom_fields": {"favourite_engine": "difference", "score": 7},
    "dnd": True,
    "dnd_settings": {"sms": {"status": "active", "message": "asked by phone", "code": "stop"}},
    "consent": {"marketing": {"granted": True, "source": "web form", "recorded_at": "2024-05-01T10:00:00Z"}},
    "is_test": True,
    "user_knowledge": "Prefers letters.",
    "notes": "Met at the Royal Society.",
    "assigned_to": "user_42",
    "first_seen": "2024-01-02T03:04:05+02:00",
    "last_seen": "2024-06-01T12:00:00Z",
    "session_count": 12,
}


async def test_every_native_field_round_trips(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create_contact(client, tenant, FULL)

    assert created["id"].startswith("con_")
    assert (created["first_name"], created["middle_name"], created["last_name"]) == ("Ada", "King", "Lovelace")
    assert created["name"] == "Ada King Lovelace"
    assert created["emails"] == [
        {"address": "ada@example.com", "type": "work", "primary": False},
        {"address": "ada.home@example.org", "type": "personal", "primary": True},
    ]
    assert created["phones"] == [
        {"number": "+14155550100", "type": "mobile", "primary": False},
        {"number": "+442079460958", "type": "work", "primary": True},
    ]
    assert created["company_name"] == "Analytical Engines Ltd"
    assert created["title"] == "Mathematician"
    assert created["website"] == "https://ada.example.org"
    assert created["address"] == {**FULL["address"], "country": "GB"}
    assert created["country"] == "GB"
    assert created["timezone"] == "Europe/London"
    assert created["date_of_birth"] == "1985-12-10"
    assert created["source"] == "conference"
    assert created["status"] == "qualified"
    assert created["tags"] == ["vip", "math"]
    assert created["custom_fields"] == {"favourite_engine": "difference", "score": 7}
    assert created["dnd"] is True
    assert created["dnd_settings"] == {"sms": {"status": "active", "message": "asked by phone", "code": "stop"}}
    assert created["consent"]["marketing"]["granted"] is True
    assert created["consent"]["marketing"]["source"] == "web form"
    assert instant(created["consent"]["marketing"]["recorded_at"]) == instant("2024-05-01T10:00:00Z")
    assert created["is_test"] is True
    assert created["user_knowledge"] == "Prefers letters."
    assert created["notes"] == "Met at the Royal Society."
    assert created["assigned_to"] == "user_42"
    assert instant(created["first_seen"]) == instant("2024-01-02T01:04:05Z")
    assert instant(created["last_seen"]) == instant("2024-06-01T12:00:00Z")
    assert created["session_count"] == 12
    assert instant(created["created_at"]) == instant(created["updated_at"])

    assert await get_contact(client, tenant, created["id"]) == created


async def test_a_bare_contact_gets_defaults(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create_contact(client, tenant, {"email": "solo@example.com"})

    assert created["status"] == "new"
    assert created["tags"] == [] and created["custom_fields"] == {} and created["phones"] == []
    assert created["dnd"] is False and created["is_test"] is False and created["session_count"] == 0
    assert created["dnd_settings"] == {} and created["consent"] == {}
    assert created["address"] is None and created["date_of_birth"] is None
    assert created["emails"] == [{"address": "solo@example.com", "type": "other", "primary": True}]


@pytest.mark.parametrize(
    ("given", "stored"),
    [("US", "US"), ("deu", "DE"), ("France", "FR"), ("united states of america", "US"), ("uk", "GB")],
)
async def test_countries_are_stored_as_alpha_2(
    client: httpx.AsyncClient, tenant: Tenant, given: str, stored: str
) -> None:
    created = await create_contact(client, tenant, {"country": given, "address": {"country": given}})
    assert created["country"] == stored
    assert created["address"]["country"] == stored


@pytest.mark.parametrize(
    "given",
    ["1985-12-10", "1985/12/10", "12/10/1985", "12-10-1985", "1985.12.10", "12.10.1985", "1985-12-10T08:30:00Z"],
)
async def test_date_of_birth_formats_are_read_as_one_date(
    client: httpx.AsyncClient, tenant: Tenant, given: str
) -> None:
    created = await create_contact(client, tenant, {"date_of_birth": given})
    assert created["date_of_birth"] == date(1985, 12, 10).isoformat()


async def test_national_phone_numbers_are_read_in_the_workspace_region(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create_contact(
        client, tenant, {"phones": [{"number": "415.555.0101"}, {"number": "0044 20 7946 0959"}]}
    )
    assert [p["number"] for p in created["phones"]] == ["+14155550101", "+442079460959"]


async def test_timezone_is_stored_in_its_canonical_spelling(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create_contact(client, tenant, {"timezone": " AMERICA/new_york "})
    assert created["timezone"] == "America/New_York"


async def test_a_single_name_is_split_into_parts(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create_contact(client, tenant, {"name": "Dr. Juan Q. Xavier de la Vega III"})
    assert created["name"] == "Dr. Juan Q. Xavier de la Vega III"
    assert (created["first_name"], created["middle_name"], created["last_name"]) == ("Juan", "Q. Xavier", "de la Vega")


async def test_without_any_name_the_display_name_comes_from_the_email(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create_contact(client, tenant, {"email": "johan.greg@x.com"})
    assert created["name"] == "Johan Greg"
    assert created["first_name"] is None and created["last_name"] is None


async def test_without_a_primary_flag_the_first_email_and_phone_are_primary(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create_contact(
        client,
        tenant,
        {
            "emails": [{"address": "a1@example.com"}, {"address": "a2@example.com"}],
            "phones": [{"number": "+14155550102"}, {"number": "+14155550103"}],
        },
    )
    assert [e["primary"] for e in created["emails"]] == [True, False]
    assert [p["primary"] for p in created["phones"]] == [True, False]


@pytest.mark.parametrize("field", ["emails", "phones"])
async def test_two_primaries_are_refused_naming_the_list(client: httpx.AsyncClient, tenant: Tenant, field: str) -> None:
    entries = (
        [{"address": "p1@example.com", "primary": True}, {"address": "p2@example.com", "primary": True}]
        if field == "emails"
        else [{"number": "+14155550104", "primary": True}, {"number": "+14155550105", "primary": True}]
    )
    response = await client.post("/v1/contacts", json={field: entries}, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {field: "one_primary"}


async def test_the_same_email_spelt_twice_in_one_contact_is_stored_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create_contact(
        client, tenant, {"emails": [{"address": "twice@example.com"}, {"address": "TWICE@example.com"}]}
    )
    assert created["emails"] == [{"address": "twice@example.com", "type": "other", "primary": True}]


async def test_a_time_without_an_offset_is_read_as_utc_and_answered_as_later_read(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create_contact(
        client, tenant, {"last_seen": "2024-06-01T12:00:00", "first_seen": "2024-06-01T14:00:00+02:00"}
    )
    assert instant(created["last_seen"]) == instant("2024-06-01T12:00:00Z") == instant(created["first_seen"])
    assert await get_contact(client, tenant, created["id"]) == created
