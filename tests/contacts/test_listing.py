"""GET /v1/contacts filters and search."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from leadhub.contacts import listing
from tests.conftest import Tenant
from tests.contacts.support import DrivenClock, create_contact, field_rules, problem


async def _names(client: httpx.AsyncClient, tenant: Tenant, params: Any) -> set[str]:
    response = await client.get("/v1/contacts", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return {c["first_name"] for c in response.json()["data"]}


@pytest.fixture
async def people(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for body in (
        {
            "first_name": "Alice",
            "last_name": "Archer",
            "email": "alice@acme.io",
            "phone": "+14155550180",
            "status": "new",
            "source": "web",
            "tags": ["vip", "eu"],
            "company_name": "Acme Rockets",
            "custom_fields": {"plan": "gold", "seats": 10},
        },
        {
            "first_name": "Bob",
            "email": "bob@bobco.com",
            "status": "qualified",
            "source": "ads",
            "tags": ["vip"],
            "custom_fields": {"plan": "silver", "seats": 3},
        },
        {
            "first_name": "Cleo",
            "email": "cleo@example.org",
            "phone": "+442079460111",
            "status": "lost",
            "source": "web",
            "tags": ["eu"],
            "custom_fields": {"plan": "gold"},
        },
    ):
        await create_contact(client, tenant, body)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"Alice", "Bob", "Cleo"}),
        ({"status": "new"}, {"Alice"}),
        ([("status", "new"), ("status", "lost")], {"Alice", "Cleo"}),
        ({"source": "web"}, {"Alice", "Cleo"}),
        ({"tag": "vip"}, {"Alice", "Bob"}),
        ([("tag", "vip"), ("tag", "eu")], {"Alice"}),
        ({"tag": "nobody"}, set()),
        ({"email": "BOB@bobco.com"}, {"Bob"}),
        ({"phone": "(415) 555-0180"}, {"Alice"}),
        ({"phone": "+44 20 7946 0111"}, {"Cleo"}),
        ({"custom_field": "plan:gold"}, {"Alice", "Cleo"}),
        ([("custom_field", "plan:gold"), ("status", "lost")], {"Cleo"}),
        ({"q": "ARCHER"}, {"Alice"}),
        ({"q": "bobco"}, {"Bob"}),
        ({"q": "rockets"}, {"Alice"}),
        ({"q": "555018"}, {"Alice"}),
        ({"q": "%"}, set()),
        ({"q": "_"}, set()),
    ],
)
async def test_filters_narrow_the_list(
    client: httpx.AsyncClient, tenant: Tenant, people: None, params: Any, expected: set[str]
) -> None:
    assert await _names(client, tenant, params) == expected


async def test_another_workspaces_contacts_never_show(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, people: None
) -> None:
    assert await _names(client, other_tenant, {}) == set()
    assert await _names(client, other_tenant, {"email": "bob@bobco.com"}) == set()


async def test_custom_field_filters_follow_the_definition_type(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for definition in (
        {"key": "seats", "label": "Seats", "type": "number"},
        {"key": "paid", "label": "Paid", "type": "boolean"},
    ):
        assert (await client.post("/v1/custom-fields", json=definition, headers=tenant.headers)).status_code == 201
    await create_contact(client, tenant, {"first_name": "Ten", "custom_fields": {"seats": "10", "paid": "yes"}})
    await create_contact(client, tenant, {"first_name": "Two", "custom_fields": {"seats": 2.5, "paid": False}})

    assert await _names(client, tenant, {"custom_field": "seats:10"}) == {"Ten"}
    assert await _names(client, tenant, {"custom_field": "seats:10.0"}) == {"Ten"}
    assert await _names(client, tenant, {"custom_field": "seats:2.5"}) == {"Two"}
    assert await _names(client, tenant, {"custom_field": "paid:true"}) == {"Ten"}
    assert await _names(client, tenant, {"custom_field": "paid:false"}) == {"Two"}
    response = await client.get("/v1/contacts", params={"custom_field": "seats:many"}, headers=tenant.headers)
    assert problem(response, 422)["errors"][0]["rule"] == "number"


async def test_time_window_filters(client: httpx.AsyncClient, tenant: Tenant, driven_clock: DrivenClock) -> None:
    start = driven_clock.now
    early = await create_contact(client, tenant, {"first_name": "Early"})
    driven_clock.advance(3600)
    await create_contact(client, tenant, {"first_name": "Late"})
    driven_clock.advance(3600)
    await client.patch(f"/v1/contacts/{early['id']}", json={"title": "touched"}, headers=tenant.headers)

    def at(seconds: int) -> str:
        return (start + timedelta(seconds=seconds)).isoformat()

    assert await _names(client, tenant, {"created_after": at(1800)}) == {"Late"}
    assert await _names(client, tenant, {"created_before": at(1800)}) == {"Early"}
    assert await _names(client, tenant, {"updated_before": at(1800)}) == set()
    assert await _names(client, tenant, {"updated_after": at(5400)}) == {"Early"}
    assert await _names(client, tenant, {"created_after": at(0), "created_before": at(3600)}) == {"Early"}


async def test_sorting_by_updated_at_puts_the_last_touched_first(
    client: httpx.AsyncClient, tenant: Tenant, driven_clock: DrivenClock
) -> None:
    first = await create_contact(client, tenant, {"first_name": "First"})
    driven_clock.advance()
    await create_contact(client, tenant, {"first_name": "Second"})
    driven_clock.advance()
    await client.patch(f"/v1/contacts/{first['id']}", json={"title": "again"}, headers=tenant.headers)

    async def order(sort: str) -> list[str]:
        data = (await client.get("/v1/contacts", params={"sort": sort}, headers=tenant.headers)).json()["data"]
        return [c["first_name"] for c in data]

    assert await order("-created_at") == ["Second", "First"]
    assert await order("created_at") == ["First", "Second"]
    assert await order("-updated_at") == ["First", "Second"]
    assert await order("updated_at") == ["Second", "First"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"custom_field": "no-colon"}, "custom_field"),
        ({"created_after": "last tuesday"}, "created_after"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a\x00"}, "q"),
        ({"source": "\x00"}, "source"),
        ({"tag": "\x00"}, "tag"),
        ({"status": "\x00"}, "status[0]"),
        ({"custom_field": "k:\x00"}, "custom_field"),
    ],
)
async def test_bad_filters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], field: str
) -> None:
    response = await client.get("/v1/contacts", params=params, headers=tenant.headers)
    assert list(field_rules(problem(response, 422))) == [field]


async def test_listing_with_an_unknown_status_is_refused_naming_the_parameter(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/v1/contacts", params={"status": "bogus"}, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "status[0]"


async def test_tag_filters_answer_the_same_whether_a_tag_is_rare_or_common(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rare tag is read from its carriers, a common one by walking contacts in order (the candidate cap
    decides which); both give the same pages in the same order."""
    for i in range(7):
        tags = ["all"] + (["odd"] if i % 2 else []) + (["three"] if i % 3 == 0 else [])
        await create_contact(client, tenant, {"first_name": f"Tagged{i}", "tags": tags})
    await create_contact(client, other_tenant, {"first_name": "Elsewhere", "tags": ["all", "odd", "three"]})

    async def pages(params: list[tuple[str, str]]) -> list[str]:
        names: list[str] = []
        cursor = None
        while True:
            query = params + [("limit", "2")] + ([("cursor", cursor)] if cursor else [])
            body = (await client.get("/v1/contacts", params=query, headers=tenant.headers)).json()
            names += [c["first_name"] for c in body["data"]]
            if not (cursor := body["next_cursor"]):
                return names

    cases = [[("tag", "odd")], [("tag", "all"), ("tag", "three")], [("tag", "odd"), ("tag", "three")], [("tag", "no")]]
    rare = [await pages(params) for params in cases]
    monkeypatch.setattr(listing, "_FTS_CANDIDATES", 1)
    common = [await pages(params) for params in cases]
    assert rare == common
    assert rare == [
        ["Tagged5", "Tagged3", "Tagged1"],
        ["Tagged6", "Tagged3", "Tagged0"],
        ["Tagged3"],
        [],
    ]
