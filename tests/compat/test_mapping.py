"""The dialects' pure mapping functions, without a server."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from leadhub.compat import leadconnector, leads_v1, magicblocks
from leadhub.compat.common import iso_ms, rename_path, unix_seconds, value_at
from leadhub.contacts.schemas import ContactOut
from leadhub.core import ids

NOW = datetime(2024, 6, 15, 10, 0, 0, 123456, tzinfo=UTC)


def contact(**fields: object) -> ContactOut:
    base: dict[str, object] = {
        "id": ids.encode(ids.CONTACT, uuid.UUID(int=1)),
        "first_name": None,
        "middle_name": None,
        "last_name": None,
        "name": None,
        "emails": [],
        "phones": [],
        "company_name": None,
        "title": None,
        "website": None,
        "address": None,
        "country": None,
        "timezone": None,
        "date_of_birth": None,
        "source": None,
        "status": "new",
        "tags": [],
        "custom_fields": {},
        "dnd": False,
        "dnd_settings": {},
        "consent": {},
        "is_test": False,
        "user_knowledge": None,
        "notes": None,
        "assigned_to": None,
        "first_seen": None,
        "last_seen": None,
        "session_count": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return ContactOut.model_validate({**base, **fields})


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_iso_ms_reads_back_to_the_millisecond(at: datetime) -> None:
    text = iso_ms(at)
    assert text is not None and text.endswith("Z") and len(text) == 24
    back = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert back == at.replace(microsecond=at.microsecond // 1000 * 1000)
    assert unix_seconds(at) == int(at.timestamp())


@given(st.uuids())
def test_lead_ids_and_contact_ids_name_the_same_uuid(value: uuid.UUID) -> None:
    con = ids.encode(ids.CONTACT, value)
    lead = leads_v1.lead_id(con)
    assert lead.startswith("lead_") and leads_v1.contact_id(lead) == con
    assert leads_v1.contact_id(con) == con


@given(st.lists(st.sampled_from(["a", "b", "x"]), min_size=1, max_size=4), st.integers(0, 3))
def test_rename_path_renames_only_whole_prefixes(parts: list[str], index: int) -> None:
    path = ".".join(parts) + f"[{index}]"
    renamed = rename_path(path, {"a": "A", "a.b": "AB"})
    if parts[:2] == ["a", "b"]:
        assert renamed.startswith("AB")
    elif parts[0] == "a":
        assert renamed.startswith("A") and not renamed.startswith("AB")
    else:
        assert renamed == path


def test_value_at_follows_objects_and_lists() -> None:
    body = {"a": {"b": [{"c": 1}]}}
    assert value_at(body, "a.b[0].c") == 1
    assert value_at(body, "a.b[3].c") is None and value_at(body, "z") is None


def test_magicblocks_nested_and_flat_forms_mean_the_same_contact() -> None:
    nested = magicblocks.to_canonical(
        magicblocks.MbContactIn.model_validate(
            {
                "name": {"first": "New", "middle": "", "last": "Lead"},
                "emails": [{"address": "n@x.com", "primary": True}],
            }
        )
    )
    flat = magicblocks.to_canonical(
        magicblocks.MbContactIn.model_validate({"first_name": "New", "last_name": "Lead", "email": "n@x.com"})
    )
    assert (nested.first_name, nested.middle_name, nested.last_name) == ("New", None, "Lead")
    assert (flat.first_name, flat.last_name) == ("New", "Lead")
    assert nested.emails is not None and nested.emails[0].address == flat.email == "n@x.com"


def test_magicblocks_view_has_the_documented_shape() -> None:
    view = magicblocks.to_vendor(
        contact(
            first_name="Johan",
            last_name="Greg",
            custom_fields={"plan": "x"},
            emails=[{"address": "j@x.com", "type": "work", "primary": True}],
        ),
        "https://crm.example",
    )
    assert view["name"] == view["generatedName"] == {"first": "Johan", "middle": "", "last": "Greg"}
    assert view["primaryEmail"] == {"address": "j@x.com", "type": "work", "primary": True}
    assert view["primaryPhone"] is None and view["customFields"] == {"plan": "x"}
    assert view["firstSeen"] == view["modifiedAt"] == int(NOW.timestamp())
    assert view["link"] == f"https://crm.example/contacts/{view['id']}" and view["preview"] is False


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)))
def test_leadconnector_date_of_birth_object_becomes_iso(day: date) -> None:
    as_object = {"year": day.year, "month": day.month, "day": day.day}
    assert leadconnector.date_of_birth(as_object) == day.isoformat()
    body = leadconnector.LcContactIn.model_validate({"dateOfBirth": as_object})
    assert leadconnector.to_canonical(body).date_of_birth == day


@given(st.sets(st.sampled_from(list(leadconnector.DND_CHANNELS)), min_size=1))
def test_leadconnector_dnd_channels_round_trip(channels: set[str]) -> None:
    settings = {c: {"status": "active"} for c in channels}
    canonical = leadconnector.to_canonical(leadconnector.LcContactIn.model_validate({"dndSettings": settings}))
    assert canonical.dnd_settings is not None
    stored = canonical.dnd_settings.model_dump(exclude_none=True)
    assert leadconnector.to_vendor(contact(dnd_settings=stored), "ws_1", {})["dndSettings"] == settings


def test_leadconnector_custom_fields_map_through_their_keys() -> None:
    body = leadconnector.LcContactIn.model_validate({"customFields": [{"id": "cf_1", "value": 5}]})
    assert body.customFields is not None
    assert leadconnector.custom_field_refs(body) == [("customFields[0].id", "cf_1")]
    assert leadconnector.to_canonical(body, {"cf_1": "score"}).custom_fields == {"score": 5}
    view = leadconnector.to_vendor(contact(custom_fields={"score": 5, "free": "x"}), "ws_1", {"score": "cf_1"})
    assert view["customFields"] == [
        {"id": "cf_1", "key": "score", "value": 5},
        {"id": "free", "key": "free", "value": "x"},
    ]


def test_leads_v1_never_passes_read_only_fields_on() -> None:
    body = leads_v1.LeadIn.model_validate(
        {"id": "lead_x", "workspaceId": "ws_x", "createdAt": "2020-01-01", "status": "lost", "metadata": {"a": 1}}
    )
    canonical = leads_v1.to_canonical(body)
    assert canonical.model_fields_set == {"status", "custom_fields"}
