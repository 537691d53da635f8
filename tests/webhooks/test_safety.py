"""SSRF refusals at registration and at send time, redirects not followed, and the API's walls:
scopes, tenants, validation."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from leadhub.db.engine import Database
from leadhub.webhooks import ssrf
from leadhub.webhooks.dispatcher import Dispatcher, Options
from tests.conftest import Tenant
from tests.webhooks.conftest import Receiver, add_contact, add_endpoint, deliveries

REFUSED = [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://172.16.0.5/hook", "private"),
    ("https://192.168.1.10/hook", "private"),
    ("http://[fd12:3456::1]/hook", "private"),
    ("http://169.254.10.20/hook", "link_local"),
    ("http://[fe80::1]/hook", "link_local"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("http://100.64.0.1/hook", "cgnat"),
    ("http://224.0.0.251/hook", "multicast"),
    ("http://[ff02::1]/hook", "multicast"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://[::ffff:192.168.0.1]/hook", "private"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
async def test_registration_refuses_internal_addresses(
    strict_client: httpx.AsyncClient, tenant: Tenant, url: str, reason: str
) -> None:
    r = await strict_client.post("/v1/webhooks", json={"url": url}, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    [error] = r.json()["errors"]
    assert error["field"] == "url"
    assert error["rule"] == f"public_address:{reason}"


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert ssrf.classify(ipaddress.ip_address(address)) is None


async def test_send_time_check_refuses_a_target_that_became_internal(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, database: Database
) -> None:
    # Registered while private targets were allowed; the dispatcher as deployed refuses it after resolving.
    endpoint = await add_endpoint(client, tenant, receiver, "ssrf-send")
    await client.patch(
        f"/v1/webhooks/{endpoint['id']}",
        json={"url": receiver.url("ssrf-send").replace("127.0.0.1", "localhost")},
        headers=tenant.headers,
    )
    await add_contact(client, tenant, "ssrf@example.com")
    strict = Dispatcher(database, Options(allow_private=False))
    try:
        await strict.run_once()
    finally:
        await strict.close()

    assert receiver.got("ssrf-send") == []
    [d] = await deliveries(client, tenant, endpoint["id"])
    assert d["status"] == "retrying"
    assert d["last_error"].startswith("refused:") and "loopback" in d["last_error"]


async def test_redirects_are_not_followed(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    endpoint = await add_endpoint(client, tenant, receiver, "redirect")
    receiver.answer("redirect", (307, {"Location": receiver.url("redirect-target")}))
    await add_contact(client, tenant, "redirect@example.com")
    await dispatcher.run_once()

    assert receiver.got("redirect-target") == []
    [d] = await deliveries(client, tenant, endpoint["id"])
    assert d["status"] == "retrying" and d["last_status_code"] == 307


async def test_another_workspaces_endpoint_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    theirs = await add_endpoint(client, other_tenant, receiver, "wall")
    await add_contact(client, other_tenant, "wall@example.com")
    await dispatcher.run_once()
    [delivery] = await deliveries(client, other_tenant, theirs["id"])
    base = f"/v1/webhooks/{theirs['id']}"
    attempts = [
        client.get(base, headers=tenant.headers),
        client.patch(base, json={"description": "mine now"}, headers=tenant.headers),
        client.post(f"{base}/rotate-secret", json={}, headers=tenant.headers),
        client.get(f"{base}/deliveries", headers=tenant.headers),
        client.get(f"{base}/deliveries/{delivery['id']}", headers=tenant.headers),
        client.post(f"{base}/deliveries/{delivery['id']}/replay", headers=tenant.headers),
        client.post(f"{base}/replay", json={"since": "2020-01-01T00:00:00Z"}, headers=tenant.headers),
        client.post(f"{base}/test", headers=tenant.headers),
        client.delete(base, headers=tenant.headers),
    ]
    for call in attempts:
        r = await call
        assert r.status_code == 404, (r.request.method, r.request.url, r.text)
        assert r.json()["code"] == "not_found"
    listing = (await client.get("/v1/webhooks", headers=tenant.headers)).json()
    assert listing["data"] == []
    # A delivery id of another endpoint is not found under one's own endpoint either.
    mine = await add_endpoint(client, tenant, receiver, "wall-mine")
    r = await client.get(f"/v1/webhooks/{mine['id']}/deliveries/{delivery['id']}", headers=tenant.headers)
    assert r.status_code == 404
    assert (await client.get(base, headers=other_tenant.headers)).json()["description"] is None


async def test_scopes_guard_reading_and_writing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    reader = {"Authorization": f"Bearer {await tenant.make_key(['webhooks.read'], workspace=True)}"}
    contacts_only = {"Authorization": f"Bearer {await tenant.make_key(['contacts.*'], workspace=True)}"}
    assert (await client.get("/v1/webhooks", headers=reader)).status_code == 200
    r = await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/"}, headers=reader)
    assert r.status_code == 403
    assert (await client.get("/v1/webhooks", headers=contacts_only)).status_code == 403


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"url": "ftp://example.com/x"}, "url", "url"),
        ({"url": "not a url"}, "url", "url"),
        (
            {"url": "http://127.0.0.1:9/", "event_types": ["Contact Created"]},
            "event_types[0]",
            "string_pattern_mismatch",
        ),
        ({"url": "http://127.0.0.1:9/", "event_types": []}, "event_types", "too_short"),
        ({"url": "http://127.0.0.1:9/", "secret": "mine"}, "secret", "extra_forbidden"),
    ],
)
async def test_bad_endpoint_input_names_the_field_and_rule(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, object], field: str, rule: str
) -> None:
    r = await client.post("/v1/webhooks", json=body, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [(field, rule)]


async def test_deliveries_list_filters_by_status_and_pages(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    endpoint = await add_endpoint(client, tenant, receiver, "listing")
    receiver.answer("listing", (500, {}))
    for i in range(3):
        await add_contact(client, tenant, f"list{i}@example.com")
    await dispatcher.run_once()

    assert len(await deliveries(client, tenant, endpoint["id"], status="retrying")) == 1
    assert len(await deliveries(client, tenant, endpoint["id"], status="succeeded")) == 2
    first = (
        await client.get(f"/v1/webhooks/{endpoint['id']}/deliveries", params={"limit": 2}, headers=tenant.headers)
    ).json()
    assert first["has_more"] is True and len(first["data"]) == 2
    rest = (
        await client.get(
            f"/v1/webhooks/{endpoint['id']}/deliveries",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=tenant.headers,
        )
    ).json()
    assert rest["has_more"] is False and len(rest["data"]) == 1
    all_ids = [d["id"] for d in first["data"] + rest["data"]]
    assert len(set(all_ids)) == 3
    r = await client.get(f"/v1/webhooks/{endpoint['id']}/deliveries", params={"status": "lost"}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status[0]"
