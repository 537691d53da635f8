"""The pipeline board, the deal page and My tasks, over the deals and tasks services."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from leadhub.db.engine import Database
from tests.conftest import Tenant
from tests.web.conftest import Browser, make_user, page_csrf, signed_in


async def test_moving_a_card_changes_the_stage_and_shows_in_the_deal_history(
    database: Database, tenant: Tenant, other_tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    deal = await client.post(
        "/v1/deals", json={"name": "Acme renewal", "value": "1200.50", "currency": "EUR"}, headers=tenant.headers
    )
    assert deal.status_code == 201, deal.text
    deal_id = deal.json()["id"]
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}"
    board = await browser.get(f"{base}/pipeline")
    assert board.status_code == 200 and "Acme renewal" in board.text
    assert "Total 1,200.50 EUR · Weighted 120.05 EUR" in board.text
    assert 'aria-label="Move Acme renewal to the next stage"' in board.text
    token = await page_csrf(browser, f"{base}/pipeline")
    # The keyboard path: the card's "next stage" button posts its current stage then the pressed button's.
    moved = await browser.post(f"{base}/deals/{deal_id}/move", data={"csrf": token, "stage": ["new", "contacted"]})
    assert moved.status_code == 303
    assert (await client.get(f"/v1/deals/{deal_id}", headers=tenant.headers)).json()["stage"] == "contacted"
    bad = await browser.post(f"{base}/deals/{deal_id}/move", data={"csrf": token, "stage": "nowhere"})
    assert bad.status_code == 422 and "stage" in bad.text
    page = await browser.get(f"{base}/deals/{deal_id}")
    assert re.search(r'class="what">contacted<.*class="what">new<', page.text, re.S)

    outsider = await signed_in(new_browser, await make_user(database, other_tenant, "owner"))
    assert (await outsider.get(f"/app/{other_tenant.ws_public_id}/deals/{deal_id}")).status_code == 404
    other_token = await page_csrf(outsider, f"/app/{other_tenant.ws_public_id}/pipeline")
    refused = await outsider.post(
        f"/app/{other_tenant.ws_public_id}/deals/{deal_id}/move", data={"csrf": other_token, "stage": "won"}
    )
    assert refused.status_code == 404


async def test_my_tasks_are_grouped_by_due_date_and_complete_in_one_click(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    user = await make_user(database, tenant, "member")
    now = datetime.now(UTC)
    for title, due in (("Call back", now - timedelta(days=2)), ("Send offer", now + timedelta(days=3))):
        made = await client.post(
            "/v1/tasks",
            json={"title": title, "due_at": due.isoformat(), "assignee": user.email},
            headers=tenant.headers,
        )
        assert made.status_code == 201, made.text
    await client.post(
        "/v1/tasks", json={"title": "Someone else's", "assignee": "x@example.com"}, headers=tenant.headers
    )
    browser = await signed_in(new_browser, user)
    base = f"/app/{tenant.ws_public_id}"
    page = (await browser.get(f"{base}/tasks")).text
    overdue, upcoming = page.index("Overdue"), page.index("Upcoming")
    assert overdue < page.index("Call back") < upcoming < page.index("Send offer")
    assert "Someone else" not in page
    task_id = re.search(r"/tasks/(task_[0-9a-z]+)/complete\"[^<]*<[^<]*<button[^>]*Complete task Call back", page, re.S)
    assert task_id
    token = await page_csrf(browser, f"{base}/tasks")
    done = await browser.post(f"{base}/tasks/{task_id.group(1)}/complete", data={"csrf": token})
    assert done.status_code == 303
    after = (await browser.get(done.headers["location"])).text
    assert "Task completed." in after and "Call back" not in after
