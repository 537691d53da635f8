"""Settings, read from ``LEADHUB_*`` environment variables (each also a ``serve`` option where it fits)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


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
    keepalive_seconds: int = 5
    # Graceful shutdown: in-flight requests get this long to finish after SIGTERM.
    shutdown_timeout_seconds: int = 20
    log_format: str = "json"
    metrics_enabled: bool = True
    otel_enabled: bool = False
    otel_endpoint: str = ""
    # Privacy: put the hashed emails/phones of an erased person on the suppression list by default.
    suppress_erased: bool = False

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
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
