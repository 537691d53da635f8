"""Custom-field definitions: CRUD under /v1/custom-fields and the typing of contact values."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.contacts.support import create_contact, field_rules, problem


async def _define(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/custom-fields", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_a_definition_is_created_read_listed_changed_and_deleted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _define(client, tenant, {"key": "tier", "label": "Tier", "type": "select", "options": ["a", "b"]})
    assert created["id"].startswith("cf_")
    assert {k: created[k] for k in ("key", "label", "type", "options")} == {
        "key": "tier",
        "label": "Tier",
        "type": "select",
        "options": ["a", "b"],
    }
    url = f"/v1/custom-fields/{created['id']}"
    assert (await client.get(url, headers=tenant.headers)).json() == created
    await _define(client, tenant, {"key": "age", "label": "Age", "type": "number"})
    listing = (await client.get("/v1/custom-fields", headers=tenant.headers)).json()["data"]
    assert [d["key"] for d in listing] == ["age", "tier"]

    changed = await client.patch(url, json={"label": "Plan tier", "options": ["a", "b", "c"]}, headers=tenant.headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["label"], changed.json()["options"]) == ("Plan tier", ["a", "b", "c"])
    assert changed.json()["key"] == "tier"

    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    problem(await client.get(url, headers=tenant.headers), 404)


async def test_a_duplicate_key_is_a_conflict(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await _define(client, tenant, {"key": "score", "label": "Score", "type": "number"})
    response = await client.post(
        "/v1/custom-fields", json={"key": "score", "label": "Again", "type": "text"}, headers=tenant.headers
    )
    conflict = problem(response, 409)
    assert (conflict["field"], conflict["existing_id"]) == ("key", first["id"])


async def test_another_workspace_may_define_the_same_key_and_cannot_see_ours(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ours = await _define(client, tenant, {"key": "score", "label": "Score", "type": "number"})
    await _define(client, other_tenant, {"key": "score", "label": "Score", "type": "text"})
    problem(await client.get(f"/v1/custom-fields/{ours['id']}", headers=other_tenant.headers), 404)
    problem(await client.delete(f"/v1/custom-fields/{ours['id']}", headers=other_tenant.headers), 404)
    # Their text field does not type our contacts' values.
    contact = await create_contact(client, other_tenant, {"custom_fields": {"score": 5}})
    assert contact["custom_fields"] == {"score": "5"}


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"key": "tier", "label": "Tier", "type": "select"}, "options", "required"),
        ({"key": "tags2", "label": "T", "type": "multiselect", "options": []}, "options", "required"),
        ({"key": "dup", "label": "D", "type": "select", "options": ["a", "a"]}, "options", "unique"),
        ({"key": "x", "label": "X", "type": "color"}, "type", "literal_error"),
        ({"key": "1bad", "label": "X", "type": "text"}, "key", "string_pattern_mismatch"),
        ({"key": "has space", "label": "X", "type": "text"}, "key", "string_pattern_mismatch"),
        ({"key": "ok", "label": "", "type": "text"}, "label", "string_too_short"),
        ({"label": "No key", "type": "text"}, "key", "missing"),
        ({"key": "ok", "label": "X", "type": "text", "extra": 1}, "extra", "extra_forbidden"),
        ({"key": "ok", "label": "A\x00", "type": "text"}, "label", "nul_character"),
        ({"key": "ok", "label": "A", "type": "select", "options": ["a\x00"]}, "options", "nul_character"),
    ],
)
async def test_a_bad_definition_is_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str, rule: str
) -> None:
    response = await client.post("/v1/custom-fields", json=body, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {field: rule}


async def test_turning_a_field_into_a_select_without_options_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _define(client, tenant, {"key": "mood", "label": "Mood", "type": "text"})
    response = await client.patch(f"/v1/custom-fields/{created['id']}", json={"type": "select"}, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {"options": "required"}
    assert (await client.get(f"/v1/custom-fields/{created['id']}", headers=tenant.headers)).json()["type"] == "text"


@pytest.fixture
async def typed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for body in (
        {"key": "score", "label": "Score", "type": "number"},
        {"key": "renewal", "label": "Renewal", "type": "date"},
        {"key": "paid", "label": "Paid", "type": "boolean"},
        {"key": "tier", "label": "Tier", "type": "select", "options": ["gold", "silver"]},
        {"key": "channels", "label": "Channels", "type": "multiselect", "options": ["sms", "email", "call"]},
        {"key": "motto", "label": "Motto", "type": "text"},
    ):
        await _define(client, tenant, body)


@pytest.mark.parametrize(
    ("key", "given", "stored"),
    [
        ("score", "42", 42),
        ("score", " 2.5 ", 2.5),
        ("score", 7, 7),
        ("renewal", "12/31/2025", "2025-12-31"),
        ("renewal", "2025.01.02", "2025-01-02"),
        ("renewal", "2025-01-02T23:30:00-05:00", "2025-01-02"),
        ("paid", "true", True),
        ("paid", "No", False),
        ("paid", True, True),
        ("tier", "gold", "gold"),
        ("channels", ["email", "sms", "email"], ["email", "sms"]),
        ("channels", "call", ["call"]),
        ("motto", 12, "12"),
        ("undefined_key", {"any": ["shape", 1]}, {"any": ["shape", 1]}),
    ],
)
async def test_values_of_defined_fields_are_typed(
    client: httpx.AsyncClient, tenant: Tenant, typed: None, key: str, given: Any, stored: Any
) -> None:
    contact = await create_contact(client, tenant, {"custom_fields": {key: given}})
    assert contact["custom_fields"] == {key: stored}
    assert type(contact["custom_fields"][key]) is type(stored)


@pytest.mark.parametrize(
    ("key", "given", "rule"),
    [
        ("score", "forty-two", "number"),
        ("score", True, "number"),
        ("score", [1], "number"),
        ("renewal", "31/12/2025", "date"),
        ("renewal", 20251231, "type"),
        ("paid", "maybe", "boolean"),
        ("paid", 1, "boolean"),
        ("tier", "bronze", "option"),
        ("tier", ["gold"], "option"),
        ("channels", ["sms", "fax"], "option"),
        ("channels", {"sms": True}, "option"),
        ("motto", {"not": "text"}, "type"),
    ],
)
async def test_a_bad_value_of_a_defined_field_is_422_naming_it(
    client: httpx.AsyncClient, tenant: Tenant, typed: None, key: str, given: Any, rule: str
) -> None:
    response = await client.post("/v1/contacts", json={"custom_fields": {key: given}}, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {f"custom_fields.{key}": rule}


async def test_patch_and_upsert_type_values_too(client: httpx.AsyncClient, tenant: Tenant, typed: None) -> None:
    contact = await create_contact(client, tenant, {"email": "typed@example.com"})
    patched = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"custom_fields": {"score": "3"}}, headers=tenant.headers
    )
    assert patched.json()["custom_fields"] == {"score": 3}
    upserted = await client.post(
        "/v1/contacts/upsert",
        json={"email": "typed@example.com", "custom_fields": {"paid": "yes"}},
        headers=tenant.headers,
    )
    assert upserted.json()["custom_fields"] == {"score": 3, "paid": True}
    bad = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"custom_fields": {"tier": "plastic"}}, headers=tenant.headers
    )
    assert field_rules(problem(bad, 422)) == {"custom_fields.tier": "option"}


async def test_a_new_definition_types_later_writes_and_deleting_it_leaves_values(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    before = await create_contact(client, tenant, {"custom_fields": {"size": "large"}})
    definition = await _define(client, tenant, {"key": "size", "label": "Size", "type": "number"})

    refused = await client.post("/v1/contacts", json={"custom_fields": {"size": "large"}}, headers=tenant.headers)
    assert field_rules(problem(refused, 422)) == {"custom_fields.size": "number"}

    assert (await client.delete(f"/v1/custom-fields/{definition['id']}", headers=tenant.headers)).status_code == 204
    kept = await client.get(f"/v1/contacts/{before['id']}", headers=tenant.headers)
    assert kept.json()["custom_fields"] == {"size": "large"}
    await create_contact(client, tenant, {"custom_fields": {"size": "large"}})
