"""End-to-end in Debian's Chromium (driven by Playwright for Python, never a downloaded browser) against a
real `leadhub serve` process: sign in, create and edit a lead, search, keys, drag a deal, the tenant wall,
import a CSV with a bad row and download its error file, a campaign's ICP editor and score breakdown, export,
an axe-core accessibility check of each main page, and screenshots of each main screen in docs/screenshots/.

Skips with a message when /usr/bin/chromium or Playwright is missing (`apt-get install chromium`)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from leadhub.auth import service as auth
from leadhub.auth.models import Organization, Workspace
from leadhub.db.engine import Database
from leadhub.uow import unit_of_work
from leadhub.users import service as users
from tests.conftest import ENGINE

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"

pytestmark = [
    pytest.mark.skipif(ENGINE != "sqlite", reason="engine-independent: runs once, in the SQLite run"),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
    pytest.mark.slow,
]
pw = pytest.importorskip("playwright.async_api", reason="browser tests need Playwright for Python (pip)")


@dataclass
class Site:
    base: str
    ws: str
    other_ws: str
    email: str
    deal_id: str
    key: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _seed(url: str) -> tuple[str, str]:
    """An owner in the first organization, and a second organization (another tenant) with its own workspace."""
    db = Database(url)
    try:
        async with unit_of_work(db) as session:
            org = await session.scalar(select(Organization).order_by(Organization.created_at).limit(1))
            assert org is not None
            ws = await session.scalar(select(Workspace).where(Workspace.organization_id == org.id))
            assert ws is not None
            await users.create_user(session, org.id, email="owner@example.com", password=PASSWORD, role="owner")
            other_org = await auth.create_organization(session, "Other company")
            other_ws = await auth.create_workspace(session, other_org.id, "Their workspace")
            return ws.public_id, other_ws.public_id
    finally:
        await db.dispose()


async def _ready(url: str, seconds: float = 60) -> None:
    """Poll until the server answers, with a deadline."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url, timeout=1)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {url}")


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    data = tmp_path_factory.mktemp("browser-data")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADHUB_")}
    env.update({"LEADHUB_DATA_DIR": str(data), "LEADHUB_HOST": "127.0.0.1", "LEADHUB_PORT": str(port)})
    log = (data / "serve.log").open("w")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "leadhub", "serve", "--log-level", "warning", env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await _ready(f"{base}/healthz")
        output = (data / "serve.log").read_text()
        key = re.search(r"\blh_[0-9A-Za-z]{38}\b", output)
        assert key, output
        ws, other_ws = await _seed(f"sqlite+aiosqlite:///{data / 'leadhub.db'}")
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key.group(0)}"}) as api:
            for i, (name, source) in enumerate(
                (("Ada Lovelace", "ads"), ("Grace Hopper", "referral"), ("Alan Turing", "ads"))
            ):
                body = {"name": name, "email": f"lead{i}@example.com", "source": source, "tags": ["spring"]}
                assert (await api.post("/v1/contacts", json=body)).status_code == 201
            deal = await api.post("/v1/deals", json={"name": "Analytical engine", "value": "5000", "currency": "GBP"})
        assert deal.status_code == 201, deal.text
        yield Site(base, ws, other_ws, "owner@example.com", deal.json()["id"], key.group(0))
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with pw.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield chromium
        await chromium.close()


@pytest.fixture(scope="module")
async def page(browser: Any, site: Site) -> AsyncIterator[Any]:
    # bypass_csp lets the test inject axe-core; the app's own pages carry no inline script.
    context = await browser.new_context(viewport={"width": 1280, "height": 860}, bypass_csp=True)
    context.set_default_timeout(10_000)
    tab = await context.new_page()
    tab.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await tab.goto(f"{site.base}/app/")
    assert "/app/sign-in" in tab.url
    await accessible(tab)
    await shot(tab, "sign-in")
    await tab.get_by_label("Email").fill(site.email)
    await tab.get_by_label("Password").fill(PASSWORD)
    await tab.get_by_role("button", name="Sign in").click()
    await tab.wait_for_url(re.compile(rf".*/app/{site.ws}$"))
    yield tab
    await context.close()


async def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def accessible(page: Any) -> None:
    """No serious or critical axe-core violation on the page as it stands."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{page.url}: {serious}"


async def test_dashboard_and_leads_list_with_instant_search(page: Any, site: Site) -> None:
    await pw.expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    await pw.expect(page.locator("svg.chart rect").first).to_be_attached()
    await accessible(page)
    await shot(page, "dashboard")
    await page.get_by_role("link", name="Leads", exact=True).click()
    rows = page.locator("#results tbody tr")
    await pw.expect(rows).to_have_count(3)
    await page.get_by_label("Search leads").fill("grace")
    await pw.expect(rows).to_have_count(1)
    await pw.expect(rows.first).to_contain_text("Grace Hopper")
    assert "q=grace" in page.url  # the search is in the URL: reload and share keep it
    await page.get_by_label("Search leads").fill("")
    await pw.expect(rows).to_have_count(3)
    await accessible(page)
    await shot(page, "leads")
    await page.set_viewport_size({"width": 390, "height": 844})
    await shot(page, "leads-phone")
    await page.set_viewport_size({"width": 1280, "height": 860})


async def test_create_a_lead_with_a_bad_phone_then_edit_it_in_place(page: Any, site: Site) -> None:
    await page.goto(f"{site.base}/app/{site.ws}/leads/new")
    await page.get_by_label("First name").fill("Katherine")
    await page.get_by_label("Last name").fill("Johnson")
    await page.get_by_label("Email").fill("katherine@example.com")
    await page.get_by_label("Phone").fill("call me maybe")
    await page.get_by_role("button", name="Create lead").click()
    await pw.expect(page.get_by_role("alert")).to_contain_text("phone: is not a phone number (E.164 expected")
    await page.get_by_label("Phone").fill("+1 757 555 0142")
    await page.get_by_role("button", name="Create lead").click()
    await pw.expect(page.get_by_role("heading", name="Katherine Johnson")).to_be_visible()

    phones = page.locator("#section-phones")
    await phones.get_by_label("Number 2").fill("12")
    await phones.get_by_role("button", name="Save").click()
    await pw.expect(page.locator("#section-phones .field-error")).to_contain_text("is not a possible phone number")
    await page.locator("#section-phones").get_by_label("Number 2").fill("+1 757 555 0199")
    await page.locator("#section-phones").get_by_role("button", name="Save").click()
    await pw.expect(page.locator("#section-phones")).to_contain_text("Saved.")
    await pw.expect(page.locator("#timeline")).to_contain_text("by owner@example.com via web")
    await accessible(page)
    await shot(page, "lead")


async def _status_with_key(site: Site, key: str) -> int:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{site.base}/v1/contacts", headers={"Authorization": f"Bearer {key}"})
    return answer.status_code


async def test_create_and_revoke_an_api_key(page: Any, site: Site) -> None:
    await page.goto(f"{site.base}/app/{site.ws}/settings/keys")
    await page.get_by_label("Name", exact=True).fill("zapier")
    await page.get_by_label("contacts.read").check()
    await page.get_by_role("button", name="Create key").click()
    secret = await page.locator("#new-secret").inner_text()
    assert re.fullmatch(r"lh_[0-9A-Za-z]{38}", secret)
    assert await _status_with_key(site, secret) == 200
    await accessible(page)
    await shot(page, "settings-keys")
    await page.get_by_role("button", name="Revoke key zapier").click()
    await pw.expect(page.get_by_role("status")).to_contain_text("stops working at once")
    assert await _status_with_key(site, secret) == 401


async def test_drag_a_deal_to_another_stage_and_see_it_in_its_history(page: Any, site: Site) -> None:
    await page.goto(f"{site.base}/app/{site.ws}/pipeline")
    card = page.locator(f"[data-deal='{site.deal_id}']")
    await pw.expect(page.locator("[data-stage='new']")).to_contain_text("Analytical engine")
    await accessible(page)
    await shot(page, "pipeline")
    await card.drag_to(page.locator("[data-stage='qualified']"))
    await pw.expect(page.locator("[data-stage='qualified']")).to_contain_text("Analytical engine")
    await pw.expect(page.get_by_role("status")).to_contain_text("Deal moved.")
    await page.get_by_role("button", name="Move Analytical engine to the next stage").click()  # the keyboard path
    await pw.expect(page.locator("[data-stage='proposal']")).to_contain_text("Analytical engine")
    await page.get_by_role("link", name="Analytical engine").click()
    history = page.locator(".timeline")
    await pw.expect(history).to_contain_text("proposal")
    await pw.expect(history).to_contain_text("qualified")
    await page.goto(f"{site.base}/app/{site.ws}/tasks")
    await accessible(page)
    await shot(page, "tasks")


async def test_another_tenants_workspace_is_not_found_by_url(page: Any, site: Site) -> None:
    answer = await page.goto(f"{site.base}/app/{site.other_ws}/leads")
    assert answer is not None and answer.status == 404
    await pw.expect(page.get_by_role("heading", name="Not found")).to_be_visible()


IMPORT_CSV = (
    "First Name,Last Name,E-mail,Favourite colour\n"
    "Mary,Jackson,mary@example.com,teal\n"
    "Dorothy,Vaughan,dorothy-at-example,amber\n"
    "Annie,Easley,annie@example.com,violet\n"
)


async def test_import_a_small_csv_with_one_bad_row_and_download_its_error_file(
    page: Any, site: Site, tmp_path: Path
) -> None:
    await page.goto(f"{site.base}/app/{site.ws}")
    await page.get_by_role("link", name="Import", exact=True).click()
    await accessible(page)
    await page.get_by_label("File (CSV or JSON Lines)").set_input_files(
        {"name": "pioneers.csv", "mimeType": "text/csv", "buffer": IMPORT_CSV.encode()}
    )
    await page.get_by_role("button", name="Upload and map columns").click()
    await pw.expect(page.get_by_role("heading", name="Column mapping: pioneers.csv")).to_be_visible()
    await pw.expect(page.get_by_label("Where column E-mail goes")).to_have_value("email")
    await pw.expect(page.get_by_label("Where column First Name goes")).to_have_value("first_name")
    await pw.expect(page.get_by_label("Where column Favourite colour goes")).to_have_value("ignore")
    await page.get_by_label("Where column Favourite colour goes").select_option("custom_fields.favourite_colour")
    await accessible(page)
    await shot(page, "import-mapping")

    await page.get_by_role("button", name="Dry run (check every row, change nothing)").click()
    job = page.locator("#job")
    await pw.expect(job.get_by_role("heading", name="Dry-run report: nothing was changed")).to_be_visible()
    await pw.expect(job.locator("[data-count=created]")).to_have_text("2")
    await pw.expect(job.locator("[data-count=failed]")).to_have_text("1")
    await pw.expect(job.locator("table.issues")).to_contain_text("E-mail")
    await accessible(page)
    await shot(page, "import-dry-run")

    await page.get_by_role("button", name="Start the import with these settings").click()
    await pw.expect(page.get_by_role("heading", name="Import: pioneers.csv")).to_be_visible()
    # HTMX polls the progress partial until the job is done; the bar then stands at 100.
    await pw.expect(job.locator("[data-status]")).to_have_text("Done", timeout=30_000)
    await pw.expect(page.locator("#job-bar")).to_have_attribute("value", "100")
    await pw.expect(job.locator("[data-count=created]")).to_have_text("2")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download the error file (CSV)").click()
    download = await download_info.value
    saved = tmp_path / "errors.csv"
    await download.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0] == "row,kind,column,value_kind,rule,message,merged_into_row"
    assert len(lines) == 2 and lines[1].startswith("2,error,E-mail,")
    assert "dorothy-at-example" not in saved.read_text()
    await accessible(page)
    await shot(page, "import-progress")
    await page.goto(f"{site.base}/app/{site.ws}/imports")
    await pw.expect(page.locator("table")).to_contain_text("pioneers.csv")
    await shot(page, "imports")


async def test_export_the_filtered_leads_list(page: Any, site: Site, tmp_path: Path) -> None:
    await page.goto(f"{site.base}/app/{site.ws}/leads?source=referral")
    await pw.expect(page.locator("#results tbody tr")).to_have_count(1)
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Export CSV").click()
    saved = tmp_path / "leads.csv"
    await (await download_info.value).save_as(saved)
    lines = saved.read_text().splitlines()
    assert len(lines) == 2 and "Grace Hopper" in lines[1]


async def _prospect(site: Site, campaign: str, name: str, title: str, size: int) -> None:
    body = {
        "contact": {"name": name, "email": f"{name.split()[0].lower()}@co{size}.example.com", "title": title},
        "company": {"name": f"Company {size}", "domain": f"co{size}.example.com", "employee_count": size},
    }
    async with httpx.AsyncClient(base_url=site.base, headers={"Authorization": f"Bearer {site.key}"}) as api:
        answer = await api.post(f"/v1/campaigns/{campaign}/prospects", json=body)
    assert answer.status_code == 201, answer.text


async def test_a_campaigns_icp_editor_breakdown_and_queue(page: Any, site: Site) -> None:
    await page.goto(f"{site.base}/app/{site.ws}")
    await page.get_by_role("link", name="Campaigns", exact=True).click()
    await page.get_by_label("Name").fill("Mid-market VPs")
    await page.get_by_label("Status").select_option("active")
    await page.get_by_role("button", name="Create campaign").click()
    await pw.expect(page.get_by_role("status")).to_contain_text("Campaign created.")
    campaign = page.url.split("/campaigns/")[1].split("?")[0]
    await _prospect(site, campaign, "Ann Archer", "VP Sales", 120)
    await _prospect(site, campaign, "Bob Baker", "Engineer", 12)
    await _prospect(site, campaign, "Cy Clark", "Head of Growth", 2000)

    editor = page.locator("#icp")
    await page.reload()
    await editor.get_by_role("button", name="Add a criterion").click()
    await pw.expect(editor.get_by_role("status")).to_contain_text("Not saved yet")
    await editor.get_by_label("Label").fill("50 to 500 people")
    await editor.get_by_label("Field").select_option("company.employee_count")
    await editor.get_by_label("Test").select_option("range")
    await editor.get_by_label("Min").fill("500")
    await editor.get_by_label("Max").fill("50")
    await editor.get_by_label("Weight").fill("30")
    await editor.get_by_role("button", name="Add a criterion").click()
    second = editor.locator("fieldset.rule").nth(1)
    await second.get_by_label("Field").select_option("contact.title")
    await second.get_by_label("Test").select_option("contains")
    await second.get_by_label("Value").fill("VP, Head")
    await second.get_by_label("Weight").fill("20")
    await editor.get_by_role("button", name="Save and re-score").click()
    # The service's message, next to the row it is about; nothing saved.
    await pw.expect(editor.locator("#c-0-error")).to_have_text("range min must not exceed max")
    await editor.get_by_label("Min").first.fill("50")
    await editor.get_by_label("Max").first.fill("500")
    await editor.get_by_role("button", name="Save and re-score").click()
    await pw.expect(page.get_by_role("status").first).to_contain_text("Criteria saved")

    names = page.locator("table.prospects tbody tr td:nth-child(3) > a")
    await pw.expect(names).to_have_text(["Ann Archer", "Cy Clark", "Bob Baker"])
    first = page.locator("table.prospects tbody tr").first
    await pw.expect(first.locator("td.score")).to_have_text("100")
    await first.get_by_text("Why 100?").click()
    breakdown = first.locator("table.breakdown")
    await pw.expect(breakdown.locator("tbody tr").first).to_contain_text("50 to 500 people")
    await pw.expect(breakdown.locator("tbody tr").first).to_contain_text("30 / 30")
    await accessible(page)
    await shot(page, "campaign")
    await page.set_viewport_size({"width": 390, "height": 844})
    await shot(page, "campaign-phone")
    await page.set_viewport_size({"width": 1280, "height": 860})

    await page.get_by_role("button", name="Claim next prospect").click()
    await pw.expect(page.get_by_role("status").first).to_contain_text("Claimed 1 prospect(s) for you.")
    await page.get_by_role("button", name="Contacted: Ann Archer").click()
    await pw.expect(page.get_by_role("status").first).to_contain_text("Prospect moved to Contacted.")
    await page.get_by_label("Lead's email or id").fill("lead1@example.com")
    await page.get_by_role("button", name="Add to campaign").click()
    await pw.expect(page.get_by_role("status").first).to_contain_text("Lead added: scored and queued.")
    await pw.expect(page.locator("table.prospects")).to_contain_text("Grace Hopper")
    await page.get_by_role("link", name="Contacted 1").click()
    await page.get_by_role("link", name="Ann Archer").click()
    await pw.expect(page.get_by_role("heading", name="Score breakdown")).to_be_visible()
    await pw.expect(page.locator("table.breakdown tbody tr")).to_have_count(2)
    await accessible(page)
    await shot(page, "prospect")
    await page.goto(f"{site.base}/app/{site.ws}/campaigns")
    await accessible(page)
    await shot(page, "campaigns")
