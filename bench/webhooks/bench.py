"""End-to-end webhook delivery on PostgreSQL, against ceilings taken in the same run.

    .venv/bin/python bench/webhooks/bench.py            # writes bench/webhooks/RESULTS.md (about 3 minutes)

Measures, each as the median of ``--runs`` runs with the spread (min-max):
- ceiling "receiver direct": the receiver posted to by the dispatcher's own HTTP client (signed, same
  concurrency), no database: the most the client and receiver can move on this machine;
- ceiling "commits": events committed by eight concurrent writers with no webhook endpoint (no outbox rows);
- saturation, with one and with two ``leadhub worker`` processes: eight writers commit flat out, one event
  per transaction, each fanned out to one endpoint; delivered events/s and commit->delivery p50/p99;
- paced, with one and two workers: events committed at a fixed rate below capacity, so the latency is the
  dispatcher's own and not a backlog's.
The receiver runs in a process of its own (uvicorn, 204 at once); commit and arrival are both stamped with
the system-wide monotonic clock. See README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from leadhub import uow
from leadhub.auth import service as auth
from leadhub.auth.principal import Actor
from leadhub.core import clock, ids
from leadhub.db import migrate
from leadhub.db.engine import Database
from leadhub.events import service as events
from leadhub.uow import unit_of_work
from leadhub.webhooks import signing
from leadhub.webhooks.dispatcher import Options
from leadhub.webhooks.models import WebhookEndpoint

PG = os.environ.get("LEADHUB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
LEADHUB = str(Path(sys.executable).with_name("leadhub"))
HERE = Path(__file__).parent
WRITERS = 8


# --- the receiver (its own process) -------------------------------------------------------------------------


def receiver_main() -> None:
    """Answer 204 to every POST, stamp its arrival; GET /wait?n= answers once n distinct ids arrived."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    arrived: dict[str, float] = {}
    target = {"n": 0}
    reached = asyncio.Event()

    async def hook(request: Request) -> Response:
        await request.body()
        arrived.setdefault(request.headers.get("webhook-id", ""), time.monotonic())
        if target["n"] and len(arrived) >= target["n"]:
            reached.set()
        return Response(status_code=204)

    async def wait(request: Request) -> Response:
        target["n"] = int(request.query_params["n"])
        reached.clear()
        if len(arrived) >= target["n"]:
            reached.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reached.wait(), timeout=float(request.query_params.get("timeout", "120")))
        return JSONResponse({"count": len(arrived)})

    async def take(request: Request) -> Response:
        snapshot = dict(arrived)
        arrived.clear()
        return JSONResponse(snapshot)

    routes = [Route("/hook", hook, methods=["POST"]), Route("/wait", wait), Route("/take", take, methods=["POST"])]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(Starlette(routes=routes), log_level="warning", loop="uvloop", http="httptools")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


class ReceiverProcess:
    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self.http = httpx.AsyncClient(timeout=600, trust_env=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--receiver", stdout=asyncio.subprocess.PIPE
        )
        assert self.proc.stdout is not None
        self.port = int(await asyncio.wait_for(self.proc.stdout.readline(), timeout=30))

    async def wait_for(self, n: int, within: float) -> int:
        count: int = (await self.http.get(f"{self.url}/wait", params={"n": n, "timeout": within})).json()["count"]
        return count

    async def take(self) -> dict[str, float]:
        arrived: dict[str, float] = (await self.http.post(f"{self.url}/take")).json()
        return arrived

    async def stop(self) -> None:
        await self.http.aclose()
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            await self.proc.wait()


# --- workers and writers --------------------------------------------------------------------------------------


async def start_workers(count: int, url: str) -> list[asyncio.subprocess.Process]:
    env = {**os.environ, "LEADHUB_DATABASE_URL": url, "LEADHUB_WEBHOOK_ALLOW_PRIVATE": "1"}
    procs = [
        await asyncio.create_subprocess_exec(
            LEADHUB, "worker", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        for _ in range(count)
    ]
    for p in procs:
        assert p.stdout is not None
        line = await asyncio.wait_for(p.stdout.readline(), timeout=60)
        assert b"ready" in line, line
    return procs


async def stop_workers(procs: list[asyncio.subprocess.Process]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        await asyncio.wait_for(p.wait(), timeout=30)


async def commit_one(db: Database, ws_id: uuid.UUID, actor: Actor, committed: dict[str, float]) -> None:
    async with db.session() as session:
        pending = events.record(
            session,
            ws_id,
            actor,
            "contact.updated",
            resource_type="contact",
            resource_id=ids.new_uuid(),
            contact_id=ids.new_uuid(),
            payload={"bench": True},
        )
        await uow.commit(session)
    committed[ids.encode(ids.EVENT, pending.id)] = time.monotonic()


async def flat_out(db: Database, ws_id: uuid.UUID, n: int) -> tuple[dict[str, float], float]:
    """Eight writers commit n events as fast as they can; returns commit stamps and the elapsed seconds."""
    actor = Actor.system("bench")
    committed: dict[str, float] = {}

    async def writer(count: int) -> None:
        for _ in range(count):
            await commit_one(db, ws_id, actor, committed)

    start = time.monotonic()
    await asyncio.gather(*(writer(n // WRITERS) for _ in range(WRITERS)))
    return committed, time.monotonic() - start


async def paced(db: Database, ws_id: uuid.UUID, n: int, rate: float) -> tuple[dict[str, float], float]:
    """Commit n events at ``rate`` per second (each on its own task, started on schedule)."""
    actor = Actor.system("bench")
    committed: dict[str, float] = {}
    start = time.monotonic()
    tasks = []
    for i in range(n):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(commit_one(db, ws_id, actor, committed)))
    await asyncio.gather(*tasks)
    return committed, time.monotonic() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def delivery_run(
    db: Database,
    url: str,
    ws_id: uuid.UUID,
    rx: ReceiverProcess,
    workers: int,
    produce: Callable[[], Awaitable[tuple[dict[str, float], float]]],
) -> dict[str, float]:
    procs = await start_workers(workers, url)
    try:
        await rx.take()
        committed, elapsed = await produce()
        start = min(committed.values())
        await rx.wait_for(len(committed), within=120)
        arrived = await rx.take()
    finally:
        await stop_workers(procs)
    latencies = [(arrived[k] - t) * 1000 for k, t in committed.items() if k in arrived]
    end = max(arrived.values())
    return {
        "events": len(committed),
        "delivered": len(latencies),
        "commit_rate": len(committed) / elapsed,
        "throughput": len(latencies) / (end - start),
        "p50": statistics.median(latencies),
        "p99": percentile(latencies, 0.99),
    }


async def receiver_direct(rx: ReceiverProcess, n: int) -> dict[str, float]:
    """The ceiling of the HTTP leg: the dispatcher's client settings, signed bodies, its in-flight bound."""
    options = Options()
    secret = signing.new_secret()
    body = json.dumps({"type": "contact.updated", "data": {"bench": True}})
    slots = asyncio.Semaphore(options.max_in_flight)
    async with httpx.AsyncClient(
        timeout=options.timeout_seconds,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=options.max_in_flight, max_keepalive_connections=options.max_in_flight),
    ) as client:

        async def post(i: int) -> None:
            async with slots:
                headers = {
                    **signing.headers(f"msg_{i}", clock.now(), body, (secret,)),
                    "content-type": "application/json",
                }
                r = await client.post(f"{rx.url}/hook", content=body.encode(), headers=headers)
                assert r.status_code == 204

        await rx.take()
        start = time.monotonic()
        await asyncio.gather(*(post(i) for i in range(n)))
        elapsed = time.monotonic() - start
        await rx.take()
    return {"events": n, "delivered": n, "throughput": n / elapsed}


# --- orchestration --------------------------------------------------------------------------------------------


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def setup(db: Database, hook: str | None) -> uuid.UUID:
    await migrate.upgrade(db)
    async with unit_of_work(db) as session:
        org = await auth.create_organization(session, "bench")
        ws = await auth.create_workspace(session, org.id, "bench", "US")
        if hook is not None:
            now = clock.now()
            session.add(
                WebhookEndpoint(
                    workspace_id=ws.id,
                    id=ids.new_uuid(),
                    url=hook,
                    event_types=["*"],
                    enabled=True,
                    secret=signing.new_secret(),
                    created_at=now,
                    updated_at=now,
                )
            )
    return ws.id


async def shell(*argv: str) -> str:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return out.decode().strip()


def summary(runs: list[dict[str, float]], key: str, fmt: str = "{:.0f}") -> str:
    values = [r[key] for r in runs]
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000, help="events per saturation run")
    parser.add_argument("--paced-events", type=int, default=500, help="events per paced run")
    parser.add_argument("--rate", type=float, default=50, help="events/s of the paced runs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md", help="'-' prints only")
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]
    load_before = os.getloadavg()
    rx = ReceiverProcess()
    await rx.start()
    name = f"lh_bench_{uuid.uuid4().hex[:8]}"
    await admin(f'CREATE DATABASE "{name}"')
    url = PG.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    rows: list[tuple[str, list[dict[str, float]]]] = []
    try:
        bare_ws = await setup(db, None)
        ws_id = await setup(db, f"{rx.url}/hook")
        direct = [await receiver_direct(rx, args.events) for _ in range(args.runs)]
        rows.append(("ceiling: receiver direct (no database)", direct))
        commits: list[dict[str, float]] = []
        for _ in range(args.runs):
            committed, elapsed = await flat_out(db, bare_ws, args.events)
            commits.append({"events": len(committed), "commit_rate": len(committed) / elapsed})
        rows.append(("ceiling: commits, no endpoint", commits))
        for workers in worker_counts:
            runs = [
                await delivery_run(db, url, ws_id, rx, workers, lambda: flat_out(db, ws_id, args.events))
                for _ in range(args.runs)
            ]
            rows.append((f"saturation, {workers} worker{'s' if workers > 1 else ''}", runs))
        for workers in worker_counts:
            runs = [
                await delivery_run(db, url, ws_id, rx, workers, lambda: paced(db, ws_id, args.paced_events, args.rate))
                for _ in range(args.runs)
            ]
            rows.append((f"paced {args.rate:g}/s, {workers} worker{'s' if workers > 1 else ''}", runs))
    finally:
        await db.dispose()
        await admin(f'DROP DATABASE "{name}" WITH (FORCE)')
        await rx.stop()
    load_after = os.getloadavg()
    report(args, rows, load_before, load_after, await shell("nproc"), await shell("free", "-h"))


def report(
    args: argparse.Namespace,
    rows: list[tuple[str, list[dict[str, float]]]],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    nproc: str,
    memory: str,
) -> None:
    options = Options()
    lines = [
        "# Webhook delivery benchmark",
        "",
        f"`{' '.join(['.venv/bin/python', 'bench/webhooks/bench.py', *sys.argv[1:]])}` ({args.events} events per "
        f"saturation run, {args.paced_events} "
        f"per paced run at {args.rate:g}/s, {args.runs} runs each) on {time.strftime('%Y-%m-%d %H:%M')}. "
        f"PostgreSQL 127.0.0.1; workers with default options (batch {options.batch_size}, "
        f"{options.max_in_flight} in flight, poll fallback {options.poll_interval_seconds:g} s).",
        "",
        "Each figure: median of the runs (min-max). Delivered events/s = delivered / (last arrival - first commit);",
        "latency = commit returned -> receiver got the request.",
        "",
        "| scenario | events | commits/s | delivered events/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, runs in rows:

        def cell(key: str, fmt: str = "{:.0f}", runs: list[dict[str, Any]] = runs) -> str:
            return summary(runs, key, fmt) if key in runs[0] else "-"

        lines.append(
            f"| {label} | {runs[0]['events']:.0f} | {cell('commit_rate')} | {cell('throughput')} "
            f"| {cell('p50', '{:.1f}')} | {cell('p99', '{:.1f}')} |"
        )
    lines += [
        "",
        "Machine (the load average is other processes' too: helpers' test suites share these cores):",
        "",
        "```",
        f"nproc: {nproc}",
        f"python: {platform.python_version()}",
        f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}",
        f"load average after:  {' '.join(f'{x:.2f}' for x in load_after)}",
        memory,
        "```",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if str(args.output) != "-":
        args.output.write_text(text)


if __name__ == "__main__":
    if sys.argv[1:] == ["--receiver"]:
        receiver_main()
    else:
        asyncio.run(main())
