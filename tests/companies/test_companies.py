"""Companies: domains normalized and unique per workspace, contacts linked by work email (never by a
free-mail or disposable domain), the company's contacts and deals, tenant walls."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant


async def company(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/companies", json={"name": "Acme", **body}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def contact(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_the_domain_is_normalized_from_a_url_and_unique(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await company(client, tenant, website="https://www.Acme.com/about", employee_count=120)
    assert created["domain"] == "acme.com"
    again = await client.post(
        "/v1/companies", json={"name": "Acme 2", "domain": "jane@ACME.com"}, headers=tenant.headers
    )
    assert again.status_code == 409
    assert (again.json()["field"], again.json()["existing_id"]) == ("domain", created["id"])
    bad = await client.post("/v1/companies", json={"name": "x", "domain": "not a domain"}, headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "domain"
    found = await client.get("/v1/companies", params={"domain": "http://acme.com"}, headers=tenant.headers)
    assert [c["id"] for c in found.json()["data"]] == [created["id"]]


async def test_a_contact_with_a_work_email_joins_the_company_of_its_domain(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    acme = await company(client, tenant, domain="acme.com")
    await company(client, tenant, name="Google", domain="gmail.com")  # even so, free mail never links
    await company(client, tenant, name="Mailinator", domain="mailinator.com")
    work = await contact(client, tenant, email="jane@acme.com")
    personal = await contact(client, tenant, email="jane.doe@gmail.com")
    disposable = await contact(client, tenant, email="x@mailinator.com")
    assert work["company_id"] == acme["id"]
    assert personal["company_id"] is None and disposable["company_id"] is None
    listed = (await client.get(f"/v1/companies/{acme['id']}/contacts", headers=tenant.headers)).json()["data"]
    assert [c["id"] for c in listed] == [work["id"]]


async def test_a_contact_names_its_company_and_deleting_the_company_unlinks_it(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    acme = await company(client, tenant)
    person = await contact(client, tenant, email="bob@example.org", company_id=acme["id"])
    assert person["company_id"] == acme["id"]
    deal = (await client.post("/v1/deals", json={"name": "D", "company_id": acme["id"]}, headers=tenant.headers)).json()
    deals = (await client.get(f"/v1/companies/{acme['id']}/deals", headers=tenant.headers)).json()["data"]
    assert [d["id"] for d in deals] == [deal["id"]]
    # Another workspace's company is refused like a made-up one.
    response = await client.post(
        "/v1/contacts", json={"email": "z@example.org", "company_id": acme["id"]}, headers=other_tenant.headers
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "company_id"
    assert (await client.delete(f"/v1/companies/{acme['id']}", headers=tenant.headers)).status_code == 204
    assert (await client.get(f"/v1/contacts/{person['id']}", headers=tenant.headers)).json()["company_id"] is None
    assert (await client.get(f"/v1/deals/{deal['id']}", headers=tenant.headers)).json()["company_id"] is None


async def test_company_changes_are_events(client: httpx.AsyncClient, tenant: Tenant) -> None:
    acme = await company(client, tenant)
    patched = await client.patch(
        f"/v1/companies/{acme['id']}", json={"industry": "Software", "technologies": ["python"]}, headers=tenant.headers
    )
    assert patched.json()["technologies"] == ["python"]
    listed = (await client.get("/v1/events", params={"type": "company.*"}, headers=tenant.headers)).json()["data"]
    assert [e["type"] for e in listed] == ["company.created", "company.updated"]
    assert listed[1]["changes"]["industry"] == {"before": None, "after": "Software"}
    assert listed[1]["resource_id"] == acme["id"]


async def test_another_workspace_cannot_see_or_touch_companies(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    acme = await company(client, tenant, domain="acme.com")
    for method, path in (
        ("GET", f"/v1/companies/{acme['id']}"),
        ("PATCH", f"/v1/companies/{acme['id']}"),
        ("DELETE", f"/v1/companies/{acme['id']}"),
        ("GET", f"/v1/companies/{acme['id']}/contacts"),
        ("GET", f"/v1/companies/{acme['id']}/deals"),
    ):
        response = await client.request(
            method, path, json={} if method == "PATCH" else None, headers=other_tenant.headers
        )
        assert response.status_code == 404, (method, path)
    # The same domain is free in another workspace.
    await company(client, other_tenant, domain="acme.com")
