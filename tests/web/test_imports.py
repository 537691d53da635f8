"""Import screens: upload, the detected mapping (changeable per column), dry-run report, start, progress
polled as a partial, the per-row error file; the recent imports; roles, CSRF and the tenant wall."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import time
from pathlib import Path

import httpx

from leadhub.config import Settings
from leadhub.db.engine import Database
from leadhub.web.pages import imports as imports_page
from tests.conftest import Tenant
from tests.web.conftest import Browser, make_user, page_csrf, signed_in

CSV = (
    "First Name,Last Name,E-mail,Phone,Favourite colour,Internal id\n"
    "Ada,Lovelace,ada@example.com,+44 20 7946 0018,green,a1\n"
    "Grace,Hopper,not-an-email,,blue,a2\n"
    "Alan,Turing,alan@example.com,,red,a3\n"
)
OPTIONS = {"mode": "upsert", "match_keys": "both"}


async def _upload(browser: httpx.AsyncClient, base: str, body: str, name: str = "people.csv") -> httpx.Response:
    token = await page_csrf(browser, base)
    return await browser.post(f"{base}/upload", data={"csrf": token}, files={"file": (name, body.encode(), "text/csv")})


def _selected(page: str, index: int) -> str:
    select = re.search(rf'<select id="map-{index}" name="map-{index}".*?</select>', page, re.S)
    assert select, index
    chosen = re.search(r'<option value="([^"]+)" selected>', select.group(0))
    assert chosen, select.group(0)[:300]
    return chosen.group(1)


async def _finished(browser: httpx.AsyncClient, job_url: str, seconds: float = 30) -> str:
    """Poll the progress partial (as HTMX does) until the job has ended, with a deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        partial = await browser.get(f"{job_url}/progress", headers={"HX-Request": "true"})
        assert partial.status_code == 200 and "<html" not in partial.text
        if "hx-trigger" not in partial.text:
            return partial.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{job_url} did not finish in {seconds} s")


def _count(page: str, name: str) -> int:
    found = re.search(rf'data-count="{name}">(\d+)<', page)
    assert found, name
    return int(found.group(1))


async def test_upload_map_dry_run_start_and_download_the_error_file(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}/imports"
    uploaded = await _upload(browser, base, CSV)
    assert uploaded.status_code == 303
    mapping_url = uploaded.headers["location"]
    form = await browser.get(mapping_url)
    assert form.status_code == 200
    detected = [_selected(form.text, i) for i in range(6)]
    assert detected == ["first_name", "last_name", "email", "phone", "ignore", "ignore"]
    assert "ada@example.com" in form.text  # a sample of each column helps to choose
    assert "New custom field “favourite_colour”" in form.text

    token = await page_csrf(browser, mapping_url)
    choice = {f"map-{i}": target for i, target in enumerate(detected)}
    choice["map-4"] = "custom_fields.favourite_colour"
    data = {"csrf": token, **choice, "mode": "upsert", "match_keys": "both"}
    dry = await browser.post(mapping_url, data={**data, "action": "dry_run"})
    assert dry.status_code == 303
    dry_url = dry.headers["location"].split("?")[0]
    report = await _finished(browser, dry_url)
    assert "Dry-run report" in report
    assert (_count(report, "rows_read"), _count(report, "created"), _count(report, "failed")) == (3, 2, 1)
    assert re.search(r'<td class="num">2</td><td>E-mail</td>', report)
    assert (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"] == []  # nothing kept

    page = await browser.get(dry.headers["location"])
    assert "Start the import with these settings" in page.text
    start = re.search(r'action="([^"]+/start)"', page.text)
    assert start
    upload_token = re.search(r'name="upload" value="([0-9a-f]{32})"', page.text)
    assert upload_token
    started = await browser.post(start.group(1), data={"csrf": token, "upload": upload_token.group(1)})
    assert started.status_code == 303
    job_url = started.headers["location"]
    done = await _finished(browser, job_url)
    assert (_count(done, "created"), _count(done, "failed")) == (2, 1)
    assert "Dry-run report" not in done

    errors = await browser.get(f"{job_url}/errors")
    assert errors.status_code == 200 and errors.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(errors.text)))
    assert [(r["row"], r["column"], r["kind"]) for r in rows] == [("2", "E-mail", "error")]
    assert "not-an-email" not in errors.text  # the error file never holds the value

    contacts = (await client.get("/v1/contacts?sort=created_at", headers=tenant.headers)).json()["data"]
    assert [(c["name"], c["custom_fields"]) for c in contacts] == [
        ("Ada Lovelace", {"favourite_colour": "green"}),
        ("Alan Turing", {"favourite_colour": "red"}),
    ]
    listing = await browser.get(base)
    assert listing.text.count(">people.csv</a>") == 2  # the dry run and the import
    assert (await browser.get(mapping_url)).status_code == 404  # the upload was used up by the import


async def test_a_bad_file_or_option_is_explained_next_to_the_form(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}/imports"
    empty = await _upload(browser, base, "")
    assert empty.status_code == 422 and "file: the file is empty" in empty.text
    uploaded = await _upload(browser, base, CSV)
    token = await page_csrf(browser, uploaded.headers["location"])
    refused = await browser.post(
        uploaded.headers["location"],
        data={"csrf": token, "map-0": "nickname", "mode": "sometimes", "match_keys": "both", "action": "start"},
    )
    assert refused.status_code == 422
    assert "mode: must be one of: create_only, update_only, upsert, skip_existing" in refused.text


async def test_read_only_users_see_imports_but_cannot_upload_and_every_form_needs_csrf(
    database: Database, tenant: Tenant, new_browser: Browser
) -> None:
    member = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}/imports"
    uploaded = await _upload(member, base, CSV)
    mapping_url = uploaded.headers["location"]
    forged = {"csrf": "forged"}
    assert (
        await member.post(f"{base}/upload", data=forged, files={"file": ("a.csv", b"email\nx@y.z\n")})
    ).status_code == 403
    assert (await member.post(mapping_url, data={**forged, "action": "dry_run"})).status_code == 403
    token = await page_csrf(member, mapping_url)
    dry = await member.post(mapping_url, data={"csrf": token, "map-2": "email", "action": "dry_run", **OPTIONS})
    job_url = dry.headers["location"].split("?")[0]
    await _finished(member, job_url)
    assert (await member.post(f"{job_url}/start", data=forged)).status_code == 403

    reader = await signed_in(new_browser, await make_user(database, tenant, "read_only"))
    listing = await reader.get(base)
    assert listing.status_code == 200 and "people.csv" in listing.text and 'type="file"' not in listing.text
    token = await page_csrf(reader, base)
    assert (
        await reader.post(f"{base}/upload", data={"csrf": token}, files={"file": ("a.csv", b"email\n")})
    ).status_code == 403
    assert (await reader.get(mapping_url)).status_code == 403
    report = await reader.get(job_url)
    assert report.status_code == 200 and "Start the import" not in report.text


async def test_another_workspaces_import_and_upload_are_not_found_by_url(
    database: Database, tenant: Tenant, other_tenant: Tenant, new_browser: Browser
) -> None:
    theirs = await signed_in(new_browser, await make_user(database, other_tenant, "owner"))
    their_base = f"/app/{other_tenant.ws_public_id}/imports"
    uploaded = await _upload(theirs, their_base, CSV)
    their_mapping = uploaded.headers["location"]
    token = await page_csrf(theirs, their_mapping)
    dry = await theirs.post(their_mapping, data={"csrf": token, "map-2": "email", "action": "dry_run", **OPTIONS})
    job_id = dry.headers["location"].split("?")[0].rsplit("/", 1)[1]
    upload_token = their_mapping.rsplit("/", 1)[1]

    mine = await signed_in(new_browser, await make_user(database, tenant, "owner"))
    base = f"/app/{tenant.ws_public_id}/imports"
    for path in (
        f"{base}/{job_id}",
        f"{base}/{job_id}/progress",
        f"{base}/{job_id}/errors",
        f"{base}/new/{upload_token}",
    ):
        assert (await mine.get(path)).status_code == 404, path
    assert (await mine.get(f"{their_base}/{job_id}")).status_code == 404
    token = await page_csrf(mine, base)
    foreign_upload = await mine.post(f"{base}/new/{upload_token}", data={"csrf": token, "action": "start", **OPTIONS})
    assert foreign_upload.status_code == 404
    assert (await mine.post(f"{base}/{job_id}/start", data={"csrf": token})).status_code == 404
    assert (await mine.get(f"{base}/new/..%2F..%2Fleadhub")).status_code == 404


async def test_start_without_a_dry_run_and_the_next_file_with_the_same_columns_reuses_the_mapping(
    database: Database, tenant: Tenant, client: httpx.AsyncClient, new_browser: Browser
) -> None:
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}/imports"
    first = await _upload(browser, base, CSV)
    token = await page_csrf(browser, first.headers["location"])
    choice = {"map-0": "first_name", "map-1": "last_name", "map-2": "email", "map-3": "ignore"}
    choice |= {"map-4": "tags", "map-5": "custom_fields.legacy_id"}
    started = await browser.post(
        first.headers["location"], data={"csrf": token, **choice, **OPTIONS, "action": "start"}
    )
    assert started.status_code == 303 and "upload=" not in started.headers["location"]
    done = await _finished(browser, started.headers["location"])
    assert (_count(done, "created"), _count(done, "failed")) == (2, 1)
    ada = (await client.get("/v1/contacts?email=ada@example.com", headers=tenant.headers)).json()["data"][0]
    assert (ada["phones"], ada["tags"], ada["custom_fields"]) == ([], ["green"], {"legacy_id": "a1"})

    again = await _upload(browser, base, CSV.replace("Ada", "Ava"), "people-2.csv")
    form = await browser.get(again.headers["location"])
    assert [_selected(form.text, i) for i in range(6)] == list(choice.values())


async def test_an_upload_nobody_mapped_is_forgotten_a_day_later(
    database: Database, tenant: Tenant, new_browser: Browser, settings: Settings
) -> None:
    browser = await signed_in(new_browser, await make_user(database, tenant, "member"))
    base = f"/app/{tenant.ws_public_id}/imports"
    old = await _upload(browser, base, CSV)
    fresh = await _upload(browser, base, CSV)
    token = old.headers["location"].rsplit("/", 1)[1]
    staged = Path(settings.data_dir) / "imports" / "web" / tenant.ws_public_id / f"{token}.upload"
    day_ago = time.time() - imports_page.UPLOAD_KEPT_SECONDS - 60
    os.utime(staged, (day_ago, day_ago))
    await _upload(browser, base, CSV)  # uploads prune their workspace's folder
    assert (await browser.get(old.headers["location"])).status_code == 404
    assert (await browser.get(fresh.headers["location"])).status_code == 200
