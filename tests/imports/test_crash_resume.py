"""A real `leadhub import` process is SIGKILLed mid-file; `leadhub import --resume` finishes the job and
no row is imported twice (the checkpoint commits with each chunk)."""

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
from tests.serve_process import LEADHUB, fresh_database

pytestmark = pytest.mark.slow
ROWS = 800
CHUNK = 50
KILL_AT_CHECKPOINT = 100


def _file(path: Path) -> None:
    with path.open("w") as out:
        out.write("First Name,Last Name,Email,Phone\n")
        for n in range(ROWS):
            out.write(f"Person,Number{n},p{n}@example.com,+1415555{n:04d}\n")


async def _job(db: Database) -> ImportJob | None:
    try:
        async with db.read_session() as session:
            return await session.scalar(select(ImportJob))
    except DBAPIError:  # the process has not created the tables yet
        return None


async def test_a_sigkilled_import_resumes_at_its_checkpoint_and_imports_each_row_once(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    _file(source)
    async with fresh_database(tmp_path) as url:
        env = {**os.environ, "LEADHUB_DATABASE_URL": url, "LEADHUB_DATA_DIR": str(tmp_path)}
        command = [LEADHUB, "import", str(source), "--chunk-rows", str(CHUNK), "--quiet"]
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        db = Database(url)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while True:
                job = await _job(db)
                if job is not None and job.checkpoint >= KILL_AT_CHECKPOINT:
                    break
                assert process.returncode is None, "the import ended before it could be killed"
                assert loop.time() < deadline, "the import made no progress"
                await asyncio.sleep(0.02)  # polling the job's committed checkpoint, with a deadline
            process.kill()  # SIGKILL: mid-chunk, no cleanup
            await process.wait()
            killed = await _job(db)
            assert killed is not None and killed.status == "running" and killed.checkpoint < ROWS

            resumed = await asyncio.create_subprocess_exec(
                LEADHUB,
                *("import", "--resume", killed.public_id, "--take-over", "--quiet"),
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await asyncio.wait_for(resumed.communicate(), 120)
            assert resumed.returncode == 0, output.decode()
            async with db.read_session() as session:
                job = await session.scalar(select(ImportJob))
                contacts = await session.scalar(select(func.count()).select_from(Contact))
                emails = await session.scalar(select(func.count(func.distinct(ContactEmail.address))))
                created_events = await session.scalar(
                    select(func.count()).select_from(Event).where(Event.type == "contact.created")
                )
                completed = await session.scalar(
                    select(func.count()).select_from(Event).where(Event.type == "import.completed")
                )
            assert job is not None and job.status == "completed"
            assert (job.rows_read, job.created, job.failed, job.merged) == (ROWS, ROWS, 0, 0)
            assert contacts == emails == created_events == ROWS
            assert completed == 1
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await db.dispose()
