"""Import jobs run in the background of a `serve` process (started by `POST /v1/imports` or the web app's
Start button), kept referenced until they end and stopped cleanly at shutdown: a stopped run gives its
job's lease back, so the next process (or `POST /v1/imports/{id}/resume`) continues it at once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from leadhub.auth.principal import Actor
from leadhub.db.engine import Database
from leadhub.imports import service

# The event loop holds only weak references to tasks.
_RUNNING: set[asyncio.Task[Any]] = set()


def start(db: Database, workspace_id: uuid.UUID, job_id: uuid.UUID, actor: Actor) -> None:
    """Run the job to its end in this process's background."""
    task = asyncio.create_task(service.run(db, workspace_id, job_id, actor))
    _RUNNING.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[Any]) -> None:
    _RUNNING.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: the service has already marked the job failed


async def stop() -> None:
    """Stop every running import of this process (each releases its lease) and wait for them."""
    running = list(_RUNNING)
    for task in running:
        task.cancel()
    for task in running:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
