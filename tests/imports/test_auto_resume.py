"""A `leadhub import` SIGKILLed mid-file is finished by the `leadhub worker` processes watching the database
(no command from anyone): each row imported once, although two watchers saw the stale job."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from leadhub.contacts.models import Contact, ContactEmail
from leadhub.db.engine import Database
from leadhub.events.models import Event
from leadhub.imports.models import ImportJob
from tests.serve_process import LEADHUB, fresh_database, start_worker

pytestmark = pytest.mark.slow
ROWS = 1500
LEASE_SECONDS = "6"


async def _job(db: Database) -> ImportJob | None:
    try:
        async with db.read_session() as session:
            return await session.scalar(select(ImportJob))
    except DBAPIError:  # the process has not created the tables yet
        return None


async def test_workers_resume_a_crashed_import_once(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    with source.open("w") as out:
        out.write("First Name,Last Name,Email,Phone\n")
        for n in range(ROWS):
            out.write(f"Person,Number{n},p{n}@example.com,+1415555{n:04d}\n")
    async with fresh_database(tmp_path) as url:
        env = {
            **os.environ,
            "LEADHUB_DATABASE_URL": url,
            "LEADHUB_DATA_DIR": str(tmp_path),
            "LEADHUB_IMPORT_LEASE_SECONDS": LEASE_SECONDS,
        }
        # The per-row path, in small chunks: slow enough to be caught mid-file.
        command = [LEADHUB, "import", str(source), "--path", "service", "--chunk-rows", "20", "--quiet"]
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        db = Database(url)
        workers = []
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 90
            while True:
                job = await _job(db)
                if job is not None and job.checkpoint >= 40:
                    break
                assert process.returncode is None, "the import ended before it could be killed"
                assert loop.time() < deadline, "the import made no progress"
                await asyncio.sleep(0.02)  # polling the job's committed checkpoint, with a deadline
            process.kill()
            await process.wait()
            killed = await _job(db)
            assert killed is not None and killed.status == "running" and killed.checkpoint < ROWS

            extra = {"LEADHUB_IMPORT_LEASE_SECONDS": LEASE_SECONDS, "LEADHUB_DATA_DIR": str(tmp_path)}
            workers = [await start_worker(url, tmp_path / f"worker{i}.log", **extra) for i in range(2)]
            deadline = loop.time() + 180
            while True:
                job = await _job(db)
                assert job is not None
                if job.status != "running":
                    break
                assert loop.time() < deadline, "no worker resumed the import"
                await asyncio.sleep(0.1)  # polling the job's status, with a deadline

            async with db.read_session() as session:
                contacts = await session.scalar(select(func.count()).select_from(Contact))
                emails = await session.scalar(select(func.count(func.distinct(ContactEmail.address))))
                created = await session.scalar(
                    select(func.count()).select_from(Event).where(Event.type == "contact.created")
                )
                completed = await session.scalar(
                    select(func.count()).select_from(Event).where(Event.type == "import.completed")
                )
            assert job.status == "completed", job.error
            assert (job.rows_read, job.created, job.updated, job.failed, job.merged) == (ROWS, ROWS, 0, 0, 0)
            assert contacts == emails == created == ROWS
            assert completed == 1
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            for worker in workers:
                worker.ensure_stopped()
            await db.dispose()
