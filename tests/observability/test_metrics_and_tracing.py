"""Prometheus `/metrics`: request counts and latency by route template and status, rate-limit refusals,
the database pool and the webhook outbox. Tracing, when switched on, makes one span per request named
by its route template."""

from __future__ import annotations

import re
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from leadhub.app import create_app
from leadhub.config import Settings
from leadhub.db.engine import Database
from leadhub.observability import tracing
from tests.conftest import Tenant


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition, 0 when absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        labels_text, value = line.rsplit(" ", 1)
        found = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


async def test_metrics_count_requests_by_route_template_and_status(client: httpx.AsyncClient, tenant: Tenant) -> None:
    before = (await client.get("/metrics")).text
    made = await client.post("/v1/contacts", json={"first_name": "M"}, headers=tenant.headers)
    await client.get(f"/v1/contacts/{made.json()['id']}", headers=tenant.headers)
    await client.get("/v1/contacts/con_nope", headers=tenant.headers)
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    after = response.text
    route = {"method": "GET", "route": "/v1/contacts/{contact_id}"}
    for status in ("200", "404"):
        grown = sample(after, "leadhub_http_requests_total", status=status, **route) - sample(
            before, "leadhub_http_requests_total", status=status, **route
        )
        assert grown >= 1
    assert sample(after, "leadhub_http_request_duration_seconds_count", **route) >= 2
    assert "con_" not in after  # ids never become labels
    assert sample(after, "leadhub_db_pool_connections", state="size") >= 1
    for name in (
        "leadhub_webhook_outbox_lag_seconds",
        "leadhub_webhook_deliveries",
        "leadhub_ratelimit_rejections_total",
    ):
        assert f"# TYPE {name}" in after


async def test_rate_limit_refusals_are_counted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.patch("/v1/rate-limits", json={"key_limit": 1, "window_seconds": 3600}, headers=tenant.headers)
    before = sample((await client.get("/metrics")).text, "leadhub_ratelimit_rejections_total", policy="key")
    await client.get("/v1/contacts", headers=tenant.headers)
    await client.get("/v1/contacts", headers=tenant.headers)
    after = sample((await client.get("/metrics")).text, "leadhub_ratelimit_rejections_total", policy="key")
    assert after - before >= 1


async def test_metrics_can_be_switched_off(database: Database, settings: Settings) -> None:
    off = create_app(Settings(data_dir=settings.data_dir, metrics_enabled=False), database, background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=off), base_url="http://t") as c:
        assert (await c.get("/metrics")).status_code == 404


async def test_tracing_is_off_by_default_and_names_spans_by_route_when_on(
    database: Database, settings: Settings, tenant: Tenant
) -> None:
    exporter = InMemorySpanExporter()
    plain = create_app(Settings(data_dir=settings.data_dir), database, background=False)
    assert not tracing.install(plain, Settings(data_dir=settings.data_dir), exporter)
    traced_settings = Settings(data_dir=settings.data_dir, otel_enabled=True)
    traced: Any = create_app(Settings(data_dir=settings.data_dir), database, background=False)
    assert tracing.install(traced, traced_settings, exporter)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=traced), base_url="http://t") as c:
        made = await c.post("/v1/contacts", json={"first_name": "T"}, headers=tenant.headers)
        await c.get(f"/v1/contacts/{made.json()['id']}", headers=tenant.headers)
    names = [span.name for span in exporter.get_finished_spans()]
    assert "POST /v1/contacts" in names and "GET /v1/contacts/{contact_id}" in names
    assert not any("con_" in n for n in names)
