"""Deliveries over real HTTP: signed (verified by the standardwebhooks verifier), stable ids, rotation,
test events, replays."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from leadhub.webhooks.dispatcher import Dispatcher
from tests.conftest import Tenant
from tests.webhooks.conftest import Clock, Receiver, add_contact, add_endpoint, deliveries


async def test_contact_created_arrives_signed_and_the_receiver_verifies_it(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    endpoint = await add_endpoint(client, tenant, receiver, "signed")
    contact_id = await add_contact(client, tenant, "ada@example.com")

    await dispatcher.run_once()

    [got] = receiver.got("signed")
    assert got.verified, got.error
    message = got.message
    assert message["type"] == "contact.created"
    assert message["data"]["contact_id"] == contact_id
    assert message["data"]["id"].startswith("evt_")
    assert got.headers["webhook-id"] == message["data"]["id"]
    assert message["data"]["data"]["emails"][0]["address"] == "ada@example.com"
    [delivery] = await deliveries(client, tenant, endpoint["id"])
    assert delivery["status"] == "succeeded"
    assert delivery["event_id"] == message["data"]["id"]
    detail = (
        await client.get(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}", headers=tenant.headers)
    ).json()
    [attempt] = detail["attempts"]
    assert attempt["status_code"] == 204
    assert attempt["latency_ms"] >= 0
    assert detail["payload"]["type"] == "contact.created"


async def test_verifier_rejects_a_tampered_body_and_a_stale_timestamp(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher, test_clock: Clock
) -> None:
    endpoint = await add_endpoint(client, tenant, receiver, "tamper")
    await add_contact(client, tenant, "eve@example.com")
    await dispatcher.run_once()
    [good] = receiver.got("tamper")
    assert good.verified
    verifier = Webhook(endpoint["secret"])

    tampered = good.body.replace(b"eve@example.com", b"mallory@example.com")
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verifier.verify(tampered, good.headers)

    # A delivery signed ten minutes ago (our clock set back) is refused by the receiver's verifier.
    test_clock.advance(minutes=-10)
    await add_contact(client, tenant, "late@example.com")
    await dispatcher.run_once()
    stale = receiver.got("tamper")[1]
    assert not stale.verified
    assert stale.error is not None and "too old" in stale.error
    [retrying, _] = await deliveries(client, tenant, endpoint["id"])
    assert retrying["status"] == "retrying"
    assert retrying["last_status_code"] == 400


async def test_webhook_id_is_stable_across_retries_and_the_timestamp_is_fresh(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher, test_clock: Clock
) -> None:
    await add_endpoint(client, tenant, receiver, "stable")
    receiver.answer("stable", (500, {}))
    await add_contact(client, tenant, "retry@example.com")
    await dispatcher.run_once()
    test_clock.advance(seconds=6)
    await dispatcher.run_once()

    first, second = receiver.got("stable")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 6
    assert first.verified and second.verified
    assert first.body == second.body


async def test_rotation_signs_with_both_secrets_during_the_grace_period(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    endpoint = await add_endpoint(client, tenant, receiver, "rotate")
    old_secret = endpoint["secret"]
    r = await client.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret", json={}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    new_secret = r.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    assert r.json()["previous_secret_expires_at"] is not None

    await add_contact(client, tenant, "rot@example.com")
    await dispatcher.run_once()
    [got] = receiver.got("rotate")
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(got.body, got.headers)
    Webhook(new_secret).verify(got.body, got.headers)

    # Rotating with no grace period: only the newest secret signs.
    r = await client.post(
        f"/v1/webhooks/{endpoint['id']}/rotate-secret", json={"grace_period_hours": 0}, headers=tenant.headers
    )
    newest = r.json()["secret"]
    await add_contact(client, tenant, "rot2@example.com")
    await dispatcher.run_once()
    latest = receiver.got("rotate")[1]
    Webhook(newest).verify(latest.body, latest.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret).verify(latest.body, latest.headers)


async def test_secrets_appear_only_on_create_and_rotate(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = (await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=tenant.headers)).json()
    secret = created["secret"]
    listed = await client.get("/v1/webhooks", headers=tenant.headers)
    fetched = await client.get(f"/v1/webhooks/{created['id']}", headers=tenant.headers)
    patched = await client.patch(f"/v1/webhooks/{created['id']}", json={"description": "d"}, headers=tenant.headers)
    log = await client.get("/v1/events", params={"type": "webhook_endpoint.*"}, headers=tenant.headers)
    for response in (listed, fetched, patched, log):
        assert response.status_code == 200
        assert secret not in response.text
        assert "whsec_" not in response.text
    assert [e["type"] for e in log.json()["data"]] == ["webhook_endpoint.created", "webhook_endpoint.updated"]


async def test_test_event_goes_to_that_endpoint_only(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    target = await add_endpoint(client, tenant, receiver, "t-target", event_types=["*"])
    await add_endpoint(client, tenant, receiver, "t-other", event_types=["*"])
    r = await client.post(f"/v1/webhooks/{target['id']}/test", headers=tenant.headers)
    assert r.status_code == 202, r.text

    await dispatcher.run_once()
    tests_seen = [g for g in receiver.received if g.message and g.message["type"] == "webhook.test"]
    assert [g.name for g in tests_seen] == ["t-target"]
    assert tests_seen[0].verified
    assert tests_seen[0].headers["webhook-id"] == r.json()["event_id"]


async def test_event_type_filter_with_prefixes_and_exact_types(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    await add_endpoint(client, tenant, receiver, "f-created", event_types=["contact.created"])
    await add_endpoint(client, tenant, receiver, "f-prefix", event_types=["contact.*"])
    await add_endpoint(client, tenant, receiver, "f-other", event_types=["deal.*"])
    contact_id = await add_contact(client, tenant, "filter@example.com")
    await client.patch(f"/v1/contacts/{contact_id}", json={"title": "CTO"}, headers=tenant.headers)

    await dispatcher.run_once()
    await dispatcher.run_once()
    assert [g.message["type"] for g in receiver.got("f-created")] == ["contact.created"]
    assert [g.message["type"] for g in receiver.got("f-prefix")] == ["contact.created", "contact.updated"]
    assert receiver.got("f-other") == []


async def test_replay_one_delivery_sends_it_again_with_the_same_id(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    endpoint = await add_endpoint(client, tenant, receiver, "replay-one")
    await add_contact(client, tenant, "again@example.com")
    await dispatcher.run_once()
    [delivery] = await deliveries(client, tenant, endpoint["id"])

    r = await client.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/replay", headers=tenant.headers)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending"
    await dispatcher.run_once()

    first, again = receiver.got("replay-one")
    assert again.verified
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    detail = (
        await client.get(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}", headers=tenant.headers)
    ).json()
    assert detail["status"] == "succeeded"
    assert len(detail["attempts"]) == 2


async def test_replay_range_resends_failures_and_events_missed_while_disabled(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver, dispatcher: Dispatcher, test_clock: Clock
) -> None:
    start = test_clock.now
    endpoint = await add_endpoint(client, tenant, receiver, "replay-range")
    receiver.answer("replay-range", *[(500, {})] * 8)
    await add_contact(client, tenant, "failed@example.com")
    for _ in range(8):  # exhaust the retry schedule
        await dispatcher.run_once()
        test_clock.advance(hours=11)
    [failed] = await deliveries(client, tenant, endpoint["id"])
    assert failed["status"] == "failed" and failed["attempt_count"] == 8

    await client.patch(f"/v1/webhooks/{endpoint['id']}", json={"enabled": False}, headers=tenant.headers)
    await add_contact(client, tenant, "missed@example.com")  # no delivery: the endpoint is disabled
    assert len(await deliveries(client, tenant, endpoint["id"])) == 1
    await client.patch(f"/v1/webhooks/{endpoint['id']}", json={"enabled": True}, headers=tenant.headers)
    test_clock.set(start)  # back near wall time, so the receiver's verifier accepts the timestamps

    r = await client.post(
        f"/v1/webhooks/{endpoint['id']}/replay",
        json={"since": start.isoformat(), "until": (start + timedelta(days=10)).isoformat()},
        headers=tenant.headers,
    )
    assert r.status_code == 202, r.text
    assert r.json() == {"replayed": 1, "created": 1}
    await dispatcher.run_once()
    emails = [json.loads(g.body)["data"]["data"]["emails"][0]["address"] for g in receiver.got("replay-range")[8:]]
    assert sorted(emails) == ["failed@example.com", "missed@example.com"]
    assert all(g.verified for g in receiver.got("replay-range")[8:])
    assert {d["status"] for d in await deliveries(client, tenant, endpoint["id"])} == {"succeeded"}
