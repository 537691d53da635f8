"""23blocks (seed 003): every example of the page replayed as written (only the base URL, token, AppId
and the placeholder ids of rows made in setup replaced), then what the vendor's client library sends
beyond the page ("clients in the wild")."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from leadhub.core import ids
from tests.compat.support import load, substitute
from tests.conftest import Tenant
from tests.pipeline_clock import DrivenClock, driven_clock

__all__ = ["driven_clock"]

DOCUMENT = load("blocks23.json")
BASE = "/compat/23blocks"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
JSON_TYPES = ("application/vnd.api+json", "application/json")


def differences(expected: Any, actual: Any, path: str = "body", exact: bool = False) -> Iterator[str]:
    """Where ``actual`` departs from a documented body: documented keys must be there with equal values
    (extra keys allowed unless ``exact``); ``~uuid`` / ``~ts`` match a UUID / a ``…T…Z`` time."""
    if expected in ("~uuid", "~ts"):
        pattern = UUID if expected == "~uuid" else TIME
        if not (isinstance(actual, str) and pattern.match(actual)):
            yield f"{path}: {actual!r} is not {expected}"
    elif isinstance(expected, dict):
        if not isinstance(actual, dict):
            yield f"{path}: expected an object, got {actual!r}"
            return
        for key in expected:
            if key not in actual:
                yield f"{path}.{key}: missing"
            else:
                yield from differences(expected[key], actual[key], f"{path}.{key}", exact)
        if exact:
            yield from (f"{path}.{k}: not documented" for k in actual if k not in expected)
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            yield f"{path}: expected {len(expected)} items, got {actual!r}"
            return
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            yield from differences(e, a, f"{path}[{i}]", exact)
    elif type(expected) is not type(actual) or expected != actual:
        yield f"{path}: expected {expected!r}, got {actual!r}"


def credentials(tenant: Tenant, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "AppId": tenant.ws_public_id}


async def set_up(client: httpx.AsyncClient, tenant: Tenant, key: str) -> dict[str, str]:
    """Run the document's setup; the placeholder → value map for its requests."""
    values = {"$BLOCKS_API_URL": BASE, "$BLOCKS_AUTH_TOKEN": key, "$BLOCKS_API_KEY": tenant.ws_public_id}
    for step in DOCUMENT["setup"]:
        response = await client.request(
            step["method"],
            substitute(step["path"], values),
            json=substitute(step["body"], values),
            headers={**tenant.headers, **credentials(tenant, key)},
        )
        assert response.status_code == 201, response.text
        made = response.json()
        made_id = made["data"]["id"] if "data" in made else made["id"]
        values[step["as"]] = made_id if UUID.match(made_id) else str(ids.decode(made_id.split("_")[0], made_id))
    return values


@pytest.mark.parametrize("example", DOCUMENT["examples"], ids=[e["name"] for e in DOCUMENT["examples"]])
async def test_seed_example_answers_as_documented(
    client: httpx.AsyncClient, tenant: Tenant, driven_clock: DrivenClock, example: dict[str, Any]
) -> None:
    key = await tenant.make_key(["deals.*", "tasks.*", "contacts.*", "companies.*"], workspace=True)
    values = await set_up(client, tenant, key)
    request = substitute(example["request"], values)
    response = await client.request(
        request["method"], request["path"], headers=request["headers"], json=request.get("body")
    )
    expected = example["expect"]
    assert response.status_code == expected["status"], response.text
    if expected["status"] == 204:
        assert response.content == b""
        return
    assert response.headers["content-type"].startswith(JSON_TYPES)
    problems = list(
        differences(substitute(expected["body"], values), response.json(), exact=expected.get("exact", False))
    )
    assert not problems, "\n".join(problems)


def test_the_example_file_covers_every_request_of_the_page() -> None:
    page = (
        "GET /leads/", "GET /leads/?page=1&records=20", "GET /leads/lead-uuid-123", "POST /leads/",
        "PUT /leads/lead-uuid-123/", "DELETE /leads/lead-uuid-123/", "GET /leads/lead-uuid-123/follows",
        "GET /leads/lead-uuid-123/follows/follow-uuid-123", "POST /leads/lead-uuid-123/follows",
        "PUT /leads/lead-uuid-123/follows/follow-uuid-123", "DELETE /leads/lead-uuid-123/follows/follow-uuid-123",
    )  # fmt: skip
    sent = {
        f"{e['request']['method']} {e['request']['path'].removeprefix('$BLOCKS_API_URL')}" for e in DOCUMENT["examples"]
    }
    assert set(page) <= sent


# ---------------------------------------------------------------- clients in the wild


@pytest.fixture
async def key(tenant: Tenant) -> str:
    return await tenant.make_key(["deals.*", "tasks.*", "contacts.*"], workspace=True)


async def create_lead(client: httpx.AsyncClient, headers: dict[str, str], **attrs: Any) -> dict[str, Any]:
    response = await client.post(f"{BASE}/leads", json={"lead": attrs}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


async def test_both_credentials_are_required_and_the_app_id_must_be_the_keys_workspace(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, key: str
) -> None:
    bearer = {"Authorization": f"Bearer {key}"}
    for headers in (
        bearer,
        {"AppId": tenant.ws_public_id},
        {**bearer, "AppId": other_tenant.ws_public_id},
        {**bearer, "AppId": await tenant.add_workspace()},
        {**bearer, "AppId": "not-a-workspace"},
    ):
        response = await client.get(f"{BASE}/leads", headers=headers)
        assert response.status_code == 401, (headers, response.text)
        (error,) = response.json()["errors"]
        assert {"status", "code", "title", "detail"} <= set(error) and error["status"] == "401"
    for accepted in (
        {**bearer, "AppId": str(tenant.ws_id)},
        {**bearer, "x-api-key": tenant.ws_public_id, "tenant-id": "anything"},
    ):
        assert (await client.get(f"{BASE}/leads", headers=accepted)).status_code == 200


async def test_a_person_shaped_lead_becomes_a_deal_with_its_contact(
    client: httpx.AsyncClient, tenant: Tenant, key: str
) -> None:
    headers = credentials(tenant, key)
    made = await create_lead(
        client, headers,
        first_name="Ada", last_name="Lovelace", lead_email="ada@example.com", phone_number="+1 555 456 7890",
        web_site="https://ada.example", notes="met at the conference", source="event", tags=["vip"],
        payload={"utm": "x"}, status="active", contact_status="qualified", enabled=True, linkedin="ada-l",
    )  # fmt: skip
    attrs = made["attributes"]
    assert attrs["name"] == "Ada Lovelace"
    assert (attrs["first_name"], attrs["lead_email"], attrs["phone_number"]) == (
        "Ada",
        "ada@example.com",
        "+15554567890",
    )
    assert (attrs["notes"], attrs["tags"], attrs["payload"], attrs["linkedin"]) == (
        "met at the conference",
        ["vip"],
        {"utm": "x"},
        "ada-l",
    )
    assert (attrs["contact_status"], attrs["enabled"], attrs["status"]) == ("qualified", True, "active")
    contact = (await client.get(f"/v1/contacts/{attrs['contact_id']}", headers=tenant.headers)).json()
    assert (contact["emails"][0]["address"], contact["status"]) == ("ada@example.com", "qualified")
    # The same person again is found by email, not duplicated.
    again = await create_lead(client, headers, first_name="Ada", lead_email="ADA@example.com", name="Second deal")
    assert again["attributes"]["contact_id"] == attrs["contact_id"]
    # Bare UUIDs resolve through the native API too.
    native = await client.get(f"/v1/deals/{made['id']}", headers=tenant.headers)
    assert native.status_code == 200 and native.json()["contact_id"] == contact["id"]


async def test_follow_aliases_and_overdue_as_status_and_attribute(
    client: httpx.AsyncClient, tenant: Tenant, key: str, driven_clock: DrivenClock
) -> None:
    headers = credentials(tenant, key)
    made = await create_lead(client, headers, name="Deal")
    response = await client.post(
        f"{BASE}/leads/{made['id']}/follows",
        json={"follow": {"code": "Call", "notes": "ask about budget", "next_action_at": "2026-01-10T11:00:00Z"}},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()["data"]["attributes"]
    assert (created["title"], created["description"], created["due_date"]) == (
        "Call",
        "ask about budget",
        "2026-01-10T11:00:00Z",
    )
    assert (created["status"], created["overdue"]) == ("pending", False)
    path = f"{BASE}/leads/{made['id']}/follows/{created['unique_id']}"
    driven_clock.advance(minutes=30, microseconds=1)
    late = (await client.get(path, headers=headers)).json()["data"]["attributes"]
    assert (late["status"], late["overdue"]) == ("overdue", True)
    done = await client.put(path, json={"follow": {"status": "completed"}}, headers=headers)
    assert (done.json()["data"]["attributes"]["status"], done.json()["data"]["attributes"]["overdue"]) == (
        "completed",
        False,
    )


async def test_pages_carry_both_meta_vocabularies_and_filters_and_sort_apply(
    client: httpx.AsyncClient, tenant: Tenant, key: str
) -> None:
    headers = credentials(tenant, key)
    for name, value, source in (("Alpha", 10, "web"), ("Beta", 30, "web"), ("Gamma", 20, "referral")):
        await create_lead(client, headers, name=name, value=value, source=source)
    first = (await client.get(f"{BASE}/leads?page=1&records=2&sort=-value", headers=headers)).json()
    assert [d["attributes"]["name"] for d in first["data"]] == ["Beta", "Gamma"]
    assert first["meta"] == {
        "totalPages": 2, "totalRecords": 3, "current_page": 1, "total_pages": 2, "total_count": 3, "per_page": 2
    }  # fmt: skip
    second = (await client.get(f"{BASE}/leads?page=2&records=2&sort=-value", headers=headers)).json()
    assert [d["attributes"]["name"] for d in second["data"]] == ["Alpha"]
    web = (await client.get(f"{BASE}/leads?source=web&search=alp", headers=headers)).json()
    assert [d["attributes"]["name"] for d in web["data"]] == ["Alpha"]
    bad = await client.get(f"{BASE}/leads?sort=-colour", headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["source"] == {"parameter": "sort"}


async def test_any_slashes_answer_and_deleted_leads_go_to_the_trash_and_come_back(
    client: httpx.AsyncClient, tenant: Tenant, key: str
) -> None:
    headers = credentials(tenant, key)
    made = await create_lead(client, headers, name="Deal", value="12.5")
    assert made["attributes"]["value"] == 12.5
    for path in (f"{BASE}//leads/{made['id']}", f"{BASE}/leads/{made['id']}/", f"{BASE}/leads/{made['id']}"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/vnd.api+json"
    assert (await client.delete(f"{BASE}//leads/{made['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"{BASE}/leads/{made['id']}", headers=headers)).status_code == 404
    trash = (await client.get(f"{BASE}/leads/trash/show", headers=headers)).json()
    assert [d["id"] for d in trash["data"]] == [made["id"]] and trash["meta"]["totalRecords"] == 1
    recovered = await client.put(f"{BASE}/leads/{made['id']}/recover", headers=headers)
    assert recovered.status_code == 200 and recovered.json()["data"]["attributes"]["name"] == "Deal"
    assert (await client.get(f"{BASE}/leads", headers=headers)).json()["meta"]["totalRecords"] == 1


async def test_field_errors_point_into_the_request_document(
    client: httpx.AsyncClient, tenant: Tenant, key: str
) -> None:
    headers = credentials(tenant, key)
    response = await client.post(
        f"{BASE}/leads", json={"lead": {"name": "x", "stage": "closing", "account_id": "nope"}}, headers=headers
    )
    assert response.status_code == 422
    pointers = {e["source"]["pointer"] for e in response.json()["errors"]}
    assert pointers <= {"/lead/stage", "/lead/account_id"} and pointers
    for entry in response.json()["errors"]:
        assert {"status", "code", "title", "detail", "source"} <= set(entry)
    missing = await client.post(f"{BASE}/leads", json={"lead": {"source": "web"}}, headers=headers)
    assert [e["source"]["pointer"] for e in missing.json()["errors"]] == ["/lead/name"]
    broken = await client.post(f"{BASE}/leads", content=b"{", headers={**headers, "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["errors"][0]["status"] == "400"


async def test_another_workspace_cannot_reach_leads_or_follows(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, key: str
) -> None:
    made = await create_lead(client, credentials(tenant, key), name="Deal")
    follow = await client.post(
        f"{BASE}/leads/{made['id']}/follows", json={"follow": {"title": "t"}}, headers=credentials(tenant, key)
    )
    follow_id = follow.json()["data"]["id"]
    theirs = credentials(other_tenant, other_tenant.key)
    for method, path in (
        ("GET", f"/leads/{made['id']}"),
        ("PUT", f"/leads/{made['id']}"),
        ("DELETE", f"/leads/{made['id']}"),
        ("PUT", f"/leads/{made['id']}/recover"),
        ("GET", f"/leads/{made['id']}/follows"),
        ("POST", f"/leads/{made['id']}/follows"),
        ("GET", f"/leads/{made['id']}/follows/{follow_id}"),
        ("PUT", f"/leads/{made['id']}/follows/{follow_id}"),
        ("DELETE", f"/leads/{made['id']}/follows/{follow_id}"),
    ):
        body = {"follow": {"title": "x"}} if "follows" in path else {"lead": {"name": "x"}}
        response = await client.request(
            method, BASE + path, json=body if method in ("PUT", "POST") else None, headers=theirs
        )
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["errors"][0]["code"] == "not_found"
    assert (await client.get(f"{BASE}/leads", headers=theirs)).json()["meta"]["totalRecords"] == 0
    assert uuid.UUID(made["id"])


def test_lead_mapping_keeps_money_exact_and_person_fields_apart() -> None:
    from decimal import Decimal

    from leadhub.compat import blocks23

    deal, person = blocks23.to_deal({"name": "n", "value": Decimal("65000.10"), "account_id": "x", "first_name": "Ada"})
    assert (deal.value, deal.company_id) == ("65000.10", "x")
    assert person is not None and person.first_name == "Ada"
    assert blocks23.number("65000.00") == 65000 and blocks23.number("0.10") == 0.1


def test_follow_mapping_reads_the_client_librarys_names() -> None:
    from leadhub.compat import blocks23

    task = blocks23.to_task({"code": "c", "notes": "n", "next_action_at": "2026-01-01T00:00:00Z", "status": "overdue"})
    assert (task.title, task.description, task.status) == ("c", "n", "pending")
    assert task.due_at is not None and task.due_at.isoformat() == "2026-01-01T00:00:00+00:00"
