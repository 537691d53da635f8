"""The leads list: search, filters, sort, paging, bulk actions, saved views, roles, tenant walls."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from leadhub.db.engine import Database
from leadhub.web.pages import leads
from tests.conftest import Tenant
from tests.web.conftest import Browser, make_user, page_csrf, signed_in


async def _contact(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> str:
    answer = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _ids(html: str) -> list[str]:
    return re.findall(r'name="ids" value="(con_[0-9a-z]+)"', html)


async def test_search_filters_and_htmx_gets_only_the_results(
    database: Database, tenant: Tenant, other_tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    ann = await _contact(
        client, tenant, name="Ann Archer", email="ann@acme.example.com", status="qualified", source="ads"
    )
    bob = await _contact(client, tenant, name="Bob Baker", email="bob@bakery.example.com", tags=["vip"])
    await _contact(client, other_tenant, name="Ann Elsewhere", email="ann@elsewhere.example.com")
    browser = await signed_in(new_browser, await make_user(database, tenant, "read_only"))
    base = f"/app/{tenant.ws_public_id}/leads"

    everything = await browser.get(base)
    assert everything.status_code == 200 and set(_ids(everything.text)) == {ann, bob}
    assert "<html" in everything.text and "Ann Elsewhere" not in everything.text

    partial = await browser.get(f"{base}?q=ANN", headers={"HX-Request": "true", "HX-Target": "results"})
    assert _ids(partial.text) == [ann] and "<html" not in partial.text

    assert _ids((await browser.get(f"{base}?status=qualified")).text) == [ann]
    assert _ids((await browser.get(f"{base}?tag=vip")).text) == [bob]
    assert _ids((await browser.get(f"{base}?source=ads")).text) == [ann]
    assert _ids((await browser.get(f"{base}?sort=created_at")).text) == [ann, bob]
    assert _ids((await browser.get(f"{base}?sort=-created_at")).text) == [bob, ann]


async def test_bad_filters_are_explained_not_failed(database: Database, tenant: Tenant, new_browser: Browser) -> None:
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    page = await browser.get(f"/app/{tenant.ws_public_id}/leads?created_after=yesterday&custom_field=nokey")
    assert page.status_code == 200
    assert "created_after: must be a date (YYYY-MM-DD)" in page.text
    assert "custom_field: must be key:value" in page.text
    page = await browser.get(f"/app/{tenant.ws_public_id}/leads?cursor=garbage")
    assert "cursor: is not a cursor of this listing" in page.text


async def test_cursor_paging_walks_every_lead_once(
    database: Database,
    tenant: Tenant,
    client: httpx.AsyncClient,
    new_browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = [await _contact(client, tenant, name=f"Lead {i}", email=f"l{i}@x.example.com") for i in range(5)]
    monkeypatch.setattr(leads, "PAGE_SIZE", 2)
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    url: str | None = f"/app/{tenant.ws_public_id}/leads?sort=created_at"
    seen: list[str] = []
    while url:
        page = await browser.get(url)
        seen += _ids(page.text)
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == made


async def test_bulk_tag_status_and_delete(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    a = await _contact(client, tenant, name="A One", email="a1@x.example.com")
    b = await _contact(client, tenant, name="B Two", email="b2@x.example.com")
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}"
    token = await page_csrf(browser, f"{base}/leads")

    done = await browser.post(
        f"{base}/leads/bulk", data={"csrf": token, "ids": [a, b], "action": "add_tag", "value": "hot", "back": "q=x"}
    )
    assert done.status_code == 303 and done.headers["location"].startswith(f"{base}/leads?q=x&notice=")
    assert "Updated 2 lead(s)." in (await browser.get(done.headers["location"])).text
    await browser.post(f"{base}/leads/bulk", data={"csrf": token, "ids": [a], "action": "set_status", "value": "lost"})
    got = (await client.get(f"/v1/contacts/{a}", headers=tenant.headers)).json()
    assert got["tags"] == ["hot"] and got["status"] == "lost"

    refused = await browser.post(
        f"{base}/leads/bulk", data={"csrf": token, "ids": [a, b], "action": "set_status", "value": "dormant"}
    )
    assert refused.status_code == 422 and "status: Input should be" in refused.text

    await browser.post(f"{base}/leads/bulk", data={"csrf": token, "ids": [b], "action": "delete"})
    assert (await client.get(f"/v1/contacts/{b}", headers=tenant.headers)).status_code == 404
    assert (await client.get(f"/v1/contacts/{a}", headers=tenant.headers)).status_code == 200


async def test_bulk_over_another_workspaces_lead_changes_nothing(
    database: Database, tenant: Tenant, other_tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    mine = await _contact(client, tenant, name="Mine", email="mine@x.example.com")
    theirs = await _contact(client, other_tenant, name="Theirs", email="theirs@x.example.com")
    browser = await signed_in(new_browser, await make_user(database, tenant, "admin"))
    base = f"/app/{tenant.ws_public_id}"
    token = await page_csrf(browser, f"{base}/leads")
    answer = await browser.post(f"{base}/leads/bulk", data={"csrf": token, "ids": [mine, theirs], "action": "delete"})
    assert answer.status_code == 404
    assert (await client.get(f"/v1/contacts/{mine}", headers=tenant.headers)).status_code == 200
    assert (await client.get(f"/v1/contacts/{theirs}", headers=other_tenant.headers)).status_code == 200


async def test_read_only_users_see_but_cannot_change(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    a = await _contact(client, tenant, name="A One", email="a1@x.example.com")
    browser = await signed_in(new_browser, await make_user(database, tenant, "read_only"))
    base = f"/app/{tenant.ws_public_id}"
    page = await browser.get(f"{base}/leads")
    assert "New lead" not in page.text and "Apply to selected" not in page.text
    token = await page_csrf(browser, f"{base}/leads")
    refused = await browser.post(f"{base}/leads/bulk", data={"csrf": token, "ids": [a], "action": "delete"})
    assert refused.status_code == 403
    assert (await browser.get(f"{base}/leads/new")).status_code == 403
    assert (await client.get(f"/v1/contacts/{a}", headers=tenant.headers)).status_code == 200


async def test_saved_views_belong_to_their_user(database: Database, tenant: Tenant, new_browser: Browser) -> None:
    ann = await signed_in(new_browser, await make_user(database, tenant, "member"))
    bob = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}"
    token = await page_csrf(ann, f"{base}/leads")
    saved = await ann.post(f"{base}/views", data={"csrf": token, "name": "Hot ads", "query": "source=ads&tag=hot"})
    assert saved.status_code == 303
    page = (await ann.get(f"{base}/leads")).text
    assert 'href="/app/' in page and "source=ads&amp;tag=hot" in page and "Hot ads" in page
    assert "Hot ads" not in (await bob.get(f"{base}/leads")).text
    view_id = re.search(r"/views/(view_[0-9a-z]+)/delete", page)
    assert view_id
    bob_token = await page_csrf(bob, f"{base}/leads")
    assert (await bob.post(f"{base}/views/{view_id.group(1)}/delete", data={"csrf": bob_token})).status_code == 404
    assert (await ann.post(f"{base}/views/{view_id.group(1)}/delete", data={"csrf": token})).status_code == 303
    assert "Hot ads" not in (await ann.get(f"{base}/leads")).text
