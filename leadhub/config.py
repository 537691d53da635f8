"""Settings, read from ``LEADHUB_*`` environment variables (each also a ``serve`` option where it fits)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

# A webhook claim must outlast its request by this much, so the attempt is recorded while the claim still holds.
WEBHOOK_LEASE_MARGIN_SECONDS = 1.0


class SettingsError(ValueError):
    """A setting with a value leadhub refuses; the message names its environment variable."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _trust_settings(env: Mapping[str, str]) -> dict[str, object]:
    """Rate-limit, request-limit, logging, metrics, tracing and privacy settings present in ``env``."""
    kinds: dict[str, type] = {
        "ratelimit_enabled": bool,
        "ratelimit_key_limit": int,
        "ratelimit_workspace_limit": int,
        "ratelimit_window_seconds": int,
        "ratelimit_daily_quota": int,
        "ratelimit_anonymous_limit": int,
        "redis_url": str,
        "max_json_depth": int,
        "max_json_items": int,
        "max_json_string": int,
        "body_timeout_seconds": float,
        "upload_max_bytes": int,
        "db_pool_size": int,
        "db_max_overflow": int,
        "keepalive_seconds": int,
        "shutdown_timeout_seconds": int,
        "log_format": str,
        "metrics_enabled": bool,
        "otel_enabled": bool,
        "otel_endpoint": str,
        "suppress_erased": bool,
    }
    values: dict[str, object] = {}
    for name, kind in kinds.items():
        raw = env.get(f"LEADHUB_{name.upper()}")
        if raw is None or raw == "":
            continue
        values[name] = _bool(raw) if kind is bool else kind(raw)
    return values


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A number of seconds from ``env[name]`` (``default`` when unset), refusing what is not a finite number."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value):
        raise SettingsError(f"{name} must be a finite number of seconds, got {raw!r}")
    return value


def _recovery_settings(env: Mapping[str, str]) -> dict[str, object]:
    """The leases that decide how soon work a dead process had claimed is taken over, and the webhook timeout."""
    return {
        "idempotency_lease_seconds": _seconds(env, "LEADHUB_IDEMPOTENCY_LEASE_SECONDS", 60.0),
        "webhook_lease_seconds": _seconds(env, "LEADHUB_WEBHOOK_LEASE_SECONDS", 60.0),
        "webhook_timeout_seconds": _seconds(env, "LEADHUB_WEBHOOK_TIMEOUT_SECONDS", 10.0),
    }


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("./data"))
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    webhook_allow_private: bool = False
    # Default region for phone numbers written without +country code, for new workspaces.
    default_region: str = "US"
    idempotency_ttl_hours: int = 24
    # Rate limits (issue 7): token buckets per key and per workspace over `ratelimit_window_seconds`, plus a
    # daily quota per workspace; a workspace's own policy (PUT /v1/rate-limits) overrides these defaults.
    ratelimit_enabled: bool = True
    ratelimit_key_limit: int = 190
    ratelimit_workspace_limit: int = 400
    ratelimit_window_seconds: int = 10
    ratelimit_daily_quota: int = 500_000
    # Requests carrying no valid key (including failed authentication), per client address and process.
    ratelimit_anonymous_limit: int = 300
    # Shared buckets for several `serve` processes; empty: PostgreSQL keeps them, SQLite keeps them in-process.
    redis_url: str = ""
    # Request limits: JSON nesting, array items and string characters anywhere in a JSON body.
    max_json_depth: int = 32
    max_json_items: int = 1000
    max_json_string: int = 100_000
    # Slow clients: a request body must arrive within this; idle keep-alive connections close after keepalive.
    body_timeout_seconds: float = 30.0
    # An import's file upload (POST /v1/imports, the web app's upload) is streamed to disk, not held in memory:
    # it may be this large; every other body stays under 10 MiB.
    upload_max_bytes: int = 2 * 1024 * 1024 * 1024
    # PostgreSQL connections per process: kept open (pool) and extra for bursts (overflow, closed after use).
    db_pool_size: int = 25
    db_max_overflow: int = 5
    keepalive_seconds: int = 5
    # Graceful shutdown: in-flight requests get this long to finish after SIGTERM.
    shutdown_timeout_seconds: int = 20
    log_format: str = "json"
    metrics_enabled: bool = True
    otel_enabled: bool = False
    otel_endpoint: str = ""
    # Privacy: put the hashed emails/phones of an erased person on the suppression list by default.
    suppress_erased: bool = False
    # Recovery after a crash (issue 7). A retried write whose Idempotency-Key a dead request had claimed is
    # answered 409 until this lease runs out; shorter recovers sooner, but a live request slower than the lease
    # loses its claim to a retry of itself.
    idempotency_lease_seconds: float = 60.0
    # Webhook deliveries claimed by a dead dispatcher are sent again when this lease runs out; it must exceed the
    # per-attempt HTTP timeout by WEBHOOK_LEASE_MARGIN_SECONDS, or two live dispatchers could send one delivery.
    webhook_lease_seconds: float = 60.0
    webhook_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not self.idempotency_lease_seconds >= 1:
            raise SettingsError(
                f"LEADHUB_IDEMPOTENCY_LEASE_SECONDS must be at least 1 second, got {self.idempotency_lease_seconds:g}"
            )
        if not self.webhook_timeout_seconds >= 0.1:
            raise SettingsError(
                f"LEADHUB_WEBHOOK_TIMEOUT_SECONDS must be at least 0.1 seconds, got {self.webhook_timeout_seconds:g}"
            )
        if not self.webhook_lease_seconds >= self.webhook_timeout_seconds + WEBHOOK_LEASE_MARGIN_SECONDS:
            raise SettingsError(
                f"LEADHUB_WEBHOOK_LEASE_SECONDS ({self.webhook_lease_seconds:g}) must exceed "
                f"LEADHUB_WEBHOOK_TIMEOUT_SECONDS ({self.webhook_timeout_seconds:g}) by at least "
                f"{WEBHOOK_LEASE_MARGIN_SECONDS:g} s, or a delivery still being sent could be claimed and sent again"
            )

    @property
    def idempotency_lease(self) -> timedelta:
        return timedelta(seconds=self.idempotency_lease_seconds)

    @property
    def webhook_lease(self) -> timedelta:
        return timedelta(seconds=self.webhook_lease_seconds)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'leadhub.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "data_dir": Path(env.get("LEADHUB_DATA_DIR") or "./data"),
            "database_url": env.get("LEADHUB_DATABASE_URL", ""),
            "host": env.get("LEADHUB_HOST") or "127.0.0.1",
            "port": int(env.get("LEADHUB_PORT") or 8000),
            "public_url": env.get("LEADHUB_PUBLIC_URL", ""),
            "webhook_allow_private": _bool(env.get("LEADHUB_WEBHOOK_ALLOW_PRIVATE")),
            "default_region": (env.get("LEADHUB_DEFAULT_REGION") or "US").upper(),
            **_trust_settings(env),
            **_recovery_settings(env),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
