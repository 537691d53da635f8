"""The dispatcher: claims due deliveries, signs and posts them, records every attempt, schedules retries.

Claims take a lease (``locked_until``): on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so any number of
``leadhub worker`` processes share the outbox without sending a delivery twice; a worker that dies holding
a lease loses nothing, its deliveries are claimed again when the lease runs out. Only the earliest open
delivery of each (endpoint, contact) is claimable, so one contact's events reach an endpoint in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import and_, exists, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from leadhub import __version__, uow
from leadhub.core import clock, ids
from leadhub.db.engine import Database
from leadhub.events.models import Event
from leadhub.webhooks import payload, retries, service, signing, ssrf
from leadhub.webhooks.models import FAILED, OPEN_STATES, RETRYING, SUCCEEDED, Attempt, Delivery, WebhookEndpoint

log = logging.getLogger("leadhub.webhooks")
EXCERPT_BYTES = 1024
_OPEN_SQL = text("webhook_deliveries.status IN ('pending', 'retrying')")  # literal, so the partial index applies


@dataclass(frozen=True)
class Options:
    batch_size: int = 50
    lease: timedelta = timedelta(seconds=60)
    timeout_seconds: float = 10.0
    poll_interval_seconds: float = 0.25
    allow_private: bool = False


@dataclass(frozen=True)
class Claimed:
    workspace_id: uuid.UUID
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    secrets: tuple[str, ...]
    msg_id: str
    body: str
    attempts: int
    token: str


@dataclass(frozen=True)
class Outcome:
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None
    retry_after: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class Dispatcher:
    def __init__(self, db: Database, options: Options | None = None, *, name: str | None = None) -> None:
        self.db = db
        self.options = options or Options()
        self.name = name or worker_name()
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.options.timeout_seconds),
                follow_redirects=False,
                trust_env=False,  # a proxy from the environment would bypass the address checks
                limits=httpx.Limits(max_connections=max(self.options.batch_size, 10), max_keepalive_connections=20),
                headers={"user-agent": f"leadhub-webhooks/{__version__}"},
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run_once(self) -> int:
        """Claim one batch of due deliveries, attempt them all, record the outcomes; returns how many."""
        claimed = await self._claim()
        if claimed:
            await asyncio.gather(*(self._attempt(c) for c in claimed))
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until ``stop`` is set: a full batch goes straight on, otherwise wait one poll interval."""
        try:
            while not stop.is_set():
                try:
                    done = await self.run_once()
                except Exception:  # the loop must outlive a database restart or a bad row
                    log.exception("webhook dispatch pass failed")
                    done = 0
                if done < self.options.batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.options.poll_interval_seconds)
        finally:
            await self.close()

    async def _claim(self) -> list[Claimed]:
        now = clock.now()
        token = f"{self.name}:{uuid.uuid4().hex[:12]}"
        earlier = aliased(Delivery)
        blocked = exists().where(
            earlier.workspace_id == Delivery.workspace_id,
            earlier.endpoint_id == Delivery.endpoint_id,
            earlier.contact_id == Delivery.contact_id,
            earlier.event_seq < Delivery.event_seq,
            earlier.status.in_(OPEN_STATES),
        )
        stmt = (
            select(Delivery, WebhookEndpoint, Event)
            .join(
                WebhookEndpoint,
                and_(WebhookEndpoint.workspace_id == Delivery.workspace_id, WebhookEndpoint.id == Delivery.endpoint_id),
            )
            .join(Event, and_(Event.workspace_id == Delivery.workspace_id, Event.seq == Delivery.event_seq))
            .where(
                _OPEN_SQL,
                Delivery.next_attempt_at <= now,
                or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
                WebhookEndpoint.enabled.is_(True),
                ~blocked,
            )
            .order_by(Delivery.next_attempt_at)
            .limit(self.options.batch_size)
        )
        if self.db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True, of=Delivery)
        async with self.db.session() as session:
            rows = (await session.execute(stmt)).all()
            if not rows:
                await session.rollback()
                return []
            claimed = [
                Claimed(
                    workspace_id=d.workspace_id,
                    delivery_id=d.id,
                    endpoint_id=e.id,
                    url=e.url,
                    secrets=tuple(service.signing_secrets(e, now)),
                    msg_id=ids.encode(ids.EVENT, ev.id),
                    body=payload.body(ev),
                    attempts=d.attempts,
                    token=token,
                )
                for d, e, ev in rows
            ]
            for d, _, _ in rows:
                d.locked_until = now + self.options.lease
                d.locked_by = token
            await session.commit()
        return claimed

    async def _attempt(self, c: Claimed) -> None:
        outcome = await self._post(c)
        try:
            async with self.db.session() as session:
                await self._record(session, c, outcome)
                await uow.commit(session)
        except Exception:
            # The lease runs out and the delivery is attempted again: at least once, never lost.
            log.exception("recording a webhook attempt failed (delivery %s)", ids.encode(ids.DELIVERY, c.delivery_id))

    async def _post(self, c: Claimed) -> Outcome:
        started = time.monotonic()
        attempted_at = clock.now()
        request_headers = {
            **signing.headers(c.msg_id, attempted_at, c.body, c.secrets),
            "content-type": "application/json",
        }
        url = httpx.URL(c.url)
        extensions: dict[str, str] = {}
        status_code: int | None = None
        excerpt: str | None = None
        error: str | None = None
        retry_after: str | None = None
        try:
            if not self.options.allow_private:
                target = await ssrf.safe_target(c.url)
                # Connect to the address we checked (no second lookup a DNS rebinding could answer differently),
                # while Host and TLS SNI still name the host.
                request_headers["host"] = url.netloc.decode("ascii")
                extensions["sni_hostname"] = target.host
                url = url.copy_with(host=str(target.address))
            async with self.client.stream(
                "POST", url, content=c.body.encode(), headers=request_headers, extensions=extensions
            ) as response:
                status_code = response.status_code
                retry_after = response.headers.get("retry-after")
                excerpt = await _read_excerpt(response)
        except ssrf.BlockedAddress as exc:
            error = f"refused: {exc}"
        except ssrf.UnresolvableHost as exc:
            error = str(exc)
        except httpx.TimeoutException:
            error = f"timed out after {self.options.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        latency_ms = int((time.monotonic() - started) * 1000)
        return Outcome(attempted_at, status_code, latency_ms, excerpt, error, retry_after)

    async def _record(self, session: AsyncSession, c: Claimed, o: Outcome) -> None:
        now = clock.now()
        session.add(
            Attempt(
                workspace_id=c.workspace_id,
                id=ids.new_uuid(),
                delivery_id=c.delivery_id,
                url=c.url,
                attempted_at=o.attempted_at,
                status_code=o.status_code,
                latency_ms=o.latency_ms,
                response_excerpt=o.excerpt,
                error=o.error,
                worker=self.name[:64],
            )
        )
        attempts = c.attempts + 1
        endpoint_filter = (WebhookEndpoint.workspace_id == c.workspace_id, WebhookEndpoint.id == c.endpoint_id)
        # The failure streak: starts at the first failed attempt, ends at any success.
        streak = WebhookEndpoint.failing_since.is_not(None) if o.ok else WebhookEndpoint.failing_since.is_(None)
        await session.execute(
            update(WebhookEndpoint)
            .where(*endpoint_filter, streak)
            .values(failing_since=None if o.ok else o.attempted_at)
            .execution_options(synchronize_session=False)
        )
        state = (
            await session.execute(
                select(WebhookEndpoint.enabled, WebhookEndpoint.failing_since).where(*endpoint_filter)
            )
        ).one_or_none()
        enabled, failing_since = state if state is not None else (False, None)
        values: dict[str, object] = {
            "attempts": attempts,
            "last_attempt_at": o.attempted_at,
            "last_status_code": o.status_code,
            "last_error": o.error,
            "locked_until": None,
            "locked_by": None,
        }
        disable_reason: str | None = None
        if o.ok:
            values.update(status=SUCCEEDED, next_attempt_at=None, delivered_at=now)
        elif o.status_code == 410:
            values.update(status=FAILED, next_attempt_at=None)
            disable_reason = "the endpoint answered 410 Gone"
        else:
            delay = retries.next_delay(attempts, retries.parse_retry_after(o.retry_after, now))
            if delay is None or not enabled:
                values.update(status=FAILED, next_attempt_at=None)
            else:
                values.update(status=RETRYING, next_attempt_at=now + delay)
            if failing_since is not None and now - failing_since >= retries.DISABLE_AFTER:
                disable_reason = f"every attempt failed for {retries.DISABLE_AFTER.days} days"
        # Only the lease holder moves the delivery on; a worker whose lease was taken over just logs its attempt.
        await session.execute(
            update(Delivery)
            .where(Delivery.workspace_id == c.workspace_id, Delivery.id == c.delivery_id, Delivery.locked_by == c.token)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if disable_reason is not None:
            await service.disable_endpoint(session, c.workspace_id, c.endpoint_id, disable_reason)


async def _read_excerpt(response: httpx.Response) -> str | None:
    """The first KiB of the answer; the rest is never read."""
    chunks = bytearray()
    async for chunk in response.aiter_raw():
        chunks += chunk
        if len(chunks) >= EXCERPT_BYTES:
            break
    return chunks[:EXCERPT_BYTES].decode("utf-8", "replace") if chunks else None
