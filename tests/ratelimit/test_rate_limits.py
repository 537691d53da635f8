"""Rate limits as a client sees them: the draft RateLimit headers on every answer, 429 with Retry-After
and a problem+json body past the limit, limits a workspace can configure, walls between workspaces, and
buckets shared across processes (PostgreSQL rows or Redis)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from leadhub.app import create_app
from leadhub.config import Settings
from leadhub.core import clock
from leadhub.db.engine import Database
from leadhub.ratelimit.bucket import Spec
from leadhub.ratelimit.stores import DatabaseStore, MemoryStore, RedisStore, Store
from tests.conftest import Tenant

REDIS_URL = "redis://127.0.0.1:6379/0"
_ITEM = re.compile(r'"(\w+)";r=(\d+);t=(\d+)')


class FrozenClock:
    def __init__(self) -> None:
        self.at = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    fake = FrozenClock()
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


def remaining(response: httpx.Response) -> dict[str, int]:
    return {name: int(r) for name, r, _ in _ITEM.findall(response.headers["ratelimit"])}


async def set_limits(client: httpx.AsyncClient, tenant: Tenant, **limits: int) -> None:
    response = await client.patch("/v1/rate-limits", json=limits, headers=tenant.headers)
    assert response.status_code == 200, response.text


async def test_every_answer_carries_the_draft_ratelimit_headers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ok = await client.get("/v1/contacts", headers=tenant.headers)
    missing = await client.get(f"/v1/contacts/con_{'0' * 26}", headers=tenant.headers)
    anonymous = await client.get("/v1/contacts")
    health = await client.get("/healthz")
    for response in (ok, missing, anonymous, health):
        assert "ratelimit" in response.headers and "ratelimit-policy" in response.headers, response.status_code
    assert ok.headers["ratelimit-policy"] == '"key";q=190;w=10, "workspace";q=400;w=10, "daily";q=500000;w=86400'
    assert set(remaining(ok)) == {"key", "workspace", "daily"}
    assert anonymous.status_code == 401 and "anonymous" in anonymous.headers["ratelimit-policy"]


async def test_past_the_key_limit_answers_429_with_retry_after_until_the_bucket_refills(
    client: httpx.AsyncClient, tenant: Tenant, frozen: FrozenClock
) -> None:
    await set_limits(client, tenant, key_limit=3, window_seconds=30)
    answers = [await client.get("/v1/contacts", headers=tenant.headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [remaining(a)["key"] for a in answers] == [2, 1, 0]

    refused = await client.get("/v1/contacts", headers=tenant.headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited" and refused.json()["status"] == 429
    assert refused.headers["retry-after"] == "10"  # one token back at 3 per 30 s
    assert remaining(refused)["key"] == 0

    frozen.advance(9)
    assert (await client.get("/v1/contacts", headers=tenant.headers)).status_code == 429
    frozen.advance(1)
    assert (await client.get("/v1/contacts", headers=tenant.headers)).status_code == 200


async def test_a_refused_request_writes_nothing(client: httpx.AsyncClient, tenant: Tenant, frozen: FrozenClock) -> None:
    await set_limits(client, tenant, key_limit=1)
    assert (await client.post("/v1/contacts", json={"first_name": "A"}, headers=tenant.headers)).status_code == 201
    refused = await client.post("/v1/contacts", json={"first_name": "B"}, headers=tenant.headers)
    assert refused.status_code == 429
    frozen.advance(60)
    listed = (await client.get("/v1/contacts", headers=tenant.headers)).json()["data"]
    assert [c["first_name"] for c in listed] == ["A"]


async def test_the_workspace_limit_spans_its_keys(
    client: httpx.AsyncClient, tenant: Tenant, frozen: FrozenClock
) -> None:
    await set_limits(client, tenant, key_limit=100, workspace_limit=3)
    second = {"Authorization": f"Bearer {await tenant.make_key(['contacts.read'], workspace=True)}"}
    assert (await client.get("/v1/contacts", headers=tenant.headers)).status_code == 200
    assert (await client.get("/v1/contacts", headers=second)).status_code == 200
    assert (await client.get("/v1/contacts", headers=tenant.headers)).status_code == 200
    refused = await client.get("/v1/contacts", headers=second)
    assert refused.status_code == 429
    assert remaining(refused)["workspace"] == 0 and remaining(refused)["key"] > 0


async def test_one_noisy_workspace_never_slows_another(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, frozen: FrozenClock
) -> None:
    await set_limits(client, tenant, key_limit=2)
    for _ in range(2):
        await client.get("/v1/contacts", headers=tenant.headers)
    assert (await client.get("/v1/contacts", headers=tenant.headers)).status_code == 429
    quiet = await client.get("/v1/contacts", headers=other_tenant.headers)
    assert quiet.status_code == 200 and remaining(quiet)["key"] == 189


async def test_the_daily_quota_is_counted_per_workspace(
    client: httpx.AsyncClient, tenant: Tenant, frozen: FrozenClock
) -> None:
    await set_limits(client, tenant, daily_quota=2)
    assert [(await client.get("/v1/contacts", headers=tenant.headers)).status_code for _ in range(2)] == [200, 200]
    refused = await client.get("/v1/contacts", headers=tenant.headers)
    assert refused.status_code == 429 and "daily" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) == 43_200  # a rolling day: one request back every 12 h at 2/day


async def test_a_dialect_answers_429_in_its_own_error_format(
    client: httpx.AsyncClient, tenant: Tenant, frozen: FrozenClock
) -> None:
    await set_limits(client, tenant, key_limit=1)
    path = f"/compat/leadconnector/contacts/?locationId={tenant.ws_public_id}"
    headers = {**tenant.headers, "Version": "2021-07-28"}
    await client.get(path, headers=headers)
    refused = await client.get(path, headers=headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/json")
    assert refused.json()["statusCode"] == 429 and "retry-after" in refused.headers


async def test_only_an_organization_admin_key_changes_limits(client: httpx.AsyncClient, tenant: Tenant) -> None:
    workspace_admin = {"Authorization": f"Bearer {await tenant.make_key(['admin'], workspace=True)}"}
    refused = await client.patch("/v1/rate-limits", json={"key_limit": 10_000}, headers=workspace_admin)
    assert refused.status_code == 403
    reader = {"Authorization": f"Bearer {await tenant.make_key(['contacts.read'])}"}
    assert (await client.get("/v1/rate-limits", headers=reader)).status_code == 403
    policy = await client.get("/v1/rate-limits", headers=tenant.headers)
    assert policy.json() == {"key_limit": 190, "workspace_limit": 400, "window_seconds": 10, "daily_quota": 500000}
    bad = await client.patch("/v1/rate-limits", json={"key_limit": 0}, headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "key_limit"


@pytest.fixture
async def strict_anonymous(database: Database, settings: Settings) -> AsyncIterator[Any]:
    strict = Settings(data_dir=settings.data_dir, public_url=settings.public_url, ratelimit_anonymous_limit=3)
    yield create_app(strict, database, background=False)


def _from(app: Any, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 5555)), base_url="http://t")


async def test_failed_authentication_is_braked_per_client_address(
    strict_anonymous: Any, tenant: Tenant, frozen: FrozenClock
) -> None:
    async with _from(strict_anonymous, "203.0.113.7") as guesser, _from(strict_anonymous, "203.0.113.8") as other:
        wrong = {"Authorization": "Bearer lh_wrong"}
        assert [(await guesser.get("/v1/contacts", headers=wrong)).status_code for _ in range(3)] == [401] * 3
        braked = await guesser.get("/v1/contacts", headers=wrong)
        assert braked.status_code == 429 and braked.headers["retry-after"]
        assert (await other.get("/v1/contacts", headers=wrong)).status_code == 401
        assert (await guesser.get("/healthz")).status_code == 200  # probes are never refused
        frozen.advance(20)
        assert (await guesser.get("/v1/contacts", headers=tenant.headers)).status_code == 200


# ------------------------------------------------------------------------------------------- shared stores


@pytest.fixture(params=["database", "redis"])
async def two_processes(request: pytest.FixtureRequest, database: Database) -> AsyncIterator[tuple[Store, Store]]:
    """Two independent stores over the same backing service, as two `serve` processes would hold."""
    if request.param == "database":
        if not database.is_postgres:
            pytest.skip("the database store serves PostgreSQL; SQLite keeps buckets in-process")
        yield DatabaseStore(database), DatabaseStore(database)
        return
    try:
        first, second = RedisStore(REDIS_URL), RedisStore(REDIS_URL)
        await first.client.ping()
    except Exception:
        pytest.skip(f"no Redis at {REDIS_URL}")
    yield first, second
    await first.close()
    await second.close()


async def test_buckets_are_shared_by_every_serve_process(
    two_processes: tuple[Store, Store], tenant: Tenant, frozen: FrozenClock
) -> None:
    first, second = two_processes
    specs = [Spec("key", f"key:{uuid.uuid4().hex}", 3, 10), Spec("workspace", f"ws:{uuid.uuid4().hex}", 100, 10)]
    now = frozen().timestamp()
    decisions = [await store.take(tenant.ws_id, specs, now) for store in (first, second, first, second)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.states[0].remaining for d in decisions] == [2, 1, 0, 0]
    # The refused request took nothing from the workspace bucket either.
    assert (await second.peek(tenant.ws_id, specs, now)).states[1].remaining == 97
    assert (await first.take(tenant.ws_id, specs, now + 4)).allowed


async def test_the_in_process_store_refuses_without_charging_the_other_buckets() -> None:
    store = MemoryStore()
    ws = uuid.uuid4()
    tight, loose = Spec("key", "k", 1, 10), Spec("workspace", "w", 10, 10)
    assert (await store.take(ws, [tight, loose], 0.0)).allowed
    refused = await store.take(ws, [tight, loose], 0.0)
    assert not refused.allowed and refused.retry_after == 10
    assert (await store.peek(ws, [loose], 0.0)).states[0].remaining == 9
