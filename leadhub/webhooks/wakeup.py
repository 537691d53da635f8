"""Waking idle dispatchers when deliveries are committed, so a new event leaves at once instead of at the
next poll. Polling stays as the fallback (retries fall due by time, and a notification can be lost with
its connection).

- In the same process (``leadhub serve`` on SQLite runs the dispatcher in-process): a writer's commit that
  added outbox rows sets every registered dispatcher's event, right after the commit.
- Across processes on PostgreSQL: the writer's transaction issues ``NOTIFY``, which PostgreSQL delivers
  only when (and if) the transaction commits; each ``leadhub worker`` holds a connection that LISTENs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from leadhub.db.engine import Database

log = logging.getLogger("leadhub.webhooks")
CHANNEL = "leadhub_webhooks"
_FLAG = "leadhub.webhooks.enqueued"
_local: set[asyncio.Event] = set()


def register(wake: asyncio.Event) -> None:
    """Have ``wake`` set whenever this process commits outbox rows."""
    _local.add(wake)


def unregister(wake: asyncio.Event) -> None:
    _local.discard(wake)


async def announce(session: AsyncSession) -> None:
    """Called by the outbox in the writer's transaction: wake dispatchers once (and only if) it commits."""
    session.info[_FLAG] = True
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"NOTIFY {CHANNEL}"))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        # Runs on the event loop's thread (the async session drives the sync one through greenlets).
        for wake in list(_local):
            wake.set()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_FLAG, None)


async def listen(db: Database, wake: asyncio.Event, stop: asyncio.Event, retry_seconds: float = 1.0) -> None:
    """On PostgreSQL, hold a LISTEN connection that sets ``wake`` on every notification, until ``stop``;
    reconnect after a lost connection. Returns at once on other engines."""
    if not db.is_postgres:
        return
    while not stop.is_set():
        lost = asyncio.Event()
        try:
            async with db.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver: Any = raw.driver_connection

                def on_notify(*_args: Any) -> None:
                    wake.set()

                def on_lost(*_args: Any, lost: asyncio.Event = lost) -> None:
                    lost.set()

                await driver.add_listener(CHANNEL, on_notify)
                driver.add_termination_listener(on_lost)
                wake.set()  # anything committed while we were not listening
                try:
                    await first_of(stop, lost)
                finally:
                    if not lost.is_set():
                        driver.remove_termination_listener(on_lost)
                        await driver.remove_listener(CHANNEL, on_notify)
        except Exception:  # a database restart: poll meanwhile, listen again shortly
            log.warning("webhook LISTEN connection failed; polling until it is back", exc_info=True)
        if not stop.is_set():
            await first_of(stop, seconds=retry_seconds)


async def first_of(*events: asyncio.Event, seconds: float | None = None) -> None:
    """Wait until any of ``events`` is set, or ``seconds`` pass."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
