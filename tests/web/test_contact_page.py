"""A lead's page: create and edit in place with the API's validation messages, primaries, tags, custom
fields by definition, DND per channel, the timeline, and the tenant wall."""

from __future__ import annotations

import re

import httpx

from leadhub.db.engine import Database
from tests.conftest import Tenant
from tests.web.conftest import Browser, make_user, page_csrf, signed_in

API_PHONE_MESSAGE = "is not a phone number (E.164 expected, e.g. +15551234567)"


async def test_create_with_a_bad_phone_shows_the_apis_message_then_succeeds(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}"
    token = await page_csrf(browser, f"{base}/leads/new")
    form = {"csrf": token, "first_name": "Dana", "last_name": "Diaz", "email": "dana@example.com", "phone": "call me"}
    refused = await browser.post(f"{base}/leads/new", data=form)
    api = await client.post("/v1/contacts", json={"name": "Dana", "phone": "call me"}, headers=tenant.headers)
    assert refused.status_code == 422
    assert f"phone: {API_PHONE_MESSAGE}" in refused.text
    assert api.json()["errors"][0]["message"] == API_PHONE_MESSAGE
    assert 'value="dana@example.com"' in refused.text  # what was typed is kept
    created = await browser.post(f"{base}/leads/new", data={**form, "phone": "+1 415 555 0100"})
    assert created.status_code == 303
    page = await browser.get(created.headers["location"])
    assert "Dana Diaz" in page.text and "+14155550100" in page.text and "Lead created" in page.text


async def test_a_duplicate_email_links_to_the_existing_lead(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    first = (await client.post("/v1/contacts", json={"email": "x@example.com"}, headers=tenant.headers)).json()["id"]
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}"
    token = await page_csrf(browser, f"{base}/leads/new")
    answer = await browser.post(f"{base}/leads/new", data={"csrf": token, "email": "X@example.com"})
    assert answer.status_code == 409 and f'href="{base}/leads/{first}"' in answer.text


async def test_inline_edits_save_sections_and_show_errors_next_to_the_field(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    contact = (
        await client.post(
            "/v1/contacts",
            json={
                "name": "Eve Evans",
                "emails": [{"address": "eve@example.com"}],
                "phones": [{"number": "+14155550101"}],
            },
            headers=tenant.headers,
        )
    ).json()["id"]
    await client.post(
        "/v1/custom-fields", json={"key": "budget", "label": "Budget", "type": "number"}, headers=tenant.headers
    )
    user = await make_user(database, tenant, "member")
    browser = await signed_in(new_browser, user)
    url = f"/app/{tenant.ws_public_id}/leads/{contact}"
    token = await page_csrf(browser, url)
    htmx = {"HX-Request": "true", "X-CSRF-Token": token}

    bad = await browser.post(
        f"{url}/phones",
        data={
            "phones-0-number": "+14155550101",
            "phones-0-type": "work",
            "phones-1-number": "12",
            "phones-primary": "1",
        },
        headers=htmx,
    )
    assert bad.status_code == 200 and 'id="section-phones"' in bad.text
    assert re.search(r'id="phones-1-number-error">is not a possible phone number', bad.text)
    assert 'value="12"' in bad.text

    ok = await browser.post(
        f"{url}/phones",
        data={
            "phones-0-number": "+14155550101",
            "phones-0-type": "work",
            "phones-1-number": "+14155550199",
            "phones-1-type": "mobile",
            "phones-primary": "1",
        },
        headers=htmx,
    )
    assert "Saved." in ok.text and 'hx-swap-oob="true"' in ok.text
    await browser.post(f"{url}/tags", data={"tags": "vip, spring"}, headers=htmx)
    await browser.post(f"{url}/custom", data={"cf-budget": "12000"}, headers=htmx)
    wrong = await browser.post(f"{url}/custom", data={"cf-budget": "lots"}, headers=htmx)
    assert "custom_fields.budget: must be a number" in wrong.text
    await browser.post(f"{url}/dnd", data={"dnd-sms": "active", "dnd-email": ""}, headers=htmx)
    details = await browser.post(
        f"{url}/details",
        data={"csrf": token, "first_name": "Eve", "last_name": "Evans-Smith", "status": "contacted", "country": "de"},
    )
    assert details.status_code == 303  # a plain form post (no HTMX) comes back to the page

    got = (await client.get(f"/v1/contacts/{contact}", headers=tenant.headers)).json()
    assert [(p["number"], p["type"], p["primary"]) for p in got["phones"]] == [
        ("+14155550101", "work", False),
        ("+14155550199", "mobile", True),
    ]
    assert got["tags"] == ["vip", "spring"]
    assert got["custom_fields"] == {"budget": 12000}
    assert got["dnd_settings"]["sms"]["status"] == "active" and "email" not in got["dnd_settings"]
    assert got["last_name"] == "Evans-Smith" and got["status"] == "contacted" and got["country"] == "DE"

    page = await browser.get(url)
    assert f"by {user.email} via web" in page.text
    assert "status: new → contacted" in page.text


async def test_another_workspaces_lead_is_not_found(
    database: Database, tenant: Tenant, other_tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    theirs = (await client.post("/v1/contacts", json={"email": "t@example.com"}, headers=other_tenant.headers)).json()
    browser = await signed_in(new_browser, await make_user(database, tenant, "owner"))
    url = f"/app/{tenant.ws_public_id}/leads/{theirs['id']}"
    assert (await browser.get(url)).status_code == 404
    token = await page_csrf(browser, f"/app/{tenant.ws_public_id}/leads")
    assert (await browser.post(f"{url}/tags", data={"csrf": token, "tags": "x"})).status_code == 404
    assert (await browser.post(f"{url}/delete", data={"csrf": token})).status_code == 404
    assert (await client.get(f"/v1/contacts/{theirs['id']}", headers=other_tenant.headers)).json()["tags"] == []
