"""Bad input is answered with problem+json naming each field and rule, never echoing the value,
never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.contacts.support import field_rules, problem

SECRET = "zq7secret"


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"email": f"{SECRET}@"}, "email", "email"),
        ({"emails": [{"address": f"{SECRET}.example.com"}]}, "emails[0].address", "email"),
        ({"emails": [{"address": "ok@example.com", "type": SECRET}]}, "emails[0].type", "literal_error"),
        ({"phone": f"{SECRET}"}, "phone", "phone"),
        ({"phones": [{"number": "+14155550130"}, {"number": "+1 555"}]}, "phones[1].number", "phone"),
        ({"country": SECRET}, "country", "country"),
        ({"address": {"country": SECRET}}, "address.country", "country"),
        ({"timezone": f"Europe/{SECRET}"}, "timezone", "timezone"),
        ({"date_of_birth": "13/45/1990"}, "date_of_birth", "date"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "value_error"),
        ({"status": SECRET}, "status", "literal_error"),
        ({"session_count": -1}, "session_count", "greater_than_equal"),
        ({"dnd": SECRET}, "dnd", "bool_parsing"),
        ({"website": f"https://x.com/{SECRET} page"}, "website", "string_pattern_mismatch"),
        ({"dnd_settings": {"sms": {"status": SECRET}}}, "dnd_settings.sms.status", "literal_error"),
        ({"consent": {"Bad Purpose": {"granted": True}}}, "consent.Bad Purpose", "string_pattern_mismatch"),
        ({"tags": [""]}, "tags[0]", "string_too_short"),
        ({SECRET: 1}, SECRET, "extra_forbidden"),
        ({"emails": [{"address": "ok@example.com", SECRET: True}]}, f"emails[0].{SECRET}", "extra_forbidden"),
    ],
)
async def test_a_bad_field_is_named_with_its_rule(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str, rule: str
) -> None:
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)

    error = problem(response, 422)
    assert error["code"] == "validation_error"
    assert field_rules(error) == {field: rule}
    entry = error["errors"][0]
    assert entry["message"] and entry["kind"]
    if field != SECRET and not field.endswith(SECRET):
        assert SECRET not in response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "x" * 201}, "first_name"),
        ({"notes": "x" * 20_001}, "notes"),
        ({"name": "x" * 401}, "name"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"phone": "1" * 41}, "phone"),
        ({"tags": [f"t{i}" for i in range(101)]}, "tags"),
        ({"tags": ["t" * 101]}, "tags[0]"),
        ({"emails": [{"address": f"e{i}@example.com"} for i in range(21)]}, "emails"),
        ({"phones": [{"number": f"+1415555{i:04d}"} for i in range(21)]}, "phones"),
        ({"custom_fields": {f"k{i}": i for i in range(201)}}, "custom_fields"),
        ({"custom_fields": {"k" * 101: 1}}, "custom_fields.k" + "k" * 100),
    ],
)
async def test_oversize_strings_and_lists_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert [e["field"] for e in problem(response, 422)["errors"]] == [field]


async def test_several_bad_fields_give_several_errors(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"email": "nope", "country": "Atlantis", "status": "sleeping", "tags": ["ok", ""]}
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {
        "email": "email",
        "country": "country",
        "status": "literal_error",
        "tags[1]": "string_too_short",
    }


async def test_bad_phone_and_bad_custom_field_are_reported_together(client: httpx.AsyncClient, tenant: Tenant) -> None:
    definition = {"key": "score", "label": "Score", "type": "number"}
    assert (await client.post("/v1/custom-fields", json=definition, headers=tenant.headers)).status_code == 201
    body = {"phones": [{"number": "+14155550131"}, {"number": f"{SECRET}1"}], "custom_fields": {"score": SECRET}}
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {"phones[1].number": "phone", "custom_fields.score": "number"}
    assert SECRET not in response.text


async def test_malformed_json_is_a_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/contacts",
        content=b'{"email": "a@example.com",',
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert problem(response, 400)["code"] == "invalid_json"


async def test_a_lone_surrogate_in_a_string_is_not_a_500(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/contacts",
        content=b'{"first_name": "\\ud800"}',
        headers={**tenant.headers, "content-type": "application/json"},
    )
    assert response.status_code in (201, 400, 422), response.text


@pytest.mark.parametrize("body", [[], "text", 42, None, {"emails": "a@example.com"}, {"tags": "vip"}, {"address": []}])
async def test_json_of_the_wrong_shape_is_a_422(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> None:
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert problem(response, 422)["errors"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "\x00@example.com"},
        {"phone": "+\u0661\u0662\u0663"},
        {"custom_fields": {"nested": {"deep": [1, {"x": None}]}}},
        {"date_of_birth": "0000-00-00"},
        {"date_of_birth": 19900101},
        {"first_seen": "yesterday"},
        {"session_count": 2**63},
        {"country": "x" * 10_000},
        {"timezone": "../../etc/passwd"},
    ],
)
async def test_odd_input_is_never_a_500(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> None:
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code in (201, 400, 422), response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "a\x00b"}, "first_name"),
        ({"notes": "\x00"}, "notes"),
        ({"tags": ["ok", "b\x00d"]}, "tags"),
        ({"custom_fields": {"k": ["x\x00"]}}, "custom_fields"),
        ({"custom_fields": {"k\x00": "v"}}, "custom_fields"),
        ({"consent": {"sms": {"granted": True, "source": "\x00"}}}, "consent.sms.source"),
        ({"address": {"city": "\x00"}}, "address.city"),
    ],
)
async def test_a_nul_character_is_refused_on_both_engines(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert field_rules(problem(response, 422)) == {field: "nul_character"}


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (b'{"custom_fields": {"k": ' + b"[" * 9 + b"]" * 9 + b"}}", "max_depth"),
        (b'{"custom_fields": {"k": ' + b"[" * 300 + b"]" * 300 + b"}}", "max_depth"),
        (b'{"custom_fields": {"k": NaN}}', "finite_number"),
        (b'{"custom_fields": {"k": [1, {"a": Infinity}]}}', "finite_number"),
        (b'{"custom_fields": {"k": 1e400}}', "finite_number"),
        (b'{"custom_fields": {"k": "' + b"x" * 20_001 + b'"}}', "max_length"),
    ],
)
async def test_an_untyped_custom_field_value_is_bounded(
    client: httpx.AsyncClient, tenant: Tenant, raw: bytes, rule: str
) -> None:
    response = await client.post(
        "/v1/contacts", content=raw, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert field_rules(problem(response, 422)) == {"custom_fields.k": rule}


async def test_an_untyped_custom_field_value_within_bounds_is_kept(client: httpx.AsyncClient, tenant: Tenant) -> None:
    eight_deep: Any = "leaf"
    for _ in range(8):
        eight_deep = [eight_deep]
    body = {"custom_fields": {"deep": eight_deep, "big": 10**40, "text": "x" * 10_000}}
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    assert response.json()["custom_fields"] == body["custom_fields"]
