"""The rate limiter's cost per request: ``Limiter.enforce`` against a real store, many concurrent tasks.

    .venv/bin/python -m bench.ratelimit.run --store database --tasks 64 --requests 20000
    .venv/bin/python -m bench.ratelimit.run --store redis --tasks 64 --requests 20000

Every request is charged to its key's, its workspace's and the daily bucket (limits set huge so nothing is
refused: the figure is the limiter's own cost). Reports throughput and the per-call latency percentiles."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from types import SimpleNamespace
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from leadhub.auth import service as auth
from leadhub.auth.principal import Principal
from leadhub.config import Settings
from leadhub.db import migrate
from leadhub.db.engine import Database
from leadhub.ratelimit.limiter import Limiter
from leadhub.ratelimit.stores import DatabaseStore, LeasingStore, RedisStore, SharedStore, Store
from leadhub.uow import unit_of_work

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    schema = f"lh_bench_rl_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE SCHEMA "{schema}"')
    db = Database(POSTGRES_URL, schema=schema, pool_size=20)
    try:
        await migrate.upgrade(db)
        workspaces = []
        async with unit_of_work(db) as session:
            org = await auth.create_organization(session, "bench")
            for i in range(args.workspaces):
                workspaces.append(await auth.create_workspace(session, org.id, f"ws{i}", "US"))
        huge = args.limit
        settings = Settings(
            ratelimit_key_limit=huge, ratelimit_workspace_limit=huge, ratelimit_daily_quota=huge, redis_url=None
        )
        shared: SharedStore = DatabaseStore(db) if args.store == "database" else RedisStore(REDIS_URL)
        store: Store = LeasingStore(shared) if args.lease else shared  # type: ignore[assignment]
        limiter = Limiter(settings, db, store)
        keys = [uuid.uuid4() for _ in range(args.keys)]
        latencies: list[float] = []
        counter = iter(range(args.requests))

        async def worker(n: int) -> None:
            principal = Principal(keys[n % len(keys)], org.id, None, ("admin",))
            workspace = workspaces[n % len(workspaces)]
            for _ in counter:
                request: Any = SimpleNamespace(state=SimpleNamespace())
                started = time.perf_counter()
                await limiter.enforce(request, principal, workspace)
                latencies.append(time.perf_counter() - started)
                assert request.state.ratelimit.allowed

        for ws in workspaces:  # warm the policy cache and create the buckets
            await limiter.enforce(SimpleNamespace(state=SimpleNamespace()), Principal(keys[0], org.id, None, ()), ws)  # type: ignore[arg-type]
        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(args.tasks)))
        elapsed = time.perf_counter() - started
        await limiter.close()
        q = statistics.quantiles(latencies, n=100)
        print(
            f"store={args.store} lease={args.lease} limit={args.limit} tasks={args.tasks} "
            f"workspaces={args.workspaces} keys={args.keys} "
            f"requests={len(latencies)}: {len(latencies) / elapsed:,.0f} charges/s, "
            f"p50 {q[49] * 1000:.2f} ms, p90 {q[89] * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms"
        )
    finally:
        await db.dispose()
        await _admin(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", choices=["database", "redis"], default="database")
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--workspaces", type=int, default=1)
    parser.add_argument("--keys", type=int, default=4)
    parser.add_argument("--limit", type=int, default=10**9, help="every bucket's capacity (per 10 s; per day)")
    parser.add_argument("--lease", action=argparse.BooleanOptionalAction, default=True)
    asyncio.run(main(parser.parse_args()))
