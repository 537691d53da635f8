"""Settings screens: API keys (secret once, revoke), webhook endpoints with delivery log and replay,
custom-field definitions, users and roles; each behind its role, each behind the tenant wall."""

from __future__ import annotations

import re

import httpx

from leadhub.db.engine import Database
from tests.conftest import Tenant
from tests.web.conftest import Browser, make_user, page_csrf, sign_in, signed_in

PUBLIC_URL = "https://93.184.216.34/hook"  # a public literal address: no DNS look-up in tests


async def test_a_new_key_is_shown_once_works_and_stops_when_revoked(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    browser = await signed_in(new_browser, await make_user(database, tenant, "admin"))
    url = f"/app/{tenant.ws_public_id}/settings/keys"
    token = await page_csrf(browser, url)
    created = await browser.post(url, data={"csrf": token, "name": "zapier", "scopes": ["contacts.read"]})
    assert created.status_code == 201
    secret = re.search(r'id="new-secret">(lh_[0-9A-Za-z]+)<', created.text)
    assert secret
    raw = secret.group(1)
    assert (await client.get("/v1/contacts", headers={"Authorization": f"Bearer {raw}"})).status_code == 200
    listing = await browser.get(url)
    assert raw not in listing.text and raw[:12] in listing.text

    key_id = re.search(r"/settings/keys/(key_[0-9a-z]+)/revoke\"[^>]*data-confirm=\"Revoke key zapier", listing.text)
    assert key_id
    revoked = await browser.post(f"{url}/{key_id.group(1)}/revoke", data={"csrf": token})
    assert revoked.status_code == 303
    assert "stops working at once" in (await browser.get(revoked.headers["location"])).text
    assert (await client.get("/v1/contacts", headers={"Authorization": f"Bearer {raw}"})).status_code == 401


async def test_a_key_needs_known_scopes(database: Database, tenant: Tenant, new_browser: Browser) -> None:
    browser = await signed_in(new_browser, await make_user(database, tenant, "owner"))
    url = f"/app/{tenant.ws_public_id}/settings/keys"
    token = await page_csrf(browser, url)
    refused = await browser.post(url, data={"csrf": token, "name": "empty"})
    assert refused.status_code == 422 and "scopes: List should have at least 1 item" in refused.text


async def test_members_cannot_open_keys_or_users_and_read_only_cannot_change_fields(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    member = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}/settings"
    assert (await member.get(f"{base}/keys")).status_code == 403
    assert (await member.get(f"{base}/users")).status_code == 403
    assert (await member.get(f"{base}/webhooks")).status_code == 200
    token = await page_csrf(member, f"{base}/webhooks")
    assert (await member.post(f"{base}/webhooks", data={"csrf": token, "url": PUBLIC_URL})).status_code == 403
    assert (await member.post(f"{base}/keys", data={"csrf": token, "scopes": ["admin"]})).status_code == 403
    reader = await signed_in(new_browser, await make_user(database, tenant, "read_only"))
    token = await page_csrf(reader, f"{base}/fields")
    refused = await reader.post(f"{base}/fields", data={"csrf": token, "key": "x", "label": "X", "type": "text"})
    assert refused.status_code == 403


async def test_webhook_endpoint_secret_delivery_log_and_replay(
    database: Database, tenant: Tenant, other_tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    browser = await signed_in(new_browser, await make_user(database, tenant, "admin"))
    base = f"/app/{tenant.ws_public_id}/settings/webhooks"
    token = await page_csrf(browser, base)
    bad = await browser.post(base, data={"csrf": token, "url": "http://127.0.0.1/x"})
    assert bad.status_code == 422 and "url: " in bad.text
    created = await browser.post(base, data={"csrf": token, "url": PUBLIC_URL, "event_types": "contact.*"})
    assert created.status_code == 201 and "whsec_" in created.text
    endpoint = re.search(r"/settings/webhooks/(whk_[0-9a-z]+)", created.text)
    assert endpoint
    await client.post("/v1/contacts", json={"email": "hook@example.com"}, headers=tenant.headers)
    log = await browser.get(f"{base}/{endpoint.group(1)}")
    assert log.status_code == 200 and "contact.created" in log.text and "pending" in log.text
    api = await client.get(f"/v1/webhooks/{endpoint.group(1)}/deliveries", headers=tenant.headers)
    delivery = api.json()["data"][0]["id"]
    replayed = await browser.post(f"{base}/{endpoint.group(1)}/deliveries/{delivery}/replay", data={"csrf": token})
    assert replayed.status_code == 303
    assert "Delivery queued again." in (await browser.get(replayed.headers["location"])).text

    outsider = await signed_in(new_browser, await make_user(database, other_tenant, "owner"))
    assert (
        await outsider.get(f"/app/{other_tenant.ws_public_id}/settings/webhooks/{endpoint.group(1)}")
    ).status_code == 404


async def test_custom_field_definitions_are_created_checked_and_deleted(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}/settings/fields"
    token = await page_csrf(browser, base)
    form = {"csrf": token, "key": "plan", "label": "Plan", "type": "select", "options": "free, pro"}
    assert (await browser.post(base, data=form)).status_code == 303
    duplicate = await browser.post(base, data=form)
    assert duplicate.status_code == 409 and "already exists" in duplicate.text
    no_options = await browser.post(base, data={**form, "key": "tier", "options": ""})
    assert no_options.status_code == 422 and "options: a select field needs at least one option" in no_options.text
    page = await browser.get(base)
    field_id = re.search(r"/settings/fields/(cf_[0-9a-z]+)/delete", page.text)
    assert field_id and "free, pro" in page.text
    assert (await browser.post(f"{base}/{field_id.group(1)}/delete", data={"csrf": token})).status_code == 303
    assert "free, pro" not in (await browser.get(base)).text


async def test_admins_add_users_change_roles_and_remove_them(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    admin = await signed_in(new_browser, await make_user(database, tenant, "admin"))
    base = f"/app/{tenant.ws_public_id}/settings/users"
    token = await page_csrf(admin, base)
    short = await admin.post(
        base, data={"csrf": token, "email": "new@example.com", "password": "short", "role": "member"}
    )
    assert short.status_code == 422 and "password: must be at least 10 characters" in short.text
    owner = await admin.post(
        base, data={"csrf": token, "email": "o@example.com", "password": "x" * 12, "role": "owner"}
    )
    assert owner.status_code == 403
    made = await admin.post(
        base,
        data={"csrf": token, "email": "New@Example.com", "password": "a long passphrase", "role": "read_only"},
    )
    assert made.status_code == 303
    assert (await sign_in(await new_browser(), "new@example.com", "a long passphrase")).status_code == 303
    page = (await admin.get(base)).text
    user_id = re.search(r"/settings/users/(usr_[0-9a-z]+)/remove\"[^>]*Remove new@example.com", page)
    assert user_id
    changed = await admin.post(f"{base}/{user_id.group(1)}/role", data={"csrf": token, "role": "member"})
    assert changed.status_code == 303
    removed = await admin.post(f"{base}/{user_id.group(1)}/remove", data={"csrf": token})
    assert removed.status_code == 303
    assert (await sign_in(await new_browser(), "new@example.com", "a long passphrase")).status_code == 401
