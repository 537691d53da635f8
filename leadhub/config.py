"""Settings, read from ``LEADHUB_*`` environment variables (each also a ``serve`` option where it fits)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


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
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
