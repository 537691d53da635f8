"""Finding duplicates through the API: candidates with reasons, the workspace listing, "not a duplicate",
thresholds, scopes and tenant walls."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant
from tests.contacts.support import problem
from tests.duplicates.support import candidates, make, settings

JON = {"first_name": "Jon", "last_name": "Smith", "email": "jsmith@acme.com", "company_name": "Acme Inc"}
JONATHAN = {"name": "Jonathan Smith", "phone": "+1 415 555 0100", "company_name": "ACME"}


async def test_the_issues_example_is_found_with_its_reasons(client: httpx.AsyncClient, tenant: Tenant) -> None:
    jon = await make(client, tenant, JON)
    jonathan = await make(client, tenant, JONATHAN)
    await make(client, tenant, {"name": "Jane Smith", "company_name": "Acme"})  # a colleague, not him

    found = await candidates(client, tenant, jon)

    assert [c["contact"]["id"] for c in found] == [jonathan]
    assert found[0]["score"] >= 0.8
    assert {(r["field"], r["rule"]) for r in found[0]["reasons"]} == {
        ("first_name", "nickname"),
        ("last_name", "same"),
        ("company_name", "same"),
        ("name", "rare_in_workspace"),  # one Jon/Jonathan Smith pair in this workspace: few namesakes
    }
    assert [c["contact"]["id"] for c in await candidates(client, tenant, jonathan)] == [jon]


async def test_gmail_dots_and_plus_tags_are_one_mailbox(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await make(client, tenant, {"name": "Maria Garcia", "email": "maria.garcia@gmail.com"})
    b = await make(client, tenant, {"name": "M. Garcia", "email": "mariagarcia+crm@gmail.com"})
    found = await candidates(client, tenant, a)
    assert [c["contact"]["id"] for c in found] == [b]
    assert ("email", "same_mailbox") in {(r["field"], r["rule"]) for r in found[0]["reasons"]}


async def test_a_pair_marked_not_duplicate_is_never_proposed_again(client: httpx.AsyncClient, tenant: Tenant) -> None:
    jon = await make(client, tenant, JON)
    jonathan = await make(client, tenant, JONATHAN)
    marked = await client.post(
        f"/v1/contacts/{jonathan}/not-duplicates", json={"other_id": jon}, headers=tenant.headers
    )
    assert marked.status_code == 200, marked.text

    assert await candidates(client, tenant, jon) == []
    assert await candidates(client, tenant, jonathan, threshold=0) == []
    listing = (await client.get("/v1/duplicates", headers=tenant.headers)).json()
    assert listing["data"] == []
    # Even after either of them changes.
    await client.patch(f"/v1/contacts/{jon}", json={"title": "CTO"}, headers=tenant.headers)
    assert await candidates(client, tenant, jon) == []

    forgotten = await client.delete(f"/v1/contacts/{jon}/not-duplicates/{jonathan}", headers=tenant.headers)
    assert forgotten.status_code == 204
    assert [c["contact"]["id"] for c in await candidates(client, tenant, jon)] == [jonathan]


async def test_a_contact_is_not_its_own_duplicate(client: httpx.AsyncClient, tenant: Tenant) -> None:
    jon = await make(client, tenant, JON)
    response = await client.post(f"/v1/contacts/{jon}/not-duplicates", json={"other_id": jon}, headers=tenant.headers)
    assert problem(response, 422)["errors"][0]["field"] == "contact_id"


async def test_the_workspace_listing_walks_every_contact_and_names_each_pair_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    jon = await make(client, tenant, JON)
    jonathan = await make(client, tenant, JONATHAN)
    maria = await make(client, tenant, {"name": "Maria Garcia", "email": "maria.garcia@gmail.com"})
    mari = await make(client, tenant, {"name": "Maria Garcia", "email": "mariagarcia@gmail.com"})
    await make(client, tenant, {"name": "Someone Else", "email": "else@example.com"})

    pairs, cursor = [], None
    for _ in range(10):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/duplicates", params=params, headers=tenant.headers)).json()
        pairs += [sorted(p["contact_ids"]) for p in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert sorted(pairs) == sorted([sorted([jon, jonathan]), sorted([maria, mari])])


async def test_the_workspace_threshold_decides_what_is_proposed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    jon = await make(client, tenant, JON)
    await make(client, tenant, JONATHAN)
    assert len(await candidates(client, tenant, jon)) == 1

    changed = await settings(client, tenant, threshold=0.99, auto_merge_threshold=0.995)
    assert changed["threshold"] == 0.99
    assert await candidates(client, tenant, jon) == []
    assert len(await candidates(client, tenant, jon, threshold=0.8)) == 1  # a per-request override


async def test_settings_refuse_an_auto_merge_threshold_below_the_candidate_threshold(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.patch(
        "/v1/duplicates/settings", json={"threshold": 0.9, "auto_merge_threshold": 0.85}, headers=tenant.headers
    )
    assert problem(response, 422)["errors"][0]["field"] == "auto_merge_threshold"
    response = await client.patch("/v1/duplicates/settings", json={"threshold": 2}, headers=tenant.headers)
    assert problem(response, 422)["errors"][0]["field"] == "threshold"


async def test_scopes_guard_reading_merging_and_settings(client: httpx.AsyncClient, tenant: Tenant) -> None:
    jon = await make(client, tenant, JON)
    reader = {"Authorization": f"Bearer {await tenant.make_key(['contacts.read'], workspace=True)}"}
    writer = {"Authorization": f"Bearer {await tenant.make_key(['contacts.write'], workspace=True)}"}
    assert (await client.get(f"/v1/contacts/{jon}/duplicates", headers=reader)).status_code == 200
    assert (await client.get("/v1/duplicates/settings", headers=reader)).status_code == 200
    problem(await client.post(f"/v1/contacts/{jon}/merge", json={"absorb": [jon]}, headers=reader), 403)
    problem(await client.patch("/v1/duplicates/settings", json={"auto_merge": True}, headers=writer), 403)


async def test_candidates_never_cross_workspaces(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    jon = await make(client, tenant, JON)
    theirs = await make(client, other_tenant, JONATHAN)
    assert await candidates(client, tenant, jon, threshold=0) == []
    assert (await client.get("/v1/duplicates", headers=tenant.headers)).json()["data"] == []
    # Another workspace's contact is not found, exactly as if it did not exist.
    problem(await client.get(f"/v1/contacts/{theirs}/duplicates", headers=tenant.headers), 404)
    marked = await client.post(f"/v1/contacts/{jon}/not-duplicates", json={"other_id": theirs}, headers=tenant.headers)
    problem(marked, 404)


async def test_candidates_never_cross_workspaces_of_one_organization(client: httpx.AsyncClient, tenant: Tenant) -> None:
    second = await tenant.add_workspace()
    jon = await make(client, tenant, JON)
    response = await client.post("/v1/contacts", json=JONATHAN, headers={**tenant.headers, "LeadHub-Workspace": second})
    assert response.status_code == 201
    assert await candidates(client, tenant, jon, threshold=0) == []
