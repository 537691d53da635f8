"""Prometheus metrics. Counters and histograms are fed as requests pass; database-derived gauges (pool,
webhook outbox) are read when `/metrics` is scraped, so they cost nothing between scrapes."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.pool import QueuePool

from leadhub.core import clock
from leadhub.db.engine import Database
from leadhub.webhooks.models import OPEN_STATES, Attempt, Delivery

CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter("leadhub_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "leadhub_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RATE_LIMITED = Counter("leadhub_ratelimit_rejections_total", "Requests refused with 429", ["policy"])
RATE_LIMIT_ERRORS = Counter("leadhub_ratelimit_store_errors_total", "Bucket store failures (requests let through)")
POOL = Gauge("leadhub_db_pool_connections", "Database pool connections", ["state"])
OUTBOX_OPEN = Gauge("leadhub_webhook_outbox_open", "Webhook deliveries not yet delivered or given up", ["status"])
OUTBOX_LAG = Gauge("leadhub_webhook_outbox_lag_seconds", "Age of the oldest due, undelivered webhook delivery")
DELIVERIES = Gauge("leadhub_webhook_deliveries", "Webhook deliveries by state", ["status"])
ATTEMPTS = Gauge("leadhub_webhook_attempts_last_hour", "Webhook attempts in the last hour by outcome", ["outcome"])


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


async def _collect_database(db: Database) -> None:
    pool = db.engine.pool
    if isinstance(pool, QueuePool):
        POOL.labels("size").set(pool.size())
        POOL.labels("checked_out").set(pool.checkedout())
        POOL.labels("overflow").set(max(0, pool.overflow()))
        POOL.labels("idle").set(pool.checkedin())
    now = clock.now()
    async with db.read_session() as session:
        by_status = dict((await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))).all())
        oldest = await session.scalar(
            select(func.min(Delivery.next_attempt_at)).where(
                Delivery.status.in_(OPEN_STATES), Delivery.next_attempt_at <= now
            )
        )
        attempts = (
            await session.execute(
                select(Attempt.status_code, func.count())
                .where(Attempt.attempted_at >= now - timedelta(hours=1))
                .group_by(Attempt.status_code)
            )
        ).all()
    for status in ("pending", "retrying", "succeeded", "failed"):
        DELIVERIES.labels(status).set(by_status.get(status, 0))
        if status in OPEN_STATES:
            OUTBOX_OPEN.labels(status).set(by_status.get(status, 0))
    OUTBOX_LAG.set(max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
    outcomes = {"success": 0, "http_error": 0, "network_error": 0}
    for code, count in attempts:
        outcome = "network_error" if code is None else "success" if 200 <= code < 300 else "http_error"
        outcomes[outcome] += count
    for outcome, count in outcomes.items():
        ATTEMPTS.labels(outcome).set(count)


async def render(db: Database) -> bytes:
    """The exposition text of every metric, with the database gauges freshly read."""
    await _collect_database(db)
    return generate_latest()
