"""The dashboard: new leads per day by source, the funnel and webhook health, drawn as SVG on the server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from leadhub.core import clock
from leadhub.db.engine import Database
from tests.conftest import Tenant
from tests.web.conftest import Browser, make_user, signed_in


async def test_dashboard_counts_leads_by_day_and_source_and_draws_the_funnel(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    today = datetime.now(UTC).replace(hour=23, minute=30, second=0, microsecond=0)
    made = [
        (today - timedelta(days=40), "ads", "new"),  # outside the 30 days: not drawn, but in the funnel
        (today - timedelta(days=2), "ads", "contacted"),
        (today - timedelta(days=2), "ads", "qualified"),
        (today - timedelta(days=2), None, "converted"),
        (today, "referral", "lost"),
    ]
    try:
        for i, (when, source, status) in enumerate(made):
            clock.set_clock(lambda when=when: when)
            body = {"email": f"d{i}@example.com", "status": status, **({"source": source} if source else {})}
            assert (await client.post("/v1/contacts", json=body, headers=tenant.headers)).status_code == 201
    finally:
        clock.set_clock(None)
    browser = await signed_in(new_browser, await make_user(database, tenant, "read_only"))
    page = await browser.get(f"/app/{tenant.ws_public_id}")
    assert page.status_code == 200
    text = page.text
    day = (today - timedelta(days=2)).date().isoformat()
    assert f"<title>{day} · ads: 2</title>" in text
    assert f"<title>{day} · (no source): 1</title>" in text
    assert f"<title>{today.date().isoformat()} · referral: 1</title>" in text
    assert "4 new leads in 30 days" in text
    # Funnel: 5 leads; contacted or later 3; qualified or later 2; converted 1.
    assert "New: 5 (100%). Contacted: 3 (60%). Qualified: 2 (40%). Converted: 1 (20%)." in text
    assert "<script" not in text.split("</head>")[1]  # charts need no script


async def test_webhook_health_counts_the_last_day_of_deliveries(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    await client.post(
        "/v1/webhooks", json={"url": "https://93.184.216.34/h", "event_types": ["contact.*"]}, headers=tenant.headers
    )
    await client.post("/v1/contacts", json={"email": "w@example.com"}, headers=tenant.headers)
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    page = re.sub(r"\s+", "", (await browser.get(f"/app/{tenant.ws_public_id}")).text)
    assert "Pendingorretrying</dt><dd>1</dd>" in page, page[page.find("Delivered") :]
