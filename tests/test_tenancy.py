"""Tenants are walls (the issue's named test): a key of workspace A gets 404 on every contact route for an id
of workspace B, and B's contacts never appear in A's lists, searches, lookups, events or timelines."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadhub.core import ids
from tests.conftest import Tenant

B_CONTACT = {
    "first_name": "Bertha",
    "last_name": "Bravo",
    "email": "bertha@bravo.example",
    "phone": "+1 415 555 0199",
    "company_name": "Bravo Corp",
    "tags": ["vip"],
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def b_records(client: httpx.AsyncClient, other_tenant: Tenant) -> dict[str, Any]:
    """Workspace B holds a contact (with email, phone, tag, a timeline) and a custom field."""
    contact = await client.post("/v1/contacts", json=B_CONTACT, headers=other_tenant.headers)
    assert contact.status_code == 201, contact.text
    cid = contact.json()["id"]
    await client.patch(f"/v1/contacts/{cid}", json={"title": "CEO"}, headers=other_tenant.headers)
    field = await client.post(
        "/v1/custom-fields", json={"key": "tier", "label": "Tier", "type": "text"}, headers=other_tenant.headers
    )
    assert field.status_code == 201, field.text
    return {"contact": contact.json(), "field": field.json()}


async def _assert_b_untouched(client: httpx.AsyncClient, b: Tenant, records: dict[str, Any]) -> None:
    cid = records["contact"]["id"]
    contact = (await client.get(f"/v1/contacts/{cid}", headers=b.headers)).json()
    assert contact["title"] == "CEO" and contact["tags"] == ["vip"] and contact["first_name"] == "Bertha"
    field = await client.get(f"/v1/custom-fields/{records['field']['id']}", headers=b.headers)
    assert field.status_code == 200 and field.json()["label"] == "Tier"


@pytest.mark.parametrize("workspace_key", [False, True], ids=["org-key", "workspace-key"])
async def test_every_contact_route_is_404_for_an_id_of_another_workspace(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, b_records: dict[str, Any], workspace_key: bool
) -> None:
    a = bearer(await tenant.make_key(["admin"], workspace=workspace_key))
    cid = b_records["contact"]["id"]
    fid = b_records["field"]["id"]
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/v1/contacts/{cid}", None),
        ("PATCH", f"/v1/contacts/{cid}", {"first_name": "Hijacked"}),
        ("DELETE", f"/v1/contacts/{cid}", None),
        ("POST", f"/v1/contacts/{cid}/tags", {"tags": ["stolen"]}),
        ("DELETE", f"/v1/contacts/{cid}/tags", {"tags": ["vip"]}),
        ("GET", f"/v1/contacts/{cid}/timeline", None),
        ("GET", f"/v1/custom-fields/{fid}", None),
        ("PATCH", f"/v1/custom-fields/{fid}", {"label": "Hijacked"}),
        ("DELETE", f"/v1/custom-fields/{fid}", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=a)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        # Indistinguishable from an id that never existed.
        never = path.replace(cid, "con_00000000000000000000000000").replace(fid, "cf_00000000000000000000000000")
        missing = await client.request(method, never, json=body, headers=a)
        assert missing.status_code == 404
        assert missing.json()["detail"] == response.json()["detail"]
    # The same ids as bare UUIDs (the dialects' form) must not slip through either.
    bare_contact = ids.decode(ids.CONTACT, cid)
    bare_field = ids.decode(ids.CUSTOM_FIELD, fid)
    assert (await client.get(f"/v1/contacts/{bare_contact}", headers=a)).status_code == 404
    assert (await client.get(f"/v1/custom-fields/{bare_field}", headers=a)).status_code == 404
    assert (await client.get(f"/v1/contacts/{bare_contact}", headers=other_tenant.headers)).status_code == 200
    await _assert_b_untouched(client, other_tenant, b_records)


async def test_b_contacts_never_appear_in_a_lists_searches_or_lookups(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, b_records: dict[str, Any]
) -> None:
    a = bearer(await tenant.make_key(["contacts.read"], workspace=True))
    queries: list[dict[str, Any]] = [
        {},
        {"q": "Bertha"},
        {"q": "bravo"},
        {"email": B_CONTACT["email"]},
        {"phone": B_CONTACT["phone"]},
        {"tag": "vip"},
    ]
    for params in queries:
        response = await client.get("/v1/contacts", params=params, headers=a)
        assert response.status_code == 200, (params, response.text)
        assert response.json()["data"] == [], params
        # The same query finds it in B: the filter itself works.
        if params:
            found = (await client.get("/v1/contacts", params=params, headers=other_tenant.headers)).json()["data"]
            assert [c["id"] for c in found] == [b_records["contact"]["id"]], params
    for params in ({"email": B_CONTACT["email"]}, {"phone": B_CONTACT["phone"]}):
        assert (await client.get("/v1/contacts/lookup", params=params, headers=a)).status_code == 404
        assert (await client.get("/v1/contacts/lookup", params=params, headers=other_tenant.headers)).status_code == 200
    fields = (await client.get("/v1/custom-fields", headers=a)).json()["data"]
    assert fields == []


async def test_a_may_reuse_b_email_and_phone_without_a_conflict(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, b_records: dict[str, Any]
) -> None:
    body = {"first_name": "Alice", "email": B_CONTACT["email"], "phone": B_CONTACT["phone"]}
    created = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    assert created.json()["id"] != b_records["contact"]["id"]
    upserted = await client.post("/v1/contacts/upsert", json={"email": B_CONTACT["email"]}, headers=tenant.headers)
    assert upserted.status_code == 200 and upserted.json()["id"] == created.json()["id"]
    # A's custom field key may equal B's.
    field = await client.post(
        "/v1/custom-fields", json={"key": "tier", "label": "A tier", "type": "text"}, headers=tenant.headers
    )
    assert field.status_code == 201, field.text
    await _assert_b_untouched(client, other_tenant, b_records)


async def test_a_events_and_timelines_never_show_b(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, b_records: dict[str, Any]
) -> None:
    mine = (await client.post("/v1/contacts", json={"first_name": "Alice"}, headers=tenant.headers)).json()
    events = (await client.get("/v1/events", params={"limit": 200}, headers=tenant.headers)).json()
    assert [e["resource_id"] for e in events["data"]] == [mine["id"]]
    assert events["data"][0]["seq"] == 1
    b_contact = b_records["contact"]["id"]
    assert b_contact not in (await client.get("/v1/events", headers=tenant.headers)).text
    timeline = (await client.get(f"/v1/contacts/{mine['id']}/timeline", headers=tenant.headers)).json()["data"]
    assert [e["type"] for e in timeline] == ["contact.created"]
    # B's log holds its own events only.
    theirs = (await client.get("/v1/events", headers=other_tenant.headers)).json()["data"]
    assert {e["type"] for e in theirs} == {"contact.created", "contact.updated", "custom_field.created"}
    assert mine["id"] not in str(theirs)


async def test_two_workspaces_of_one_organization_are_walled_too(client: httpx.AsyncClient, tenant: Tenant) -> None:
    second = await tenant.add_workspace("second")
    in_second = {**tenant.headers, "LeadHub-Workspace": second}
    created = await client.post("/v1/contacts", json=B_CONTACT, headers=in_second)
    assert created.status_code == 201
    cid = created.json()["id"]
    assert (await client.get(f"/v1/contacts/{cid}", headers=tenant.headers)).status_code == 404
    assert (await client.patch(f"/v1/contacts/{cid}", json={"title": "x"}, headers=tenant.headers)).status_code == 404
    assert (await client.get(f"/v1/contacts/{cid}/timeline", headers=tenant.headers)).status_code == 404
    lookup = await client.get("/v1/contacts/lookup", params={"email": B_CONTACT["email"]}, headers=tenant.headers)
    assert lookup.status_code == 404
    assert (await client.get("/v1/contacts", params={"q": "Bertha"}, headers=tenant.headers)).json()["data"] == []
    assert (await client.get("/v1/events", headers=tenant.headers)).json()["data"] == []
    # Same email in the first workspace: no 409 across the wall.
    assert (await client.post("/v1/contacts", json=B_CONTACT, headers=tenant.headers)).status_code == 201
    assert (await client.get(f"/v1/contacts/{cid}", headers=in_second)).json()["title"] is None
