"""End-to-end webhook delivery on PostgreSQL: events/s from commit to the receiver's 2xx, and commit→delivery
latency p50/p99, with one and then two `leadhub worker` processes. Writes bench/webhooks/RESULTS.md.

    .venv/bin/python bench/webhooks/bench.py [--events 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadhub import uow
from leadhub.auth import service as auth
from leadhub.auth.principal import Actor
from leadhub.core import clock, ids
from leadhub.db import migrate
from leadhub.db.engine import Database
from leadhub.events import service as events
from leadhub.uow import unit_of_work
from leadhub.webhooks import signing
from leadhub.webhooks.models import WebhookEndpoint

PG = os.environ.get("LEADHUB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
LEADHUB = str(Path(sys.executable).with_name("leadhub"))
HERE = Path(__file__).parent


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}

    async def handle(self, request: Request) -> Response:
        await request.body()
        self.arrived.setdefault(request.headers["webhook-id"], time.perf_counter())
        return Response(status_code=204)


async def run(
    workers: int, n: int, url: str, db: Database, ws_id: uuid.UUID, port: int, rx: Receiver
) -> dict[str, float]:
    env = {**os.environ, "LEADHUB_DATABASE_URL": url, "LEADHUB_WEBHOOK_ALLOW_PRIVATE": "1"}
    procs = [
        subprocess.Popen([LEADHUB, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(workers)
    ]
    for p in procs:
        assert p.stdout is not None
        line = await asyncio.to_thread(p.stdout.readline)
        assert b"ready" in line, line
    committed: dict[str, float] = {}
    actor = Actor.system("bench")
    rx.arrived.clear()

    async def produce(count: int) -> None:
        for _ in range(count):
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
            committed[ids.encode(ids.EVENT, pending.id)] = time.perf_counter()

    start = time.perf_counter()
    await asyncio.gather(*(produce(n // 8) for _ in range(8)))  # eight concurrent writers
    produced = time.perf_counter()
    deadline = time.monotonic() + 90
    while len(rx.arrived) < len(committed) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=15)
    latencies = sorted((rx.arrived[k] - t) * 1000 for k, t in committed.items() if k in rx.arrived)
    end = max(rx.arrived.values())
    return {
        "events": len(committed),
        "delivered": len(latencies),
        "commit_rate": len(committed) / (produced - start),
        "throughput": len(latencies) / (end - start),
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    rx = Receiver()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Route("/hook", rx.handle, methods=["POST"])]), log_level="warning")
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    results = []
    for workers in (1, 2):
        name = f"lh_bench_{uuid.uuid4().hex[:8]}"
        await admin(f'CREATE DATABASE "{name}"')
        url = PG.rsplit("/", 1)[0] + f"/{name}"
        db = Database(url)
        try:
            await migrate.upgrade(db)
            async with unit_of_work(db) as session:
                org = await auth.create_organization(session, "bench")
                ws = await auth.create_workspace(session, org.id, "bench", "US")
                now = clock.now()
                session.add(
                    WebhookEndpoint(
                        workspace_id=ws.id,
                        id=ids.new_uuid(),
                        url=f"http://127.0.0.1:{port}/hook",
                        event_types=["*"],
                        enabled=True,
                        secret=signing.new_secret(),
                        created_at=now,
                        updated_at=now,
                    )
                )
            results.append((workers, await run(workers, args.events, url, db, ws.id, port, rx)))
        finally:
            await db.dispose()
            await admin(f'DROP DATABASE "{name}" WITH (FORCE)')
    server.should_exit = True
    await serving
    machine = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Webhook delivery benchmark",
        "",
        f"Run `{' '.join(['.venv/bin/python', 'bench/webhooks/bench.py', '--events', str(args.events)])}` on "
        f"{time.strftime('%Y-%m-%d')}. PostgreSQL 127.0.0.1, workers with default options (batch 50, poll 0.25 s).",
        "Eight concurrent writers commit one event per transaction (each fans out to one endpoint); the receiver",
        "(same process as the writers, 127.0.0.1) answers 204. Throughput: delivered events / (last 2xx - first",
        "commit). Latency: commit returned → receiver got the request.",
        "",
        "| workers | events | delivered | commits/s | delivered events/s | p50 ms | p99 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for workers, r in results:
        lines.append(
            f"| {workers} | {r['events']:.0f} | {r['delivered']:.0f} | {r['commit_rate']:.0f} | {r['throughput']:.0f} "
            f"| {r['p50']:.1f} | {r['p99']:.1f} |"
        )
    lines += ["", "Machine:", "", "```", f"nproc: {machine}", f"python: {platform.python_version()}", memory, "```", ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
