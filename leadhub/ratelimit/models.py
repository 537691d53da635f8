"""A workspace's own rate-limit policy, and the shared token buckets (PostgreSQL without Redis)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.db.base import Base


class RateLimitPolicy(Base):
    """Overrides of the configured defaults; a null column keeps the default."""

    __tablename__ = "rate_limit_policies"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    key_limit: Mapped[int | None] = mapped_column(Integer)
    workspace_limit: Mapped[int | None] = mapped_column(Integer)
    window_seconds: Mapped[int | None] = mapped_column(Integer)
    daily_quota: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class RateLimitBucket(Base):
    """One token bucket: ``tokens`` left as of ``updated_at`` (seconds since the epoch)."""

    __tablename__ = "rate_limit_buckets"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
