"""Tasks: overdue derived from the clock at read time (it flips exactly when the clock passes the due
time), completion events, nesting under deals and contacts, tenant walls."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.pipeline_clock import DrivenClock


async def task(client: httpx.AsyncClient, tenant: Tenant, path: str = "/v1/tasks", **body: Any) -> dict[str, Any]:
    response = await client.post(path, json={"title": "Call back", **body}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_overdue_flips_exactly_when_the_clock_passes_the_due_time(
    client: httpx.AsyncClient, tenant: Tenant, driven_clock: DrivenClock
) -> None:
    created = await task(client, tenant, due_at="2026-01-10T12:00:00Z")
    path = f"/v1/tasks/{created['id']}"

    async def overdue() -> tuple[bool, list[str]]:
        one = (await client.get(path, headers=tenant.headers)).json()["overdue"]
        listed = await client.get("/v1/tasks", params={"overdue": "true"}, headers=tenant.headers)
        return one, [t["id"] for t in listed.json()["data"]]

    assert created["overdue"] is False
    driven_clock.advance(minutes=90)  # exactly the due time: not yet late
    assert await overdue() == (False, [])
    driven_clock.advance(microseconds=1)
    assert await overdue() == (True, [created["id"]])
    not_overdue = await client.get("/v1/tasks", params={"overdue": "false"}, headers=tenant.headers)
    assert not_overdue.json()["data"] == []

    done = (await client.patch(path, json={"status": "completed"}, headers=tenant.headers)).json()
    assert (done["status"], done["overdue"], done["completed_at"]) == (
        "completed",
        False,
        "2026-01-10T12:00:00.000001Z",
    )
    assert await overdue() == (False, [])


async def test_completing_and_reopening_are_events(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await task(client, tenant)
    path = f"/v1/tasks/{created['id']}"
    await client.patch(path, json={"status": "completed"}, headers=tenant.headers)
    reopened = (await client.patch(path, json={"status": "pending"}, headers=tenant.headers)).json()
    assert reopened["completed_at"] is None
    assert (await client.delete(path, headers=tenant.headers)).status_code == 204
    listed = await client.get("/v1/events", params={"type": "task.*"}, headers=tenant.headers)
    assert [e["type"] for e in listed.json()["data"]] == [
        "task.created",
        "task.updated",
        "task.completed",
        "task.updated",
        "task.reopened",
        "task.deleted",
    ]


async def test_due_before_filters_by_due_time(client: httpx.AsyncClient, tenant: Tenant) -> None:
    early = await task(client, tenant, due_at="2026-03-01T09:00:00Z")
    await task(client, tenant, due_at="2026-03-05T09:00:00Z")
    await task(client, tenant)
    listed = await client.get("/v1/tasks", params={"due_before": "2026-03-02T00:00:00Z"}, headers=tenant.headers)
    assert [t["id"] for t in listed.json()["data"]] == [early["id"]]


async def test_tasks_nest_under_deals_and_contacts(client: httpx.AsyncClient, tenant: Tenant) -> None:
    deal = (await client.post("/v1/deals", json={"name": "D"}, headers=tenant.headers)).json()
    contact = (await client.post("/v1/contacts", json={"email": "t@example.com"}, headers=tenant.headers)).json()
    on_deal = await task(client, tenant, f"/v1/deals/{deal['id']}/tasks")
    on_contact = await task(client, tenant, f"/v1/contacts/{contact['id']}/tasks")
    assert on_deal["deal_id"] == deal["id"] and on_contact["contact_id"] == contact["id"]
    deal_list = (await client.get(f"/v1/deals/{deal['id']}/tasks", headers=tenant.headers)).json()["data"]
    contact_list = (await client.get(f"/v1/contacts/{contact['id']}/tasks", headers=tenant.headers)).json()["data"]
    assert [t["id"] for t in deal_list] == [on_deal["id"]]
    assert [t["id"] for t in contact_list] == [on_contact["id"]]
    # A task on a contact shows in the contact's timeline; deleting the contact keeps the task, unlinked.
    timeline = (await client.get(f"/v1/contacts/{contact['id']}/timeline", headers=tenant.headers)).json()["data"]
    assert "task.created" in [e["type"] for e in timeline]
    assert (await client.delete(f"/v1/contacts/{contact['id']}", headers=tenant.headers)).status_code == 204
    kept = (await client.get(f"/v1/tasks/{on_contact['id']}", headers=tenant.headers)).json()
    assert kept["contact_id"] is None


async def test_a_task_needs_a_title_and_a_known_deal(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post("/v1/tasks", json={"description": "x"}, headers=tenant.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "title"
    response = await client.post(
        "/v1/tasks", json={"title": "x", "deal_id": "deal_01jd6x0c9q8f1t3m4n5p6r7s8v"}, headers=tenant.headers
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "deal_id"


async def test_another_workspace_cannot_see_or_touch_tasks(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    deal = (await client.post("/v1/deals", json={"name": "D"}, headers=tenant.headers)).json()
    contact = (await client.post("/v1/contacts", json={"email": "w@example.com"}, headers=tenant.headers)).json()
    created = await task(client, tenant, f"/v1/deals/{deal['id']}/tasks")
    theirs = other_tenant.headers
    for method, path in (
        ("GET", f"/v1/tasks/{created['id']}"),
        ("PATCH", f"/v1/tasks/{created['id']}"),
        ("DELETE", f"/v1/tasks/{created['id']}"),
        ("GET", f"/v1/deals/{deal['id']}/tasks"),
        ("POST", f"/v1/deals/{deal['id']}/tasks"),
        ("GET", f"/v1/contacts/{contact['id']}/tasks"),
        ("POST", f"/v1/contacts/{contact['id']}/tasks"),
        ("GET", f"/v1/tasks?deal_id={deal['id']}"),
    ):
        body = {"title": "x"} if method in ("POST", "PATCH") else None
        response = await client.request(method, path, json=body, headers=theirs)
        assert response.status_code == 404, (method, path, response.text)
    assert (await client.get("/v1/tasks", headers=theirs)).json()["data"] == []
