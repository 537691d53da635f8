"""POST /v1/contacts over HTTP with the rate limiter on (huge limits) and off, on PostgreSQL, with wrk at
64 connections against `leadhub serve --workers 2` (the contacts benchmark's setup, its own database):

    .venv/bin/python -m bench.ratelimit.http [--seconds 10]

    .venv/bin/python -m bench.ratelimit.http --sequential --modes off,on,off,on

Prints req/s (2xx only) and p50/p99 for each mode; the difference is the limiter's cost over HTTP. With
``--sequential``: one client, 300 POSTs then 300 lookups by email per mode (latency without queueing)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg  # type: ignore[import-untyped]
import httpx

from bench.contacts import run as contacts

PG_DB = "leadhub_bench_ratelimit"
PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"


async def fresh_database() -> None:
    admin = await asyncpg.connect(contacts.PG_ADMIN)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {PG_DB}")
    finally:
        await admin.close()


def sequential(base: str, headers: dict[str, str], tag: str) -> str:
    posts, lookups = [], []
    with httpx.Client(base_url=base, headers=headers) as client:
        for i in range(300):
            started = time.perf_counter()
            answer = client.post("/v1/contacts", json={"first_name": "A", "email": f"seq.{tag}.{i}@example.com"})
            posts.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 201, answer.text
        for i in range(300):
            started = time.perf_counter()
            answer = client.get(f"/v1/contacts/lookup?email=seq.{tag}.{i}@example.com")
            lookups.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
    p, q = statistics.quantiles(posts, n=100), statistics.quantiles(lookups, n=100)
    return f"POST p50 {p[49]:.1f} ms p99 {p[98]:.1f} ms; lookup p50 {q[49]:.1f} ms p99 {q[98]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--modes", default="on,off")
    parser.add_argument("--sequential", action="store_true")
    args = parser.parse_args()
    asyncio.run(fresh_database())
    key, _ = asyncio.run(contacts.bootstrap(PG_URL))
    headers = {"Authorization": f"Bearer {key}"}
    for n, mode in enumerate(args.modes.split(",")):
        port = contacts.free_port()
        env = {
            "LEADHUB_DATABASE_URL": PG_URL,
            "LEADHUB_RATELIMIT_ENABLED": "1" if mode == "on" else "0",
            "LEADHUB_RATELIMIT_KEY_LIMIT": "100000000",
            "LEADHUB_RATELIMIT_WORKSPACE_LIMIT": "100000000",
            "LEADHUB_RATELIMIT_DAILY_QUOTA": "1000000000",
            "LEADHUB_WEBHOOK_ALLOW_PRIVATE": "1",
        }
        serve = [str(contacts.BIN / "leadhub"), "serve", "--port", str(port)]
        serve += [] if args.sequential else ["--workers", "2"]
        serve += ["--log-level", "warning"]
        base = f"http://127.0.0.1:{port}"
        with contacts.process(serve, env, f"{base}/healthz"):
            if args.sequential:
                print(f"  limiter {mode}: {sequential(base, headers, f'{n}{mode}')}", flush=True)
                continue
            contacts.wrk_runs(f"{base}/v1/contacts", headers, 1, args.seconds, f"POST /v1/contacts, limiter {mode}")


if __name__ == "__main__":
    main()
