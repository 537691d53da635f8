"""Import jobs through the real API: modes, match keys, dry run, the error file, in-file merges, events."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from leadhub.events.models import Event
from leadhub.webhooks.models import Delivery
from tests.conftest import Tenant
from tests.imports.support import contacts_of, csv_bytes, error_rows, upload

HEADER = ["First Name", "Last Name", "E-mail Address", "Phone Number", "Company"]


async def test_a_csv_with_common_headers_creates_contacts_with_normalized_identities(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = csv_bytes([HEADER, ["Ada", "Lovelace", "ADA@Example.com", "(415) 555-0100", "Analytical"]])
    job = await upload(client, tenant, body, filename="leads.csv")
    assert job["status"] == "completed" and (job["rows_read"], job["created"], job["failed"]) == (1, 1, 0)
    assert job["mapping"] == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "E-mail Address": "email",
        "Phone Number": "phone",
        "Company": "company_name",
    }
    [contact] = await contacts_of(client, tenant)
    assert contact["name"] == "Ada Lovelace" and contact["company_name"] == "Analytical"
    assert contact["emails"][0]["address"] == "ada@example.com"
    assert contact["phones"][0]["number"] == "+14155550100"


async def test_each_mode_creates_updates_or_skips_as_named(client: httpx.AsyncClient, tenant: Tenant) -> None:
    existing = await client.post(
        "/v1/contacts", json={"email": "old@example.com", "title": "Before"}, headers=tenant.headers
    )
    assert existing.status_code == 201
    rows = [["Email", "Title"], ["old@example.com", "After"], ["new@example.com", "Fresh"]]

    skip = await upload(client, tenant, csv_bytes(rows), mode="skip_existing")
    assert (skip["created"], skip["updated"], skip["skipped"]) == (1, 0, 1)
    titles = {c["emails"][0]["address"]: c["title"] for c in await contacts_of(client, tenant)}
    assert titles == {"old@example.com": "Before", "new@example.com": "Fresh"}

    only_update = await upload(client, tenant, csv_bytes([*rows, ["third@example.com", "X"]]), mode="update_only")
    assert (only_update["created"], only_update["updated"], only_update["skipped"]) == (0, 2, 1)
    titles = {c["emails"][0]["address"]: c["title"] for c in await contacts_of(client, tenant)}
    assert titles == {"old@example.com": "After", "new@example.com": "Fresh"}

    create_only = await upload(client, tenant, csv_bytes([*rows, ["third@example.com", "X"]]), mode="create_only")
    assert (create_only["created"], create_only["failed"]) == (1, 2)
    report = await error_rows(client, tenant, create_only["id"])
    assert {(r["row"], r["column"], r["rule"]) for r in report} == {
        ("1", "Email", "duplicate_email"),
        ("2", "Email", "duplicate_email"),
    }

    upserted = await upload(client, tenant, csv_bytes([["Email", "Title"], ["old@example.com", "Again"]]))
    assert (upserted["created"], upserted["updated"]) == (0, 1)


async def test_match_key_phone_ignores_an_email_that_matches_nobody(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post("/v1/contacts", json={"phone": "+14155550111"}, headers=tenant.headers)
    assert r.status_code == 201
    body = csv_bytes([["Email", "Phone"], ["by.phone@example.com", "+1 415 555 0111"]])
    by_email = await upload(client, tenant, body, match_keys="email", mode="create_only")
    assert by_email["failed"] == 1  # no email match, and creating collides with the phone's owner
    [issue] = await error_rows(client, tenant, by_email["id"])
    assert (issue["column"], issue["rule"]) == ("Phone", "duplicate_phone")
    by_phone = await upload(client, tenant, body, match_keys="phone")
    assert (by_phone["created"], by_phone["updated"]) == (0, 1)
    [contact] = await contacts_of(client, tenant)
    assert [e["address"] for e in contact["emails"]] == ["by.phone@example.com"]


async def test_a_dry_run_writes_nothing_and_reports_every_row(client: httpx.AsyncClient, tenant: Tenant) -> None:
    rows = [HEADER, ["A", "B", "a@example.com", "", ""], ["C", "D", "not-an-email", "", ""], ["E", "F", "", "12", ""]]
    job = await upload(client, tenant, csv_bytes(rows), dry_run=True)
    assert job["dry_run"] and (job["rows_read"], job["created"], job["failed"]) == (3, 1, 2)
    assert await contacts_of(client, tenant) == []
    async with tenant.db.session() as session:
        written = await session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.workspace_id == tenant.ws_id, Event.type.like("contact.%"))
        )
    assert written == 0
    report = await error_rows(client, tenant, job["id"])
    assert {(r["row"], r["column"], r["rule"], r["value_kind"]) for r in report} == {
        ("2", "E-mail Address", "email", "string"),
        ("3", "Phone Number", "phone", "string"),
    }


async def test_the_error_file_names_row_column_kind_and_rule_but_never_the_value(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    secret = "leaky-secret-value@@nowhere"
    rows = [["Email", "Country", "Date of Birth"], [secret, "Narnia", "31/31/1990"], ["ok@example.com", "FR", ""]]
    job = await upload(client, tenant, csv_bytes(rows))
    assert (job["created"], job["failed"]) == (1, 1)
    r = await client.get(f"/v1/imports/{job['id']}/errors", headers=tenant.headers)
    assert secret not in r.text and "Narnia" not in r.text
    report = await error_rows(client, tenant, job["id"])
    assert {(r["row"], r["column"]) for r in report} == {("1", "Email"), ("1", "Country"), ("1", "Date of Birth")}
    assert list(report[0]) == ["row", "kind", "column", "value_kind", "rule", "message", "merged_into_row"]


async def test_duplicates_inside_the_file_merge_and_the_report_names_the_rows(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    rows = [
        ["Email", "Phone", "Title", "Tags"],
        ["dup@example.com", "", "First", "a"],
        ["other@example.com", "+14155550122", "", ""],
        ["DUP@example.com", "+14155550123", "Second", "b"],
        ["", "(415) 555-0122", "Third", ""],
    ]
    for mode in ("create_only", "upsert"):
        fresh = await tenant.add_workspace(f"w-{mode}")
        headers = {**tenant.headers, "LeadHub-Workspace": fresh}
        r = await client.post(
            "/v1/imports", content=csv_bytes(rows), params={"wait": "true", "mode": mode}, headers=headers
        )
        job = r.json()
        assert (job["created"], job["merged"], job["failed"]) == (2, 2, 0), (mode, job)
        report = await client.get(f"/v1/imports/{job['id']}/errors", headers=headers)
        lines = sorted(report.text.splitlines()[1:])
        assert lines == [
            "3,merged,,,in_file_duplicate,merged into row 1,1",
            "4,merged,,,in_file_duplicate,merged into row 2,2",
        ]
        listed = (await client.get("/v1/contacts", params={"sort": "created_at"}, headers=headers)).json()["data"]
        assert len(listed) == 2
        assert listed[0]["title"] == "Second" and listed[0]["tags"] == ["a", "b"]
        assert [p["number"] for p in listed[0]["phones"]] == ["+14155550123"]


async def test_unmapped_columns_land_in_custom_fields_and_the_mapping_is_saved_for_reuse(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    rows = [["Email", "Shoe Size", "Internal"], ["a@example.com", "42", "x"]]
    job = await upload(client, tenant, csv_bytes(rows), unmapped_to_custom=True, mapping='{"Internal": "ignore"}')
    [contact] = await contacts_of(client, tenant)
    assert contact["custom_fields"] == {"shoe_size": "42"}
    again = await upload(client, tenant, csv_bytes([rows[0], ["b@example.com", "43", "y"]]))
    assert again["mapping"] == job["mapping"] == {"Email": "email", "Internal": "ignore"}
    assert again["unmapped_to_custom"] is True
    assert {c["custom_fields"].get("shoe_size") for c in await contacts_of(client, tenant)} == {"42", "43"}


async def test_json_lines_import_nested_fields(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = (
        b'{"email": "j@example.com", "tags": ["vip"], "custom_fields": {"plan": "pro"}, "address": {"city": "Paris"}}\n'
    )
    job = await upload(client, tenant, body, format="jsonl")
    assert job["created"] == 1, job
    [contact] = await contacts_of(client, tenant)
    assert contact["tags"] == ["vip"] and contact["custom_fields"] == {"plan": "pro"}
    assert contact["address"]["city"] == "Paris"


async def test_row_events_reach_webhooks_only_on_request_and_the_summary_always(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.post("/v1/webhooks", json={"url": "http://93.184.216.34/hook"}, headers=tenant.headers)
    assert r.status_code == 201, r.text
    quiet = await upload(client, tenant, csv_bytes([["Email"], ["q1@example.com"], ["q2@example.com"]]))
    loud = await upload(client, tenant, csv_bytes([["Email"], ["l1@example.com"]]), deliver_webhooks=True)
    async with tenant.db.session() as session:
        delivered = (
            (await session.execute(select(Delivery.event_type).where(Delivery.workspace_id == tenant.ws_id)))
            .scalars()
            .all()
        )
        recorded = (await session.execute(select(Event.type).where(Event.workspace_id == tenant.ws_id))).scalars().all()
    assert sorted(t for t in delivered if not t.startswith("webhook")) == [
        "contact.created",
        "import.completed",
        "import.completed",
    ]
    assert recorded.count("contact.created") == 3  # every row still leaves its event
    assert quiet["created"] == 2 and loud["created"] == 1


async def test_an_erased_persons_email_stays_suppressed_on_import(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post("/v1/contacts", json={"email": "gone@example.com"}, headers=tenant.headers)
    erase = await client.delete(
        f"/v1/contacts/{r.json()['id']}", params={"erase": "true", "suppress": "true"}, headers=tenant.headers
    )
    assert erase.status_code in (200, 204), erase.text
    job = await upload(client, tenant, csv_bytes([["Email"], ["gone@example.com"]]))
    assert job["failed"] == 1 and job["created"] == 0
    [issue] = await error_rows(client, tenant, job["id"])
    assert issue["column"] == "Email"


async def test_bad_options_and_files_are_refused_naming_the_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    empty = await client.post("/v1/imports", content=b"", headers=tenant.headers)
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "file"
    bad_mode = await client.post("/v1/imports", content=b"Email\n", params={"mode": "merge"}, headers=tenant.headers)
    assert bad_mode.status_code == 422
    bad_map = await client.post(
        "/v1/imports", content=b"Email\n", params={"mapping": '{"Nope": "email"}'}, headers=tenant.headers
    )
    assert bad_map.status_code == 422 and bad_map.json()["errors"][0]["field"] == "mapping.Nope"


async def test_another_workspaces_import_is_not_found_on_every_route(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    job = await upload(client, tenant, csv_bytes([["Email"], ["bad"]]))
    for method, path in (
        ("GET", f"/v1/imports/{job['id']}"),
        ("GET", f"/v1/imports/{job['id']}/errors"),
        ("POST", f"/v1/imports/{job['id']}/resume"),
    ):
        r = await client.request(method, path, headers=other_tenant.headers)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", (path, r.text)
    listed = await client.get("/v1/imports", headers=other_tenant.headers)
    assert listed.json()["data"] == []
    reader = await tenant.make_key(["contacts.read"], workspace=True)
    denied = await client.post("/v1/imports", content=b"Email\n", headers={"Authorization": f"Bearer {reader}"})
    assert denied.status_code == 403
