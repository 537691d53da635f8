"""Pipelines and deals through the native API: the default pipeline, stage moves and their events, the
summary figures (checked against values computed by hand), exact money."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.pipeline_clock import DrivenClock


async def deal(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/deals", json={"name": "Deal", **body}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def events_of(client: httpx.AsyncClient, tenant: Tenant, type_: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", params={"type": type_}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_every_workspace_has_the_default_pipeline_with_ordered_stages(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    second = await tenant.add_workspace()
    for headers in (tenant.headers, {**tenant.headers, "LeadHub-Workspace": second}):
        response = await client.get("/v1/pipelines", headers=headers)
        assert response.status_code == 200, response.text
        (default,) = response.json()["data"]
        assert default["is_default"] is True
        assert [(s["key"], s["probability"], s["kind"]) for s in default["stages"]] == [
            ("new", 10, "open"),
            ("contacted", 20, "open"),
            ("qualified", 40, "open"),
            ("proposal", 60, "open"),
            ("negotiation", 80, "open"),
            ("won", 100, "won"),
            ("lost", 0, "lost"),
        ]
    # Reading again (or creating a deal) never makes a second default pipeline.
    await deal(client, tenant)
    assert len((await client.get("/v1/pipelines", headers=tenant.headers)).json()["data"]) == 1


async def test_a_new_deal_starts_in_the_first_stage_with_its_probability(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await deal(client, tenant, value="75000", currency="usd")
    assert (created["stage"], created["probability"], created["status"]) == ("new", 10, "active")
    assert (created["value"], created["currency"]) == ("75000.00", "USD")
    overridden = await deal(client, tenant, stage="qualified", probability=55)
    assert (overridden["stage"], overridden["probability"]) == ("qualified", 55)


async def test_moving_a_deal_records_from_to_and_time_and_follows_the_stage(
    client: httpx.AsyncClient, tenant: Tenant, driven_clock: DrivenClock
) -> None:
    created = await deal(client, tenant, value="1000")
    driven_clock.advance(hours=1)
    moved = (
        await client.patch(f"/v1/deals/{created['id']}", json={"stage": "qualified"}, headers=tenant.headers)
    ).json()
    assert (moved["stage"], moved["probability"], moved["status"]) == ("qualified", 40, "active")
    driven_clock.advance(hours=2)
    won = (await client.patch(f"/v1/deals/{created['id']}", json={"stage": "won"}, headers=tenant.headers)).json()
    assert (won["stage"], won["probability"], won["status"]) == ("won", 100, "converted")

    changes = [e["data"] for e in await events_of(client, tenant, "deal.stage_changed")]
    assert [(c["from"], c["to"], c["seconds_in_from"]) for c in changes] == [
        ("new", "qualified", 3600.0),
        ("qualified", "won", 7200.0),
    ]
    assert changes[1]["at"] == "2026-01-10T13:30:00+00:00"

    driven_clock.advance(minutes=30)
    history = (await client.get(f"/v1/deals/{created['id']}/stages", headers=tenant.headers)).json()
    assert [(v["stage"], v["seconds"]) for v in history["visits"]] == [
        ("new", 3600.0),
        ("qualified", 7200.0),
        ("won", 1800.0),
    ]
    # Back to an open stage reopens the deal.
    reopened = (
        await client.patch(f"/v1/deals/{created['id']}", json={"stage": "negotiation"}, headers=tenant.headers)
    ).json()
    assert (reopened["status"], reopened["probability"]) == ("active", 80)


async def test_a_patch_without_a_stage_move_records_no_stage_change(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await deal(client, tenant)
    response = await client.patch(
        f"/v1/deals/{created['id']}", json={"stage": "new", "value": "10.5"}, headers=tenant.headers
    )
    assert response.json()["value"] == "10.50"
    assert await events_of(client, tenant, "deal.stage_changed") == []
    assert [e["changes"]["value"] for e in await events_of(client, tenant, "deal.updated")] == [
        {"before": None, "after": "10.50"}
    ]


async def test_pipeline_summary_counts_and_weighs_values_per_stage_and_currency(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await deal(client, tenant, stage="qualified", value="1000")  # weighted 400
    await deal(client, tenant, stage="qualified", value="250.50", probability=55)  # 137.775
    await deal(client, tenant, stage="proposal", value="999.99")  # 599.994
    await deal(client, tenant, stage="proposal", value="100", currency="EUR")  # 60
    await deal(client, tenant, stage="new")  # no value: counted, adds nothing
    gone = await deal(client, tenant, stage="proposal", value="5000")
    assert (await client.delete(f"/v1/deals/{gone['id']}", headers=tenant.headers)).status_code == 204

    summary = (await client.get("/v1/deals/summary", headers=tenant.headers)).json()
    stages = {s["key"]: s for s in summary["stages"]}
    assert list(stages) == ["new", "contacted", "qualified", "proposal", "negotiation", "won", "lost"]
    assert (stages["new"]["count"], stages["new"]["totals"]) == (1, [])
    assert stages["qualified"]["count"] == 2
    assert stages["qualified"]["totals"] == [{"currency": "USD", "total": "1250.50", "weighted": "537.78"}]
    assert stages["proposal"]["count"] == 2
    assert stages["proposal"]["totals"] == [
        {"currency": "EUR", "total": "100.00", "weighted": "60.00"},
        {"currency": "USD", "total": "999.99", "weighted": "599.99"},
    ]
    assert stages["won"]["count"] == 0
    assert summary["count"] == 5
    assert summary["totals"] == [
        {"currency": "EUR", "total": "100.00", "weighted": "60.00"},
        {"currency": "USD", "total": "2250.49", "weighted": "1137.77"},
    ]


async def test_money_is_exact_and_never_a_float(client: httpx.AsyncClient, tenant: Tenant) -> None:
    cases = [
        ({"value": 1250.5}, "decimal_string"),
        ({"value": "1.001"}, "decimal_places"),
        ({"value": "1.5", "currency": "JPY"}, "decimal_places"),
        ({"value": "-1"}, "minimum"),
        ({"currency": "XYZ"}, "currency"),
        ({"value": "1" * 41}, "string_too_long"),
    ]
    for body, rule in cases:
        response = await client.post("/v1/deals", json={"name": "x", **body}, headers=tenant.headers)
        assert response.status_code == 422, response.text
        assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [(next(iter(body)), rule)]
        if rule == "string_too_long":  # a string rule, worded as one (it once said "at most 40 items")
            assert "40 characters" in response.json()["errors"][0]["message"], response.text
    exact = await deal(client, tenant, value="0.1", currency="KWD")
    assert exact["value"] == "0.100"
    big = await deal(client, tenant, value="99999999999999.99")
    assert big["value"] == "99999999999999.99"


async def test_an_unknown_stage_is_refused_naming_the_stages(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post("/v1/deals", json={"name": "x", "stage": "closing"}, headers=tenant.headers)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "stage" and "qualified" in error["message"]


async def test_deal_filters_by_stage_status_and_value_range(client: httpx.AsyncClient, tenant: Tenant) -> None:
    small = await deal(client, tenant, value="100")
    large = await deal(client, tenant, value="5000", stage="won")

    async def ids(**params: Any) -> set[str]:
        response = await client.get("/v1/deals", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return {d["id"] for d in response.json()["data"]}

    assert await ids(value_min="100.01") == {large["id"]}
    assert await ids(value_max="100") == {small["id"]}
    assert await ids(stage="won") == {large["id"]}
    assert await ids(status="converted") == {large["id"]}
    assert await ids(status="active") == {small["id"]}


async def test_a_custom_pipeline_has_its_own_stages_and_busy_stages_stay(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = {
        "name": "Renewals",
        "stages": [{"key": "due", "probability": 50}, {"key": "renewed", "probability": 100, "kind": "won"}],
    }
    pipeline = (await client.post("/v1/pipelines", json=body, headers=tenant.headers)).json()
    assert pipeline["key"] == "renewals" and pipeline["is_default"] is False
    created = await deal(client, tenant, pipeline_id=pipeline["id"])
    assert (created["stage"], created["probability"]) == ("due", 50)
    response = await client.patch(
        f"/v1/pipelines/{pipeline['id']}",
        json={"stages": [{"key": "renewed", "probability": 100}]},
        headers=tenant.headers,
    )
    assert response.status_code == 409
    assert (await client.delete(f"/v1/pipelines/{pipeline['id']}", headers=tenant.headers)).status_code == 409


async def test_deleted_deals_leave_listings_and_come_back_when_restored(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await deal(client, tenant)
    assert (await client.delete(f"/v1/deals/{created['id']}", headers=tenant.headers)).status_code == 204
    assert (await client.get(f"/v1/deals/{created['id']}", headers=tenant.headers)).status_code == 404
    trash = (await client.get("/v1/deals", params={"deleted": "true"}, headers=tenant.headers)).json()["data"]
    assert [d["id"] for d in trash] == [created["id"]]
    restored = await client.post(f"/v1/deals/{created['id']}/restore", headers=tenant.headers)
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None
    assert (await client.get(f"/v1/deals/{created['id']}", headers=tenant.headers)).status_code == 200


async def test_another_workspace_cannot_see_or_touch_deals_or_pipelines(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = await deal(client, tenant)
    pipeline = (await client.get("/v1/pipelines/default", headers=tenant.headers)).json()
    theirs = other_tenant.headers
    for method, path in (
        ("GET", f"/v1/deals/{created['id']}"),
        ("PATCH", f"/v1/deals/{created['id']}"),
        ("DELETE", f"/v1/deals/{created['id']}"),
        ("POST", f"/v1/deals/{created['id']}/restore"),
        ("GET", f"/v1/deals/{created['id']}/stages"),
        ("GET", f"/v1/pipelines/{pipeline['id']}"),
        ("PATCH", f"/v1/pipelines/{pipeline['id']}"),
        ("DELETE", f"/v1/pipelines/{pipeline['id']}"),
        ("GET", f"/v1/deals/summary?pipeline_id={pipeline['id']}"),
    ):
        response = await client.request(method, path, json={} if method == "PATCH" else None, headers=theirs)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/deals", headers=theirs)).json()["data"] == []
    # A body naming another workspace's pipeline is refused like a made-up one.
    response = await client.post("/v1/deals", json={"name": "x", "pipeline_id": pipeline["id"]}, headers=theirs)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "pipeline_id"


async def test_deal_routes_honour_scopes(client: httpx.AsyncClient, tenant: Tenant) -> None:
    reader = {"Authorization": f"Bearer {await tenant.make_key(['deals.read'])}"}
    assert (await client.get("/v1/deals", headers=reader)).status_code == 200
    assert (await client.post("/v1/deals", json={"name": "x"}, headers=reader)).status_code == 403
    contacts_only = {"Authorization": f"Bearer {await tenant.make_key(['contacts.read'])}"}
    assert (await client.get("/v1/pipelines", headers=contacts_only)).status_code == 403
