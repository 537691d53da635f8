"""The dispatcher: claims due deliveries, signs and posts them, records every attempt, schedules retries.

Claims take a lease (``locked_until``): on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so any number of
``leadhub worker`` processes share the outbox without sending a delivery twice; a worker that dies holding
a lease loses nothing, its deliveries are claimed again when the lease runs out. Only the earliest open
delivery of each (endpoint, contact) is claimable, and a delivery stays open until its outcome is recorded,
so one contact's events reach an endpoint in order and never two at once.

``run`` is a pipeline: it keeps up to ``max_in_flight`` requests going (at most ``per_endpoint_in_flight``
to one endpoint, so a slow or dead receiver cannot take every slot), claims again as soon as a slot frees
or a commit announces new deliveries (``wakeup``), and records the outcomes that finished meanwhile in one
transaction (group commit), so neither a slow request nor the bookkeeping holds the others back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import httpx
from sqlalchemy import Select, Table, and_, bindparam, exists, insert, literal_column, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from leadhub import __version__, uow
from leadhub.config import WEBHOOK_LEASE_MARGIN_SECONDS
from leadhub.core import clock, ids
from leadhub.db.engine import Database
from leadhub.events.models import Event
from leadhub.webhooks import payload, retries, service, signing, ssrf, wakeup
from leadhub.webhooks.models import FAILED, OPEN_STATES, RETRYING, SUCCEEDED, Attempt, Delivery, WebhookEndpoint

log = logging.getLogger("leadhub.webhooks")
EXCERPT_BYTES = 1024
# Claimed-but-unrecorded deliveries allowed per request slot.
_AHEAD = 2
_OPEN_SQL = text("webhook_deliveries.status IN ('pending', 'retrying')")  # literal, so the partial index applies


@dataclass(frozen=True)
class Options:
    batch_size: int = 50
    # Requests in flight per worker. httpx's pool pays for every pooled connection on every request, so a
    # few busy connections move more than many idle ones (see bench/webhooks/README.md).
    max_in_flight: int = 16
    per_endpoint_in_flight: int = 8
    lease: timedelta = timedelta(seconds=60)
    timeout_seconds: float = 10.0
    poll_interval_seconds: float = 0.25
    allow_private: bool = False

    def __post_init__(self) -> None:
        # ``_send`` posts only while the claim outlasts the timeout, and the outcome is recorded after the post:
        # a lease no longer than the timeout would send nothing, one barely longer could run out before the
        # record, letting a second live dispatcher claim and send the same delivery.
        if self.lease.total_seconds() < self.timeout_seconds + WEBHOOK_LEASE_MARGIN_SECONDS:
            raise ValueError(
                f"the webhook lease ({self.lease.total_seconds():g} s) must exceed the request timeout "
                f"({self.timeout_seconds:g} s) by at least {WEBHOOK_LEASE_MARGIN_SECONDS:g} s"
            )


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
    lease_deadline: float = 0.0  # time.monotonic() when the lease runs out


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
        # Pipeline state (``run``). Claimed deliveries not yet recorded, per endpoint: up to twice the
        # requests allowed in flight, so the next requests are ready while the last outcomes are recorded.
        self._claimed: dict[uuid.UUID, int] = {}
        self._slots = asyncio.Semaphore(self.options.max_in_flight)
        self._endpoint_slots: dict[uuid.UUID, asyncio.Semaphore] = {}
        self._finished: list[tuple[Claimed, Outcome | None]] = []
        self._finished_ready = asyncio.Event()
        # Set by a commit that added deliveries (``wakeup``) and by each recorded batch (slots freed, and a
        # contact's next event may have become claimable).
        self._wake = asyncio.Event()

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            slots = self.options.max_in_flight
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.options.timeout_seconds),
                follow_redirects=False,
                trust_env=False,  # a proxy from the environment would bypass the address checks
                limits=httpx.Limits(max_connections=slots, max_keepalive_connections=slots),
                headers={"user-agent": f"leadhub-webhooks/{__version__}"},
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run_once(self) -> int:
        """Claim one batch of due deliveries, attempt them all, record the outcomes; returns how many."""
        claimed = await self._claim(self.options.batch_size)
        if claimed:
            slots = asyncio.Semaphore(self.options.max_in_flight)

            async def attempt(c: Claimed) -> Outcome:
                async with slots:
                    return await self._post(c)

            outcomes = await asyncio.gather(*(attempt(c) for c in claimed))
            await self._record_safely(list(zip(claimed, outcomes, strict=True)))
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, then finish and record the requests in flight."""
        wakeup.register(self._wake)
        listener = asyncio.create_task(wakeup.listen(self.db, self._wake, stop))
        stopping = asyncio.Event()  # set once no more claims will be made, however the claim loop ended
        recorder = asyncio.create_task(self._record_loop(stopping))
        try:
            await self._claim_loop(stop)
        finally:
            stopping.set()
            self._finished_ready.set()  # the recorder drains what is left, then returns
            with contextlib.suppress(Exception):
                await recorder
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
            wakeup.unregister(self._wake)
            await self.close()

    @property
    def _unrecorded(self) -> int:
        return sum(self._claimed.values())

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        tasks: set[asyncio.Task[None]] = set()
        ahead = _AHEAD * self.options.max_in_flight
        while not stop.is_set():
            self._wake.clear()
            limit = min(self.options.batch_size, ahead - self._unrecorded)
            claimed: list[Claimed] = []
            if limit > 0:
                try:
                    claimed = await self._claim(limit, _AHEAD * self.options.per_endpoint_in_flight)
                except Exception:  # the loop must outlive a database restart or a bad row
                    log.exception("claiming webhook deliveries failed")
            for c in claimed:
                self._claimed[c.endpoint_id] = self._claimed.get(c.endpoint_id, 0) + 1
                task = asyncio.create_task(self._send(c))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if claimed and len(claimed) == limit:
                continue  # more may be due right now
            # Idle (or full): wait for a commit's announcement, a recorded batch, the poll interval (retries
            # fall due by time), or the stop.
            await wakeup.first_of(stop, self._wake, seconds=self.options.poll_interval_seconds)
        while self._unrecorded:  # let the requests in flight finish and be recorded
            await wakeup.first_of(self._wake, seconds=self.options.timeout_seconds)
            self._wake.clear()

    async def _send(self, c: Claimed) -> None:
        outcome: Outcome | None = None
        try:
            # The endpoint's slot first, so a request waiting for its endpoint never holds a worker-wide slot.
            endpoint_slots = self._endpoint_slots.setdefault(
                c.endpoint_id, asyncio.Semaphore(self.options.per_endpoint_in_flight)
            )
            async with endpoint_slots, self._slots:
                if time.monotonic() + self.options.timeout_seconds < c.lease_deadline:
                    outcome = await self._post(c)
                else:
                    # Waited so long the lease could run out mid-request: leave it to the next claim rather
                    # than risk another worker sending it at the same time.
                    log.warning("webhook delivery %s left to its lease", ids.encode(ids.DELIVERY, c.delivery_id))
        except Exception as exc:  # never leave a slot taken: an unexpected error is a failed attempt
            log.exception("posting webhook delivery %s failed", ids.encode(ids.DELIVERY, c.delivery_id))
            outcome = Outcome(clock.now(), None, 0, None, type(exc).__name__, None)
        self._finished.append((c, outcome))
        self._finished_ready.set()

    async def _record_loop(self, stopping: asyncio.Event) -> None:
        """Record whatever finished since the last pass in one transaction (group commit)."""
        while True:
            await self._finished_ready.wait()
            self._finished_ready.clear()
            batch, self._finished = self._finished, []
            attempted = [(c, o) for c, o in batch if o is not None]
            if attempted:
                await self._record_safely(attempted)
            for c, _ in batch:
                left = self._claimed.get(c.endpoint_id, 1) - 1
                if left:
                    self._claimed[c.endpoint_id] = left
                else:
                    self._claimed.pop(c.endpoint_id, None)
                    self._endpoint_slots.pop(c.endpoint_id, None)  # nothing of this endpoint holds or awaits it
            if batch:
                self._wake.set()
            if stopping.is_set() and not self._unrecorded and not self._finished:
                return

    async def _claim(self, limit: int, per_endpoint: int | None = None) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries, at most ``per_endpoint`` unrecorded ones of one endpoint."""
        now = clock.now()
        deadline = time.monotonic() + self.options.lease.total_seconds()
        token = f"{self.name}:{uuid.uuid4().hex[:12]}"
        full = [endpoint for endpoint, n in self._claimed.items() if per_endpoint and n >= per_endpoint]
        room = {endpoint: (per_endpoint or 0) - n for endpoint, n in self._claimed.items()}
        params = {"now": now, "limit": limit, "full": full}
        stmt = _claim_statement(self.db.is_postgres)
        async with self.db.session() as session:
            rows = (await session.execute(stmt, params)).all()
            taken = []
            for row in rows:
                endpoint_id = row[0].endpoint_id
                if per_endpoint is not None:
                    # Rows over an endpoint's share are left unleased: the lock ends with this transaction.
                    if room.setdefault(endpoint_id, per_endpoint) <= 0:
                        continue
                    room[endpoint_id] -= 1
                taken.append(row)
            if not taken:
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
                    lease_deadline=deadline,
                )
                for d, e, ev in taken
            ]
            await session.execute(
                _LEASE,
                {
                    "keys": [(c.workspace_id, c.delivery_id) for c in claimed],
                    "until": now + self.options.lease,
                    "token": token,
                },
            )
            await session.commit()
        return claimed

    async def _record_safely(self, batch: list[tuple[Claimed, Outcome]]) -> None:
        try:
            async with self.db.session() as session:
                await self._record(session, batch)
                await uow.commit(session)
        except Exception:
            # The leases run out and the deliveries are attempted again: at least once, never lost.
            log.exception("recording %d webhook attempts failed", len(batch))

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

    async def _record(self, session: AsyncSession, batch: list[tuple[Claimed, Outcome]]) -> None:
        """Record a batch of attempts: the attempt rows, each delivery's next state, each endpoint's failure
        streak (and its disabling after 410 or five days of failures), all in the caller's transaction."""
        now = clock.now()
        await session.execute(
            insert(Attempt),
            [
                {
                    "workspace_id": c.workspace_id,
                    "id": ids.new_uuid(),
                    "delivery_id": c.delivery_id,
                    "url": c.url,
                    "attempted_at": o.attempted_at,
                    "status_code": o.status_code,
                    "latency_ms": o.latency_ms,
                    "response_excerpt": o.excerpt,
                    "error": o.error,
                    "worker": self.name[:64],
                }
                for c, o in batch
            ],
        )
        endpoints = sorted({(c.workspace_id, c.endpoint_id) for c, _ in batch})
        state = await _endpoint_state(session, endpoints)
        # Any failure, or a streak to end, is a change to the endpoint: lock those rows (in key order, so two
        # workers never deadlock) and decide on fresh values. FOR NO KEY UPDATE, so writers whose outbox rows
        # reference the endpoint (a key-share lock) are not held up. A batch of plain successes locks nothing.
        changing = sorted(
            {(c.workspace_id, c.endpoint_id) for c, o in batch if not o.ok}
            | {key for key, (_, failing) in state.items() if failing is not None}
        )
        if changing and self.db.is_postgres:
            state.update(await _endpoint_state(session, changing, lock=True))
        disable: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
        succeeded: list[dict[str, object]] = []
        failed: list[dict[str, object]] = []
        for key in endpoints:
            enabled, failing_since = state.get(key, (False, None))
            before = failing_since
            mine = sorted(((c, o) for c, o in batch if (c.workspace_id, c.endpoint_id) == key), key=_attempt_order)
            for c, o in mine:
                # The failure streak: starts at the first failed attempt, ends at any success.
                if o.ok:
                    failing_since = None
                elif failing_since is None:
                    failing_since = o.attempted_at
                values: dict[str, object] = {
                    "b_ws": c.workspace_id,
                    "b_id": c.delivery_id,
                    "b_token": c.token,
                    "attempts": c.attempts + 1,
                    "last_attempt_at": o.attempted_at,
                    "last_status_code": o.status_code,
                    "last_error": o.error,
                }
                if o.ok:
                    succeeded.append({**values, "status": SUCCEEDED, "next_attempt_at": None, "delivered_at": now})
                    continue
                if o.status_code == 410:
                    failed.append({**values, "status": FAILED, "next_attempt_at": None})
                    disable.setdefault(key, "the endpoint answered 410 Gone")
                    continue
                delay = retries.next_delay(c.attempts + 1, retries.parse_retry_after(o.retry_after, now))
                if delay is None or not enabled:
                    failed.append({**values, "status": FAILED, "next_attempt_at": None})
                else:
                    failed.append({**values, "status": RETRYING, "next_attempt_at": now + delay})
                if failing_since is not None and now - failing_since >= retries.DISABLE_AFTER:
                    disable.setdefault(key, f"every attempt failed for {retries.DISABLE_AFTER.days} days")
            if failing_since != before and key in state:
                await session.execute(
                    update(WebhookEndpoint)
                    .where(WebhookEndpoint.workspace_id == key[0], WebhookEndpoint.id == key[1])
                    .values(failing_since=failing_since)
                    .execution_options(synchronize_session=False)
                )
        # Only the lease holder moves a delivery on; a worker whose lease was taken over just logs its attempt.
        table = cast(Table, Delivery.__table__)
        by_lease = (
            update(table)
            .where(
                table.c.workspace_id == bindparam("b_ws"),
                table.c.id == bindparam("b_id"),
                table.c.locked_by == bindparam("b_token"),
            )
            .execution_options(synchronize_session=False)
        )
        for rows in (succeeded, failed):  # one executemany each: the SET columns are the rows' other keys
            if rows:
                await session.execute(by_lease, [{**row, "locked_until": None, "locked_by": None} for row in rows])
        for (workspace_id, endpoint_id), reason in disable.items():
            await service.disable_endpoint(session, workspace_id, endpoint_id, reason)


async def _endpoint_state(
    session: AsyncSession, keys: list[tuple[uuid.UUID, uuid.UUID]], *, lock: bool = False
) -> dict[tuple[uuid.UUID, uuid.UUID], tuple[bool, datetime | None]]:
    """Each endpoint's (enabled, failing_since)."""
    stmt = (
        select(WebhookEndpoint.workspace_id, WebhookEndpoint.id, WebhookEndpoint.enabled, WebhookEndpoint.failing_since)
        .where(or_(*(and_(WebhookEndpoint.workspace_id == w, WebhookEndpoint.id == e) for w, e in keys)))
        .order_by(WebhookEndpoint.workspace_id, WebhookEndpoint.id)
    )
    if lock:
        stmt = stmt.with_for_update(of=WebhookEndpoint, key_share=True)
    return {(w, e): (enabled, failing) for w, e, enabled, failing in (await session.execute(stmt)).all()}


@functools.cache
def _claim_statement(postgres: bool) -> Select[Delivery, WebhookEndpoint, Event]:
    """Due, unleased, enabled deliveries that are their (endpoint, contact)'s earliest open one, oldest first;
    built once (parameters: now, limit, full: endpoints to leave out)."""
    earlier = aliased(Delivery)
    blocked = exists().where(
        earlier.workspace_id == Delivery.workspace_id,
        earlier.endpoint_id == Delivery.endpoint_id,
        earlier.contact_id == Delivery.contact_id,
        earlier.event_seq < Delivery.event_seq,
        # Literals, as in the partial index's predicate, so a prepared (generic) plan can still use it.
        earlier.status.in_([literal_column(f"'{state}'") for state in OPEN_STATES]),
    )
    now = bindparam("now", type_=Delivery.next_attempt_at.type)
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
            Delivery.endpoint_id.not_in(bindparam("full", expanding=True)),
            ~blocked,
        )
        .order_by(Delivery.next_attempt_at)
        .limit(bindparam("limit"))
    )
    if postgres:
        stmt = stmt.with_for_update(skip_locked=True, of=Delivery)
    return stmt


_LEASE = (
    update(Delivery)
    .where(tuple_(Delivery.workspace_id, Delivery.id).in_(bindparam("keys", expanding=True)))
    .values(locked_until=bindparam("until"), locked_by=bindparam("token"))
    .execution_options(synchronize_session=False)
)


def _attempt_order(item: tuple[Claimed, Outcome]) -> datetime:
    return item[1].attempted_at


async def _read_excerpt(response: httpx.Response) -> str | None:
    """The first KiB of the answer; the rest is never read."""
    chunks = bytearray()
    async for chunk in response.aiter_raw():
        chunks += chunk
        if len(chunks) >= EXCERPT_BYTES:
            break
    return chunks[:EXCERPT_BYTES].decode("utf-8", "replace") if chunks else None
