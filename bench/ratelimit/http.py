"""POST /v1/contacts over HTTP with the rate limiter on (huge limits) and off, on PostgreSQL, with wrk at
64 connections against `leadhub serve --workers 2` (the contacts benchmark's setup, its own database):

    .venv/bin/python -m bench.ratelimit.http [--seconds 10]

Prints req/s (2xx only) and p50/p99 for each mode; the difference is the limiter's cost over HTTP."""

from __future__ import annotations

import argparse
import asyncio

import asyncpg  # type: ignore[import-untyped]

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--modes", default="on,off")
    args = parser.parse_args()
    asyncio.run(fresh_database())
    key, _ = asyncio.run(contacts.bootstrap(PG_URL))
    headers = {"Authorization": f"Bearer {key}"}
    for mode in args.modes.split(","):
        port = contacts.free_port()
        env = {
            "LEADHUB_DATABASE_URL": PG_URL,
            "LEADHUB_RATELIMIT_ENABLED": "1" if mode == "on" else "0",
            "LEADHUB_RATELIMIT_KEY_LIMIT": "100000000",
            "LEADHUB_RATELIMIT_WORKSPACE_LIMIT": "100000000",
            "LEADHUB_RATELIMIT_DAILY_QUOTA": "1000000000",
            "LEADHUB_WEBHOOK_ALLOW_PRIVATE": "1",
        }
        serve = [str(contacts.BIN / "leadhub"), "serve", "--port", str(port), "--workers", "2"]
        serve += ["--log-level", "warning"]
        base = f"http://127.0.0.1:{port}"
        with contacts.process(serve, env, f"{base}/healthz"):
            contacts.wrk_runs(f"{base}/v1/contacts", headers, 1, args.seconds, f"POST /v1/contacts, limiter {mode}")


if __name__ == "__main__":
    main()
