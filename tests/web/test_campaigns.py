"""Campaign screens: the list with counts per queue state, create, the ICP editor (validation next to the
field, saving re-scores as the API's PATCH does), prospects in score order with their breakdown table,
the queue's transitions as buttons; roles, CSRF and the tenant wall."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

from leadhub.db.engine import Database
from leadhub.web.pages import campaigns as campaign_pages
from tests.conftest import Tenant
from tests.web.conftest import Browser, make_user, page_csrf, signed_in

CRITERIA = [
    {
        "id": "size",
        "label": "50 to 500 people",
        "field": "company.employee_count",
        "op": "range",
        "min": 50,
        "max": 500,
        "weight": 30,
    },
    {"id": "vp", "field": "contact.title", "op": "contains", "value": ["VP", "Head"], "weight": 20},
]


async def _campaign(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> str:
    answer = await client.post(
        "/v1/campaigns", json={"name": "Spring outbound", "criteria": CRITERIA, **body}, headers=tenant.headers
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def _prospect(
    client: httpx.AsyncClient, tenant: Tenant, campaign: str, name: str, title: str, size: int
) -> dict[str, Any]:
    body = {
        "contact": {"name": name, "email": f"{name.split()[0].lower()}@acme{size}.example.com", "title": title},
        "company": {"name": f"Acme {size}", "domain": f"acme{size}.example.com", "employee_count": size},
    }
    answer = await client.post(f"/v1/campaigns/{campaign}/prospects", json=body, headers=tenant.headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _prospect_names(page: str) -> list[str]:
    return re.findall(r'/prospects/prs_[0-9a-z]+">([^<]+)</a>', page)


async def test_the_list_counts_prospects_per_state_and_a_member_creates_a_campaign(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    campaign = await _campaign(client, tenant)
    await _prospect(client, tenant, campaign, "Ann Archer", "VP Sales", 120)
    await _prospect(client, tenant, campaign, "Bob Baker", "Engineer", 20)
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    url = f"/app/{tenant.ws_public_id}/campaigns"
    listing = await browser.get(url)
    assert listing.status_code == 200
    assert "Spring outbound" in listing.text
    assert f'href="{url}/{campaign}?state=queued" aria-label="Queued: 2 (Spring outbound)">2</a>' in listing.text

    token = await page_csrf(browser, url)
    refused = await browser.post(url, data={"csrf": token, "name": " ", "status": "draft"})
    assert refused.status_code == 422
    assert 'aria-invalid="true" aria-describedby="cpg-name-error"' in refused.text
    assert re.search(r'id="cpg-name-error">[^<]*at least 1 character', refused.text)
    created = await browser.post(url, data={"csrf": token, "name": "Autumn", "status": "active", "description": ""})
    assert created.status_code == 303
    page = await browser.get(created.headers["location"])
    assert "Campaign created." in page.text and "Autumn" in page.text
    api = await client.get("/v1/campaigns", headers=tenant.headers)
    assert {c["name"]: c["status"] for c in api.json()["data"]} == {"Spring outbound": "draft", "Autumn": "active"}


async def test_prospects_come_best_score_first_with_a_readable_breakdown(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    campaign = await _campaign(client, tenant)
    low = await _prospect(client, tenant, campaign, "Bob Baker", "Engineer", 20)
    high = await _prospect(client, tenant, campaign, "Ann Archer", "VP Sales", 120)
    browser = await signed_in(new_browser, await make_user(database, tenant, "read_only"))
    url = f"/app/{tenant.ws_public_id}/campaigns/{campaign}"
    page = await browser.get(url)
    assert page.status_code == 200
    assert _prospect_names(page.text) == ["Ann Archer", "Bob Baker"]
    assert high["score"] == 100 and low["score"] == 0

    detail = await browser.get(f"{url}/prospects/{high['id']}")
    assert detail.status_code == 200
    rows = re.findall(r'<tr class="result-(\w+)">(.*?)</tr>', detail.text, re.S)
    cells = [
        [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
        for _, r in rows
    ]
    assert cells == [
        ["50 to 500 people", "50 to 500", "120", "matched", "30 / 30"],
        ["contact.title contains VP, Head", "contains VP, Head", "VP Sales", "matched", "20 / 20"],
    ]
    lead = await browser.get(f"/app/{tenant.ws_public_id}/leads/{high['contact_id']}")
    assert f'<a href="{url}/prospects/{high["id"]}">Spring outbound</a> · Score 100' in lead.text
    bob = await browser.get(f"{url}/prospects/{low['id']}")
    assert '<tr class="result-not_matched">' in bob.text and "0 / 30" in bob.text
    # Read-only users see the editor and queue, and get no form that changes them.
    assert "Claim next prospect" not in page.text and "Save and re-score" not in page.text
    token = await page_csrf(browser, url)
    assert (await browser.post(f"{url}/claim", data={"csrf": token})).status_code == 403
    assert (await browser.post(f"{url}/icp", data={"csrf": token, "action": "save"})).status_code == 403


def _editor_form(token: str, rows: list[dict[str, str]], action: str = "save") -> dict[str, str]:
    data = {"csrf": token, "action": action, "c-count": str(len(rows)), "d-count": "0"}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"c-{i}-{key}"] = value
    return data


async def test_the_icp_editor_saves_and_rescores_and_shows_the_services_messages_by_the_field(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    campaign = await _campaign(client, tenant)
    bob = await _prospect(client, tenant, campaign, "Bob Baker", "Engineer", 20)
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    url = f"/app/{tenant.ws_public_id}/campaigns/{campaign}"
    token = await page_csrf(browser, url)

    bad = [
        {
            "label": "Small teams",
            "field": "company.employee_count",
            "op": "range",
            "min": "100",
            "max": "10",
            "weight": "10",
        },
        {"field": "contact.title", "op": "contains", "value": "engineer", "weight": "500"},
    ]
    refused = await browser.post(f"{url}/icp", data=_editor_form(token, bad), headers={"HX-Request": "true"})
    assert refused.status_code == 200 and "<html" not in refused.text  # HTMX swaps only a 2xx answer
    assert re.search(r'id="c-0-error" role="alert">range min must not exceed max<', refused.text)
    assert 'id="c-1-weight" name="c-1-weight" value="500" inputmode="numeric" aria-invalid="true"' in refused.text
    assert re.search(r'id="c-1-weight-error">Input should be less than or equal to 100<', refused.text)
    assert 'value="Small teams"' in refused.text  # what was typed stays
    whole_page = await browser.post(f"{url}/icp", data=_editor_form(token, bad))
    assert (
        whole_page.status_code == 422
        and "<html" in whole_page.text
        and "range min must not exceed max" in whole_page.text
    )
    unchanged = await client.get(f"/v1/campaigns/{campaign}", headers=tenant.headers)
    assert [c["id"] for c in unchanged.json()["criteria"]] == ["size", "vp"]

    added = await browser.post(f"{url}/icp", data=_editor_form(token, bad, "add-c"), headers={"HX-Request": "true"})
    assert added.status_code == 200 and 'name="c-count" value="3"' in added.text
    removed = await browser.post(
        f"{url}/icp", data=_editor_form(token, bad, "remove-c-0"), headers={"HX-Request": "true"}
    )
    assert 'name="c-count" value="1"' in removed.text and "Small teams" not in removed.text

    good = [
        {
            "label": "Small teams",
            "field": "company.employee_count",
            "op": "range",
            "min": "1",
            "max": "49",
            "weight": "10",
        },
        {"field": "contact.title", "op": "contains", "value": "engineer, developer", "weight": "30"},
        {"field": "", "op": "equals", "value": "", "weight": "10"},  # a spare row is not a rule
    ]
    saved = await browser.post(f"{url}/icp", data=_editor_form(token, good))
    assert saved.status_code == 303
    assert "Criteria saved" in (await browser.get(saved.headers["location"])).text
    after = await client.get(f"/v1/campaigns/{campaign}", headers=tenant.headers)
    assert after.json()["criteria"] == [
        {
            "label": "Small teams",
            "field": "company.employee_count",
            "op": "range",
            "min": 1.0,
            "max": 49.0,
            "weight": 10,
        },
        {"field": "contact.title", "op": "contains", "value": ["engineer", "developer"], "weight": 30},
    ]
    rescored = await client.get(f"/v1/campaigns/{campaign}/prospects/{bob['id']}", headers=tenant.headers)
    assert rescored.json()["score"] == 100 and rescored.json()["tier"] == "A"
    htmx = await browser.post(f"{url}/icp", data=_editor_form(token, good), headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith(f"{url}?notice=icp_saved")


async def test_queue_states_filter_and_the_allowed_transitions_are_buttons(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    campaign = await _campaign(client, tenant)
    ann = await _prospect(client, tenant, campaign, "Ann Archer", "VP Sales", 120)
    bob = await _prospect(client, tenant, campaign, "Bob Baker", "Engineer", 20)
    member = await make_user(database, tenant, "member")
    browser = await signed_in(new_browser, member)
    url = f"/app/{tenant.ws_public_id}/campaigns/{campaign}"
    token = await page_csrf(browser, url)

    draft = await browser.post(f"{url}/claim", data={"csrf": token})
    assert draft.status_code == 409 and "only an active campaign hands out prospects" in draft.text
    await client.patch(f"/v1/campaigns/{campaign}", json={"status": "active"}, headers=tenant.headers)
    claimed = await browser.post(f"{url}/claim", data={"csrf": token})
    assert claimed.status_code == 303 and "state=in_progress" in claimed.headers["location"]
    mine = await browser.get(claimed.headers["location"])
    assert "Claimed 1 prospect(s) for you." in mine.text
    assert _prospect_names(mine.text) == ["Ann Archer"]  # the best score is claimed first
    assert f"Claimed by {member.email} until" in mine.text
    assert "Release: Ann Archer" in mine.text and "Contacted: Ann Archer" in mine.text
    queued = await browser.get(f"{url}?state=queued")
    assert _prospect_names(queued.text) == ["Bob Baker"]
    assert "Release: Bob Baker" not in queued.text and "Contacted: Bob Baker" in queued.text

    outcome = f"{url}/prospects/{ann['id']}/outcome"
    moved = await browser.post(outcome, data={"csrf": token, "outcome": "contacted"})
    assert moved.status_code == 303
    assert "Prospect moved to Contacted." in (await browser.get(moved.headers["location"])).text
    state = await client.get(f"/v1/campaigns/{campaign}/prospects/{ann['id']}", headers=tenant.headers)
    assert state.json()["state"] == "contacted"
    refused = await browser.post(outcome, data={"csrf": token, "outcome": "released"})
    assert refused.status_code == 409 and "cannot be reported" in refused.text
    counts = await client.get(f"/v1/campaigns/{campaign}/counts", headers=tenant.headers)
    assert counts.json()["contacted"] == 1 and counts.json()["queued"] == 1
    page = await browser.get(url)
    assert re.search(r"Contacted <span class=\"count\">1</span>", page.text)
    prospect = await browser.post(
        f"{url}/prospects/{bob['id']}/outcome", data={"csrf": token, "outcome": "disqualified", "back": "prospect"}
    )
    assert prospect.headers["location"].startswith(f"{url}/prospects/{bob['id']}")


async def test_every_campaign_form_needs_the_csrf_token(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    campaign = await _campaign(client, tenant, status="active")
    ann = await _prospect(client, tenant, campaign, "Ann Archer", "VP Sales", 120)
    browser = await signed_in(new_browser, await make_user(database, tenant, "owner"))
    base = f"/app/{tenant.ws_public_id}/campaigns"
    for path, data in (
        (base, {"name": "x"}),
        (f"{base}/{campaign}", {"name": "y"}),
        (f"{base}/{campaign}/icp", {"action": "save"}),
        (f"{base}/{campaign}/claim", {}),
        (f"{base}/{campaign}/prospects/{ann['id']}/outcome", {"outcome": "contacted"}),
    ):
        refused = await browser.post(path, data={**data, "csrf": "forged"})
        assert refused.status_code == 403, path
        assert "security token mismatch" in refused.text
    names = await client.get("/v1/campaigns", headers=tenant.headers)
    assert [c["name"] for c in names.json()["data"]] == ["Spring outbound"]


async def test_another_workspaces_campaign_is_not_found_by_url(
    database: Database, tenant: Tenant, other_tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    theirs = await _campaign(client, other_tenant, status="active")
    prospect = await _prospect(client, other_tenant, theirs, "Ann Archer", "VP Sales", 120)
    browser = await signed_in(new_browser, await make_user(database, tenant, "owner"))
    base = f"/app/{tenant.ws_public_id}/campaigns"
    assert (await browser.get(f"{base}/{theirs}")).status_code == 404
    assert (await browser.get(f"{base}/{theirs}/prospects/{prospect['id']}")).status_code == 404
    assert (await browser.get(f"/app/{other_tenant.ws_public_id}/campaigns/{theirs}")).status_code == 404
    token = await page_csrf(browser, base)
    assert (await browser.post(f"{base}/{theirs}/claim", data={"csrf": token})).status_code == 404
    outcome = f"{base}/{theirs}/prospects/{prospect['id']}/outcome"
    assert (await browser.post(outcome, data={"csrf": token, "outcome": "contacted"})).status_code == 404
    assert "Spring outbound" not in (await browser.get(base)).text
    state = await client.get(f"/v1/campaigns/{theirs}/prospects/{prospect['id']}", headers=other_tenant.headers)
    assert state.json()["state"] == "queued"


async def test_the_list_pages_and_the_dashboard_shows_active_queues(
    database: Database,
    tenant: Tenant,
    client: httpx.AsyncClient,
    new_browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = [await _campaign(client, tenant, name=f"Wave {i}", status="active" if i else "paused") for i in range(3)]
    await _prospect(client, tenant, made[2], "Ann Archer", "VP Sales", 120)
    monkeypatch.setattr(campaign_pages, "LIST_LIMIT", 2)
    browser = await signed_in(new_browser, await make_user(database, tenant, "read_only"))
    url: str | None = f"/app/{tenant.ws_public_id}/campaigns"
    seen: list[str] = []
    while url:
        page = await browser.get(url)
        seen += re.findall(r'/campaigns/(cpg_[0-9a-z]+)">Wave', page.text)
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == made[::-1]  # newest first, each once
    broken = await browser.get(f"/app/{tenant.ws_public_id}/campaigns?cursor=garbage")
    assert broken.status_code == 200 and "cursor: is not a cursor of this listing" in broken.text

    dashboard = await browser.get(f"/app/{tenant.ws_public_id}")
    queues = re.search(r'id="queues-h">.*?</section>', dashboard.text, re.S)
    assert queues
    rows = re.findall(r'">(Wave \d)</a></td><td class="num">(\d+)</td>', queues.group(0))
    assert rows == [("Wave 2", "1"), ("Wave 1", "0")]  # the paused one is not shown


async def test_a_member_adds_an_existing_lead_by_email_or_id_and_it_is_scored_and_queued(
    database: Database, tenant: Tenant, other_tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    campaign = await _campaign(client, tenant)
    made = await client.post(
        "/v1/contacts",
        json={"name": "Dee Dale", "email": "dee@example.com", "title": "Head of Sales"},
        headers=tenant.headers,
    )
    theirs = await client.post(
        "/v1/contacts", json={"name": "Eve", "email": "eve@example.com"}, headers=other_tenant.headers
    )
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    url = f"/app/{tenant.ws_public_id}/campaigns/{campaign}"
    token = await page_csrf(browser, url)

    added = await browser.post(f"{url}/prospects", data={"csrf": token, "lead": "DEE@example.com"})
    assert added.status_code == 303
    page = await browser.get(added.headers["location"])
    assert "Lead added: scored and queued." in page.text and _prospect_names(page.text) == ["Dee Dale"]
    listed = await client.get(f"/v1/campaigns/{campaign}/prospects", headers=tenant.headers)
    [prospect] = listed.json()["data"]
    assert prospect["contact_id"] == made.json()["id"] and prospect["state"] == "queued"
    assert [c["result"] for c in prospect["breakdown"]["criteria"]] == ["unknown", "matched"]
    again = await browser.post(f"{url}/prospects", data={"csrf": token, "lead": made.json()["id"]})
    assert "already in this campaign" in (await browser.get(again.headers["location"])).text

    for given, message in (
        ("nobody@example.com", "no lead with this email or id in this workspace"),
        (theirs.json()["id"], "no lead with this email or id in this workspace"),
        ("dee@", "is not a valid email address"),
        ("", "give a lead&#39;s email or id"),
    ):
        refused = await browser.post(f"{url}/prospects", data={"csrf": token, "lead": given})
        assert refused.status_code == 422, given
        assert re.search(rf'id="add-lead-error">[^<]*{message}', refused.text), (given, refused.text[-3000:])
    assert (
        await browser.post(f"{url}/prospects", data={"csrf": "forged", "lead": "dee@example.com"})
    ).status_code == 403
