"""Resuming import jobs whose runner died: `leadhub serve` and `leadhub worker` watch for them.

A job is stale when it is still ``running`` but its lease (renewed with every chunk) has expired. Taking
one goes through ``service.run``, whose claim locks the job row and refuses a live lease, so two processes
watching the same database never run one job: the loser gets Conflict and moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from leadhub.auth.principal import Actor
from leadhub.core.errors import Conflict
from leadhub.db.engine import Database
from leadhub.imports import service

log = logging.getLogger("leadhub.imports")
ACTOR = Actor(type="system", id=None, door="import-resume")
CHECK_EVERY_SECONDS = 30.0


async def resume_stale(db: Database) -> int:
    """Run every stale job to its end (one after the other); returns how many this process finished."""
    async with db.read_session() as session:
        stale = await service.stale_jobs(session)
    finished = 0
    for workspace_id, job_id in stale:
        try:
            job = await service.run(db, workspace_id, job_id, ACTOR)
        except Conflict:
            continue  # another process claimed it first
        except Exception:  # the job is marked failed by run(); the watcher carries on
            log.exception("resuming import %s failed", job_id)
            continue
        finished += job.status == "completed"
    return finished


async def watch(db: Database, stop: asyncio.Event, every: float | None = None) -> None:
    """Resume stale jobs at start, then every ``every`` seconds (default: 30, or the lease if shorter)
    until ``stop`` is set."""
    every = every or min(CHECK_EVERY_SECONDS, service.LEASE.total_seconds())
    while not stop.is_set():
        try:
            await resume_stale(db)
        except Exception:  # a transient database error must not end the watcher
            log.exception("looking for stale imports failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
