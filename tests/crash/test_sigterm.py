"""Graceful shutdown (issue 7), with real processes: on SIGTERM `leadhub serve` refuses new connections,
answers the request in flight, and exits; the process that delivers webhooks (`serve`'s dispatcher on SQLite,
`leadhub worker` on PostgreSQL) finishes and records the deliveries in flight and exits holding no claim, so
the next process delivers the rest at once rather than after a lease; an import running inside `serve`
leaves its job to be resumed at once."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from leadhub.core import ids
from leadhub.db.engine import Database
from leadhub.events.models import Event
from leadhub.imports.models import ImportJob
from leadhub.webhooks.models import SUCCEEDED, Delivery
from tests.conftest import ENGINE
from tests.crash.receiver import running_receiver
from tests.crash.support import leased_by
from tests.serve_process import LEADHUB, Server, Worker, fresh_database, start, start_worker

pytestmark = pytest.mark.slow
ENV = {"LEADHUB_RATELIMIT_ENABLED": "false", "LEADHUB_WEBHOOK_ALLOW_PRIVATE": "1"}
# Few enough to create while the first deliveries are held, well inside the dispatcher's 10-s request timeout.
CONTACTS = 20
# Well under the 60-s lease a claim would hold the deliveries for had the stopped process left it.
AT_ONCE_SECONDS = 20


async def _exit_code(process: Server | Worker, within: float = 30) -> int:
    return await asyncio.to_thread(process.process.wait, within)


async def _until_refused(server: Server, within: float = 15) -> None:
    """Poll with fresh connections until the server refuses them (its listening socket is closed)."""
    deadline = time.monotonic() + within
    while True:
        try:
            async with httpx.AsyncClient() as fresh:
                await fresh.get(f"{server.base_url}/healthz", timeout=2)
        except httpx.ConnectError:
            return
        except httpx.TransportError:
            pass  # accepted just before the close, then let go: not yet the refusal we wait for
        assert time.monotonic() < deadline, "serve still accepts connections after SIGTERM"
        await asyncio.sleep(0.05)


async def test_sigterm_answers_the_request_in_flight_and_refuses_new_ones(tmp_path: Path) -> None:
    email = f"held.{uuid.uuid4().hex[:8]}@example.com"
    body = json.dumps({"email": email, "first_name": "Held"}).encode()
    first_part_sent, rest = asyncio.Event(), asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        # httpx asks for the next part once the previous one is written: past this yield, the headers and
        # the first part are on the wire, and the request is in flight until the rest comes.
        yield body[:10]
        first_part_sent.set()
        await rest.wait()
        yield body[10:]

    async with fresh_database(tmp_path) as url:
        server = await start(url, tmp_path, tmp_path / "serve.log", **ENV)
        try:
            auth = {"Authorization": f"Bearer {server.admin_key()}"}
            async with httpx.AsyncClient(base_url=server.base_url, headers=auth, timeout=30) as http:
                held = asyncio.create_task(
                    http.post("/v1/contacts", content=slow_body(), headers={"content-type": "application/json"})
                )
                await asyncio.wait_for(first_part_sent.wait(), 15)
                # A round trip on a later connection: the server accepted and read the held one before it.
                async with httpx.AsyncClient() as probe:
                    assert (await probe.get(f"{server.base_url}/healthz")).status_code == 200

                server.terminate()
                await _until_refused(server)
                assert server.process.poll() is None, "serve exited with a request in flight"
                rest.set()
                answered = await asyncio.wait_for(held, 30)
            assert answered.status_code == 201, answered.text
            assert await _exit_code(server) in (0, -15)  # uvicorn re-raises the SIGTERM it handled
            assert "Application shutdown complete" in server.printed()
        finally:
            server.ensure_stopped()

        restarted = await start(url, tmp_path, tmp_path / "serve.log", **ENV)
        try:
            async with httpx.AsyncClient(base_url=restarted.base_url, headers=auth, timeout=30) as http:
                stored = await http.get(f"/v1/contacts/{answered.json()['id']}")
            assert stored.status_code == 200 and stored.json()["emails"][0]["address"] == email
        finally:
            restarted.ensure_stopped()


async def test_sigterm_finishes_deliveries_in_flight_and_leaves_no_claim(tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    processes: list[Server | Worker] = []
    async with running_receiver() as receiver, fresh_database(tmp_path) as url:
        db = Database(url)
        try:
            server = await start(url, tmp_path, tmp_path / "serve.log", **ENV)
            processes.append(server)
            auth = {"Authorization": f"Bearer {server.admin_key()}"}
            async with httpx.AsyncClient(base_url=server.base_url, headers=auth, timeout=30) as http:
                hook = await http.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["contact.*"]})
                assert hook.status_code == 201, hook.text
                receiver.secret = hook.json()["secret"]
                stopping: Server | Worker = server
                if ENGINE == "postgres":
                    stopping = await start_worker(url, tmp_path / "worker.log")
                    processes.append(stopping)
                receiver.hold = asyncio.Event()  # every delivery stays in flight until released
                for n in range(CONTACTS):
                    created = await http.post("/v1/contacts", json={"email": f"d{n}.{run}@example.com"})
                    assert created.status_code == 201, created.text
            await receiver.hold_until_in_flight()

            stopping.terminate()
            if stopping is server:
                await _until_refused(server)
            assert stopping.process.poll() is None, "exited with deliveries in flight"
            receiver.release()
            assert await _exit_code(stopping) in (0, -15)
            # Everything the stopped process sent is recorded as delivered, and it left no lease behind.
            assert not await leased_by(db, stopping.pid)
            async with db.read_session() as session:
                done = set(await session.scalars(select(Delivery.event_id).where(Delivery.status == SUCCEEDED)))
            assert {ids.decode(ids.EVENT, g.webhook_id) for g in receiver.got} <= done
            sent_before_restart = len(receiver.got)

            if stopping is server:
                processes.append(await start(url, tmp_path, tmp_path / "serve.log", port=server.port, **ENV))
            else:
                processes.append(await start_worker(url, tmp_path / "worker.log"))
            async with db.read_session() as session:
                events = {
                    ids.encode(ids.EVENT, e)
                    for e in await session.scalars(select(Event.id).where(Event.type == "contact.created"))
                }
            assert len(events) == CONTACTS
            deadline = time.monotonic() + AT_ONCE_SECONDS
            while receiver.ids().keys() != events:
                assert time.monotonic() < deadline, "the rest was not delivered at once: a claim outlived its process"
                await asyncio.sleep(0.05)  # polling the receiver, with a deadline
        finally:
            for process in processes:
                process.ensure_stopped()
            await db.dispose()
    assert set(receiver.ids().values()) == {1}, "a delivery was sent twice"
    assert sent_before_restart >= 1 and not receiver.refused


IMPORT_ROWS = 3000


async def test_sigterm_leaves_a_running_import_for_the_next_serve_to_resume_at_once(tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    csv = "Email\n" + "".join(f"i{n}.{run}@example.com\n" for n in range(IMPORT_ROWS))
    async with fresh_database(tmp_path) as url:
        server = await start(url, tmp_path, tmp_path / "serve.log", **ENV)
        try:
            auth = {"Authorization": f"Bearer {server.admin_key()}"}
            async with httpx.AsyncClient(base_url=server.base_url, headers=auth, timeout=60) as http:
                started = await http.post("/v1/imports", content=csv.encode(), params={"filename": "people.csv"})
                assert started.status_code == 202, started.text
                job_id = started.json()["id"]
                deadline = time.monotonic() + 30
                while (await http.get(f"/v1/imports/{job_id}")).json()["status"] != "running":
                    assert time.monotonic() < deadline, "the import did not start"
                    await asyncio.sleep(0.05)  # polling the job, with a deadline
            server.terminate()
            # On SQLite the shutdown waits for the import's chunk to commit (its dispatcher needs the write lock).
            assert await _exit_code(server, within=90) in (0, -15)
        finally:
            server.ensure_stopped()
        db = Database(url)
        try:
            async with db.read_session() as session:
                stopped = await session.scalar(select(ImportJob))
        finally:
            await db.dispose()
        assert stopped is not None and stopped.status == "running", "finished before SIGTERM"
        assert stopped.rows_read < IMPORT_ROWS and stopped.lease_until is None, "the lease was not given back"

        restarted = await start(url, tmp_path, tmp_path / "serve.log", port=server.port, **ENV)
        try:
            async with httpx.AsyncClient(base_url=restarted.base_url, headers=auth, timeout=300) as http:
                # The restarted serve resumes it on its own at once (its lease was given back at SIGTERM; a kept
                # lease would hold it for LEADHUB_IMPORT_LEASE_SECONDS, 2 min, past this deadline).
                deadline = time.monotonic() + 60
                while (job := (await http.get(f"/v1/imports/{job_id}")).json())["status"] != "completed":
                    assert job["status"] == "running", job
                    assert time.monotonic() < deadline, f"not resumed at once: {job}"
                    await asyncio.sleep(0.1)  # polling the job, with a deadline
                assert job["created"] == IMPORT_ROWS and job["rows_read"] == IMPORT_ROWS  # every row once
        finally:
            restarted.ensure_stopped()


async def test_a_sigtermed_leadhub_import_can_be_resumed_at_once(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text("Email\n" + "".join(f"c{n}@example.com\n" for n in range(IMPORT_ROWS)))
    async with fresh_database(tmp_path) as url:
        env = {**os.environ, "LEADHUB_DATABASE_URL": url, "LEADHUB_DATA_DIR": str(tmp_path)}
        command = [LEADHUB, "import", str(source), "--chunk-rows", "50", "--quiet"]
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        db = Database(url)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    async with db.read_session() as session:
                        job = await session.scalar(select(ImportJob))
                except Exception:  # the process has not created the tables yet
                    job = None
                if job is not None and job.checkpoint >= 100:
                    break
                assert process.returncode is None and time.monotonic() < deadline, "the import made no progress"
                await asyncio.sleep(0.05)  # polling the job's committed checkpoint, with a deadline
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)

            resumed = await asyncio.create_subprocess_exec(
                LEADHUB,
                *("import", "--resume", job.public_id, "--quiet"),
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await asyncio.wait_for(resumed.communicate(), 300)
            assert resumed.returncode == 0, output.decode()
            async with db.read_session() as session:
                done = await session.scalar(select(ImportJob))
            assert done is not None and done.status == "completed" and done.created == IMPORT_ROWS
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await db.dispose()
