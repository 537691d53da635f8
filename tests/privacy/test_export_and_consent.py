"""Access and outreach: `GET /v1/contacts/{id}/export` answers everything held about the person in one
JSON document; consent is kept per purpose with source, time and text version; a global unsubscribe
(DND) makes every outreach path skip the contact."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from leadhub.contacts.models import Contact
from leadhub.privacy.outreach import may_contact
from tests.conftest import Tenant


async def test_export_holds_the_record_its_consent_and_its_whole_history(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        "/v1/contacts",
        json={
            "email": "ada@example.com",
            "consent": {
                "marketing": {
                    "granted": True,
                    "source": "signup form",
                    "recorded_at": "2030-01-02T03:04:05Z",
                    "text_version": "v3",
                }
            },
        },
        headers=tenant.headers,
    )
    contact = created.json()
    await client.patch(f"/v1/contacts/{contact['id']}", json={"title": "Engineer"}, headers=tenant.headers)
    await client.post(
        "/v1/webhooks", json={"url": "https://hooks.example.net/x", "event_types": ["*"]}, headers=tenant.headers
    )
    await client.post(f"/v1/contacts/{contact['id']}/tags", json={"tags": ["vip"]}, headers=tenant.headers)

    response = await client.get(f"/v1/contacts/{contact['id']}/export", headers=tenant.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    assert document["contact"]["emails"][0]["address"] == "ada@example.com"
    assert document["contact"]["title"] == "Engineer" and document["contact"]["tags"] == ["vip"]
    assert document["contact"]["consent"]["marketing"] == {
        "granted": True,
        "source": "signup form",
        "recorded_at": "2030-01-02T03:04:05Z",
        "text_version": "v3",
    }
    assert [e["type"] for e in document["events"]] == ["contact.created", "contact.updated", "contact.updated"]
    assert [d["event_type"] for d in document["webhook_deliveries"]] == ["contact.updated"]
    assert (await client.get("/v1/contacts/con_nope/export", headers=tenant.headers)).status_code == 404


async def test_unsubscribe_sets_dnd_and_records_withdrawn_marketing_consent(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = (await client.post("/v1/contacts", json={"email": "bo@example.com"}, headers=tenant.headers)).json()
    response = await client.post(
        f"/v1/contacts/{contact['id']}/unsubscribe",
        json={"source": " email footer link ", "text_version": " 2030-01\t"},  # stored trimmed, like every text
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dnd"] is True
    marketing = body["consent"]["marketing"]
    assert marketing["granted"] is False and marketing["source"] == "email footer link"
    assert marketing["text_version"] == "2030-01" and marketing["recorded_at"]
    timeline = (await client.get(f"/v1/contacts/{contact['id']}/timeline", headers=tenant.headers)).json()["data"]
    assert timeline[0]["type"] == "contact.updated" and set(timeline[0]["changes"]) >= {"dnd", "consent"}
    reader = {"Authorization": f"Bearer {await tenant.make_key(['contacts.read'])}"}
    assert (await client.post(f"/v1/contacts/{contact['id']}/unsubscribe", json={}, headers=reader)).status_code == 403


def _contact(**fields: Any) -> Contact:
    values: dict[str, Any] = {"dnd": False, "dnd_settings": {}, "consent": {}}
    values.update(fields)
    return Contact(**values)


def test_outreach_skips_unsubscribed_channel_dnd_and_missing_consent() -> None:
    granted = {"marketing": {"granted": True, "recorded_at": datetime(2030, 1, 1, tzinfo=UTC).isoformat()}}
    assert may_contact(_contact(consent=granted), "email", "marketing")
    assert not may_contact(_contact(dnd=True, consent=granted), "email", "marketing")
    assert not may_contact(_contact(dnd_settings={"email": {"status": "active"}}), "email")
    assert may_contact(_contact(dnd_settings={"email": {"status": "inactive"}}), "email")
    assert may_contact(_contact(dnd_settings={"sms": {"status": "permanent"}}), "email")
    assert not may_contact(_contact(), "email", "marketing")  # no record is no consent
    assert not may_contact(_contact(consent={"marketing": {"granted": False}}), "email", "marketing")
