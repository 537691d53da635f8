"""Export from the leads list: the list's current filters decide the rows, CSV or JSON Lines, streamed."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import orjson

from leadhub.db.engine import Database
from tests.conftest import Tenant
from tests.web.conftest import Browser, make_user, signed_in


async def _contact(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> None:
    answer = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert answer.status_code == 201, answer.text


async def test_export_carries_the_lists_filters_as_csv_or_json_lines(
    database: Database, tenant: Tenant, other_tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    await _contact(client, tenant, name="Ann Archer", email="ann@example.com", status="qualified", tags=["vip"])
    await _contact(client, tenant, name="Bob Baker", email="bob@example.com", status="new", tags=["vip"])
    await _contact(client, tenant, name="Cy Clark", email="cy@example.com", status="qualified")
    await _contact(client, other_tenant, name="Ann Elsewhere", email="ann@elsewhere.example.com", status="qualified")
    browser = await signed_in(new_browser, await make_user(database, tenant, "read_only"))
    base = f"/app/{tenant.ws_public_id}/leads"

    listing = await browser.get(f"{base}?status=qualified&tag=vip&sort=updated_at")
    link = re.search(r'href="([^"]+/leads/export\?[^"]*format=csv)"', listing.text)
    assert link
    exported = await browser.get(link.group(1).replace("&amp;", "&"))
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="leads.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["name"], r["emails"], r["tags"]) for r in rows] == [("Ann Archer", "ann@example.com", "vip")]

    lines = await browser.get(f"{base}/export?format=jsonl&status=qualified")
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    names = sorted(orjson.loads(line)["name"] for line in lines.text.splitlines())
    assert names == ["Ann Archer", "Cy Clark"]  # never another workspace's lead

    bad = await browser.get(f"{base}/export?format=xlsx&created_after=yesterday")
    assert bad.status_code == 422
    assert "format: must be one of: csv, jsonl" in bad.text and "created_after: must be a date" in bad.text
    partial = await browser.get(f"{base}?q=bob", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "/leads/export?q=bob&amp;format=csv" in partial.text  # instant search keeps the export in step


async def test_another_workspaces_leads_cannot_be_exported(
    database: Database, tenant: Tenant, other_tenant: Tenant, new_browser: Browser
) -> None:
    browser = await signed_in(new_browser, await make_user(database, tenant, "owner"))
    assert (await browser.get(f"/app/{other_tenant.ws_public_id}/leads/export")).status_code == 404
