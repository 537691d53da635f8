"""Rate limits as a client sees them: the draft RateLimit headers on every answer, 429 with Retry-After
and a problem+json body past the limit, limits a workspace can configure, walls between workspaces, and
buckets shared across processes (PostgreSQL rows or Redis)."""

from __future__ import annotations

import asyncio
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
from leadhub.ratelimit.stores import (
    LEASE_SECONDS,
    DatabaseStore,
    LeasingStore,
    MemoryStore,
    RedisStore,
    SharedStore,
    Store,
    block_size,
)
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


# ------------------------------------------------------------------------------------------- local leases


@pytest.fixture(params=["database", "redis"])
async def two_leasing(request: pytest.FixtureRequest, database: Database) -> AsyncIterator[tuple[LeasingStore, ...]]:
    """Two processes' leasing stores over one shared store (PostgreSQL rows or Redis)."""
    shared: list[SharedStore]
    if request.param == "database":
        if not database.is_postgres:
            pytest.skip("the database store serves PostgreSQL; SQLite keeps buckets in-process")
        shared = [DatabaseStore(database), DatabaseStore(database)]
    else:
        try:
            shared = [RedisStore(REDIS_URL), RedisStore(REDIS_URL)]
            await shared[0].client.ping()  # type: ignore[attr-defined]
        except Exception:
            pytest.skip(f"no Redis at {REDIS_URL}")
    stores = (LeasingStore(shared[0]), LeasingStore(shared[1]))
    yield stores
    for store in stores:
        await store.close()


def test_a_lease_is_a_small_share_of_its_bucket_and_small_limits_take_no_lease() -> None:
    assert block_size(Spec("key", "k", 190, 10)) == 9  # 5% of the bucket
    assert block_size(Spec("workspace", "w", 400, 10)) == 20
    assert block_size(Spec("daily", "d", 500_000, 86_400)) == 500  # 0.1% of a day's quota, not 1 s of refill
    assert block_size(Spec("key", "k", 3, 30)) == 1  # every request goes to the shared store


async def test_leases_never_let_two_processes_exceed_a_bucket(
    two_leasing: tuple[LeasingStore, LeasingStore], tenant: Tenant, frozen: FrozenClock
) -> None:
    capacity = 300
    specs = [
        Spec("key", f"key:{uuid.uuid4().hex}", capacity, 10),
        Spec("daily", f"d:{uuid.uuid4().hex}", 10**6, 86_400),
    ]
    block = block_size(specs[0])
    assert block == 15
    now = frozen().timestamp()
    attempts = iter(range(3 * capacity))
    allowed: list[int] = []
    refused: list[int] = []

    async def client(store: LeasingStore) -> None:
        for _ in attempts:
            decision = await store.take(tenant.ws_id, specs, now)
            if decision.allowed:
                allowed.append(decision.states[0].remaining)
            else:
                refused.append(decision.retry_after)

    # 2 processes x 16 concurrent requests each, with the clock stopped: no token comes back.
    await asyncio.gather(*(client(store) for store in two_leasing for _ in range(16)))
    assert len(allowed) <= capacity
    # Only what the other process still holds unspent can be refused early: at most one block per process.
    assert len(allowed) >= capacity - 2 * block
    assert refused and all(r == 1 for r in refused)  # one token back every 1/30 s
    # Once the leases lapse their unspent tokens go back to the shared bucket on the next charge.
    first, second = two_leasing
    later = now + LEASE_SECONDS
    extra = [await first.take(tenant.ws_id, specs, later), await second.take(tenant.ws_id, specs, later)]
    assert all(d.allowed for d in extra)
    assert len(allowed) + 2 + (await first.peek(tenant.ws_id, specs, later)).states[0].remaining >= capacity


async def test_leased_headers_show_the_shared_level_less_local_spend(
    two_leasing: tuple[LeasingStore, LeasingStore], tenant: Tenant, frozen: FrozenClock
) -> None:
    first, second = two_leasing
    specs = [Spec("key", f"key:{uuid.uuid4().hex}", 190, 10), Spec("workspace", f"w:{uuid.uuid4().hex}", 400, 10)]
    now = frozen().timestamp()
    seen = [[s.remaining for s in (await first.take(tenant.ws_id, specs, now)).states] for _ in range(3)]
    assert seen == [[189, 399], [188, 398], [187, 397]]
    # The second process sees the shared level, less the block the first one holds (9 and 20 tokens).
    assert [s.remaining for s in (await second.take(tenant.ws_id, specs, now)).states] == [190 - 9 - 1, 400 - 20 - 1]


async def test_a_noisy_workspace_never_slows_another_through_leases(
    two_leasing: tuple[LeasingStore, LeasingStore], tenant: Tenant, other_tenant: Tenant, frozen: FrozenClock
) -> None:
    first, _ = two_leasing
    specs = [Spec("key", f"key:{uuid.uuid4().hex}", 40, 10), Spec("workspace", "workspace-lease-test", 40, 10)]
    now = frozen().timestamp()
    charged = [(await first.take(tenant.ws_id, specs, now)).allowed for _ in range(41)]
    assert charged.count(True) == 40 and not charged[-1]
    # The noisy workspace's renewal is stuck (its lock held): the quiet one is charged regardless, at once.
    async with first._locks[tenant.ws_id]:
        quiet = await asyncio.wait_for(first.take(other_tenant.ws_id, specs, now), timeout=10)
    assert quiet.allowed and [s.remaining for s in quiet.states] == [39, 39]


@pytest.fixture
async def two_apps(database: Database, settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """Two app instances (two `serve` processes' limiters) over one PostgreSQL database."""
    if not database.is_postgres:
        pytest.skip("buckets are shared between processes on PostgreSQL; SQLite keeps them in-process")
    apps = [create_app(settings, database, background=False) for _ in range(2)]
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t") for a in apps]
    yield tuple(clients)
    for c in clients:
        await c.aclose()
    for a in apps:
        await a.state.limiter.close()


async def test_a_key_limit_holds_across_two_app_instances_sharing_one_database(
    two_apps: tuple[httpx.AsyncClient, httpx.AsyncClient], tenant: Tenant, frozen: FrozenClock
) -> None:
    first, second = two_apps
    await set_limits(first, tenant, key_limit=200, window_seconds=10)
    reader = {"Authorization": f"Bearer {await tenant.make_key(['contacts.read'])}"}
    statuses = [(await c.get("/v1/contacts", headers=reader)).status_code for _ in range(130) for c in two_apps]
    assert set(statuses) == {200, 429}
    # Key buckets of 200 leased in blocks of 10: never more than 200, at most a block per instance fewer.
    assert 200 - 2 * 10 <= statuses.count(200) <= 200
    frozen.advance(10)  # the bucket refills, and the leases lapse
    assert (await second.get("/v1/contacts", headers=reader)).status_code == 200
