"""API keys: 401 for a missing, malformed, unknown or revoked key; 403 for a missing scope; keys are shown
once and listed by prefix only; revocation is immediate."""

from __future__ import annotations

import asyncio
import hashlib
import re

import httpx
import pytest
from sqlalchemy import event, update

from leadhub.auth import service as auth
from leadhub.auth.models import ApiKey
from leadhub.core import clock
from leadhub.db.engine import Database
from tests.conftest import Tenant

KEY_SHAPE = re.compile(r"^lh_[0-9A-Za-z]{38}$")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"] and body["detail"]


async def test_missing_key_is_401_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/contacts")
    assert_problem(response, 401, "unauthenticated")
    assert "Authorization" in response.json()["detail"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer nonsense",
        "Bearer lh_short",
        "Basic dXNlcjpwYXNz",
        # Right shape and length, wrong checksum.
        "Bearer lh_" + "a" * 38,
    ],
)
async def test_malformed_key_is_401(client: httpx.AsyncClient, authorization: str) -> None:
    assert_problem(await client.get("/v1/contacts", headers={"Authorization": authorization}), 401, "unauthenticated")


async def test_well_formed_but_unknown_key_is_401(client: httpx.AsyncClient) -> None:
    unknown = auth.generate_key()
    assert auth.key_checksum_ok(unknown)
    assert_problem(await client.get("/v1/contacts", headers=bearer(unknown)), 401, "unauthenticated")


async def test_key_lacking_the_scope_is_403_and_may_do_what_it_holds(client: httpx.AsyncClient, tenant: Tenant) -> None:
    reader = await tenant.make_key(["contacts.read"])
    assert (await client.get("/v1/contacts", headers=bearer(reader))).status_code == 200
    response = await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=bearer(reader))
    assert_problem(response, 403, "forbidden")
    assert "contacts.write" in response.json()["detail"]
    assert_problem(await client.get("/v1/events", headers=bearer(reader)), 403, "forbidden")
    # The refused write wrote nothing.
    listing = await client.get("/v1/contacts", headers=tenant.headers)
    assert listing.json()["data"] == []


async def test_resource_wildcard_grants_read_and_write_of_that_resource_only(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    key = await tenant.make_key(["contacts.*"])
    created = await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=bearer(key))
    assert created.status_code == 201, created.text
    assert (await client.get(f"/v1/contacts/{created.json()['id']}", headers=bearer(key))).status_code == 200
    assert_problem(await client.get("/v1/events", headers=bearer(key)), 403, "forbidden")
    assert_problem(await client.get("/v1/keys", headers=bearer(key)), 403, "forbidden")


async def test_admin_scope_grants_every_route(client: httpx.AsyncClient, tenant: Tenant) -> None:
    key = await tenant.make_key(["admin"])
    assert (await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=bearer(key))).status_code == 201
    assert (await client.get("/v1/events", headers=bearer(key))).status_code == 200
    assert (await client.get("/v1/keys", headers=bearer(key))).status_code == 200
    assert (await client.get("/v1/workspaces", headers=bearer(key))).status_code == 200


async def test_created_key_is_shown_once_and_listed_by_prefix_only(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/keys", json={"name": "zapier", "scopes": ["contacts.read", "contacts.write"]}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    created = response.json()
    raw = created["key"]
    assert KEY_SHAPE.match(raw)
    assert created["id"].startswith("key_")
    assert created["prefix"] == raw[:12]
    assert created["scopes"] == ["contacts.read", "contacts.write"]
    assert created["workspace_id"] is None
    assert created["last_used_at"] is None and created["revoked_at"] is None

    listing = await client.get("/v1/keys", headers=tenant.headers)
    assert listing.status_code == 200
    text = listing.text
    assert raw not in text
    assert raw[12:] not in text
    assert hashlib.sha256(raw.encode()).hexdigest() not in text
    entry = next(k for k in listing.json()["data"] if k["id"] == created["id"])
    assert "key" not in entry and "key_hash" not in entry
    assert entry["prefix"] == raw[:12]
    assert entry["name"] == "zapier"

    # The new key works at once.
    assert (await client.get("/v1/contacts", headers=bearer(raw))).status_code == 200


async def test_key_with_unknown_scope_is_422_naming_scopes(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post("/v1/keys", json={"scopes": ["contacts.everything"]}, headers=tenant.headers)
    assert_problem(response, 422, "validation_error")
    assert [e["field"] for e in response.json()["errors"]] == ["scopes"]


async def test_revoked_key_stops_working_at_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = (await client.post("/v1/keys", json={"scopes": ["contacts.read"]}, headers=tenant.headers)).json()
    assert (await client.get("/v1/contacts", headers=bearer(created["key"]))).status_code == 200

    revoked = await client.delete(f"/v1/keys/{created['id']}", headers=tenant.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None

    assert_problem(await client.get("/v1/contacts", headers=bearer(created["key"])), 401, "unauthenticated")
    listing = (await client.get("/v1/keys", headers=tenant.headers)).json()["data"]
    assert next(k for k in listing if k["id"] == created["id"])["revoked_at"] is not None


async def test_a_key_revoked_by_another_process_is_refused_once_its_authentication_cache_expires(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = (await client.post("/v1/keys", json={"scopes": ["contacts.read"]}, headers=tenant.headers)).json()
    assert (await client.get("/v1/contacts", headers=bearer(created["key"]))).status_code == 200
    # Another process revokes it: this one learns of it only from the database.
    async with database.session() as session:
        await session.execute(
            update(ApiKey).where(ApiKey.key_hash == auth.hash_key(created["key"])).values(revoked_at=clock.now())
        )
        await session.commit()
    # Within the cache time this process still trusts what it read; past it, it reads the key again.
    assert (await client.get("/v1/contacts", headers=bearer(created["key"]))).status_code == 200
    now = auth._monotonic()
    monkeypatch.setattr(auth, "_monotonic", lambda: now + auth.AUTH_CACHE_SECONDS + 0.001)
    assert_problem(await client.get("/v1/contacts", headers=bearer(created["key"])), 401, "unauthenticated")


async def test_revoking_another_organizations_key_is_404_and_leaves_it_working(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = (await client.post("/v1/keys", json={"scopes": ["contacts.read"]}, headers=other_tenant.headers)).json()
    assert_problem(await client.delete(f"/v1/keys/{theirs['id']}", headers=tenant.headers), 404, "not_found")
    assert_problem(await client.delete("/v1/keys/key_garbage", headers=tenant.headers), 404, "not_found")
    assert (await client.get("/v1/contacts", headers=bearer(theirs["key"]))).status_code == 200


async def test_last_used_at_is_set_after_use(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = (await client.post("/v1/keys", json={"scopes": ["contacts.read"]}, headers=tenant.headers)).json()
    assert created["last_used_at"] is None
    await client.get("/v1/contacts", headers=bearer(created["key"]))
    listing = (await client.get("/v1/keys", headers=tenant.headers)).json()["data"]
    assert next(k for k in listing if k["id"] == created["id"])["last_used_at"] is not None


async def test_a_burst_of_requests_records_last_use_once(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    """Requests arriving together all find the key's last use stale; one of them writes it, not all (they
    would queue on the key's row)."""
    created = (await client.post("/v1/keys", json={"scopes": ["contacts.read"]}, headers=tenant.headers)).json()
    touches: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_KEYS"):
            touches.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        answers = await asyncio.gather(*(client.get("/v1/contacts", headers=bearer(created["key"])) for _ in range(20)))
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert {a.status_code for a in answers} == {200}
    assert len(touches) == 1
    listing = (await client.get("/v1/keys", headers=tenant.headers)).json()["data"]
    assert next(k for k in listing if k["id"] == created["id"])["last_used_at"] is not None


async def test_key_administration_needs_an_organization_admin_key(client: httpx.AsyncClient, tenant: Tenant) -> None:
    workspace_admin = await tenant.make_key(["admin"], workspace=True)
    org_writer = await tenant.make_key(["contacts.*"])
    for key in (workspace_admin, org_writer):
        assert_problem(await client.get("/v1/keys", headers=bearer(key)), 403, "forbidden")
        assert_problem(await client.post("/v1/keys", json={"scopes": ["admin"]}, headers=bearer(key)), 403, "forbidden")
        assert_problem(await client.get("/v1/workspaces", headers=bearer(key)), 403, "forbidden")
        assert_problem(await client.post("/v1/workspaces", json={"name": "x"}, headers=bearer(key)), 403, "forbidden")
    # The workspace key does work in its own workspace.
    assert (await client.get("/v1/contacts", headers=bearer(workspace_admin))).status_code == 200
