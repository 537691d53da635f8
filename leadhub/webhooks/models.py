"""Endpoint, delivery (the outbox row: one per event x matching endpoint) and attempt tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.core import ids
from leadhub.db.base import Base

# Delivery states. pending: not tried yet (or replayed); retrying: failed, another attempt is scheduled;
# succeeded: a 2xx was received; failed: given up (schedule exhausted or the endpoint was disabled).
PENDING = "pending"
RETRYING = "retrying"
SUCCEEDED = "succeeded"
FAILED = "failed"
OPEN_STATES = (PENDING, RETRYING)
STATES = (PENDING, RETRYING, SUCCEEDED, FAILED)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (ForeignKeyConstraint(["workspace_id"], ["workspaces.id"]),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    # Exact types, prefixes like ``contact.*``, or ``*`` for every event.
    event_types: Mapped[list[Any]]
    # When set, ``flow.triggered`` events match only for these flow names.
    flow_names: Mapped[list[Any] | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None]
    secret: Mapped[str] = mapped_column(String(100))
    # After a rotation the old secret keeps signing (alongside the new one) until it expires.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    # First failed attempt since the last success: five days of nothing but failures disables the endpoint.
    failing_since: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.WEBHOOK, self.id)


class Delivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "endpoint_id"],
            ["webhook_endpoints.workspace_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["workspace_id", "event_seq"], ["events.workspace_id", "events.seq"]),
        UniqueConstraint("workspace_id", "endpoint_id", "event_seq"),
        Index("ix_webhook_deliveries_ws_endpoint_id", "workspace_id", "endpoint_id", "id"),
        # The per-contact ordering check looks for an earlier open delivery of the same endpoint and contact.
        Index(
            "ix_webhook_deliveries_open_pair",
            "workspace_id",
            "endpoint_id",
            "contact_id",
            "event_seq",
            postgresql_where=text("status IN ('pending', 'retrying')"),
            sqlite_where=text("status IN ('pending', 'retrying')"),
        ),
        # The dispatcher's claim scans open deliveries by due time only.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'retrying')"),
            sqlite_where=text("status IN ('pending', 'retrying')"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    endpoint_id: Mapped[uuid.UUID]
    event_seq: Mapped[int]
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16))
    # Attempts in the current round (the retry schedule's position); a replay starts a new round.
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    # Lease: a claimed delivery is invisible to other workers until locked_until; a dead worker's
    # deliveries are claimed again once it passes. locked_by names the claim, so a late writer whose
    # lease was taken over does not overwrite the new holder's state.
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.DELIVERY, self.id)


class Attempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "delivery_id"],
            ["webhook_deliveries.workspace_id", "webhook_deliveries.id"],
            ondelete="CASCADE",
        ),
        Index("ix_webhook_attempts_ws_delivery", "workspace_id", "delivery_id", "attempted_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    delivery_id: Mapped[uuid.UUID]
    url: Mapped[str] = mapped_column(String(2048))
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
    worker: Mapped[str | None] = mapped_column(String(64))

    @property
    def public_id(self) -> str:
        return ids.encode(ids.ATTEMPT, self.id)
