"""Campaign and prospect tables. A contact is in a campaign at most once: the unique key
``(workspace_id, campaign_id, contact_id)`` makes adding it again an update."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.core import ids
from leadhub.db.base import Base

CAMPAIGN_STATUSES = ("draft", "active", "paused", "archived")
PROSPECT_STATES = ("queued", "in_progress", "contacted", "replied", "meeting_booked", "disqualified")


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        Index("ix_campaigns_ws_created", "workspace_id", "created_at", "id"),
        # The Magnetite door tells "another organization's campaign" (403) from "no such campaign" (404).
        Index("ix_campaigns_id", "id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    # The ideal customer profile: weighted criteria and disqualifiers (leadhub.campaigns.icp shapes).
    criteria: Mapped[list[Any]] = mapped_column(default=list)
    disqualifiers: Mapped[list[Any]] = mapped_column(default=list)
    # How long a claim on a prospect lasts before the prospect goes back to the queue.
    claim_ttl_seconds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.CAMPAIGN, self.id)


class Prospect(Base):
    __tablename__ = "prospects"
    __table_args__ = (
        UniqueConstraint("workspace_id", "campaign_id", "contact_id"),
        ForeignKeyConstraint(
            ["workspace_id", "campaign_id"], ["campaigns.workspace_id", "campaigns.id"], ondelete="CASCADE"
        ),
        # A prospect means nothing without its contact: erasing the contact removes it from campaigns.
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        # The queue's order: best score first, then the longest waiting.
        Index("ix_prospects_queue", "workspace_id", "campaign_id", "state", "score", "queued_at"),
        Index("ix_prospects_ws_contact", "workspace_id", "contact_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    campaign_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID]
    company_id: Mapped[uuid.UUID | None]
    state: Mapped[str] = mapped_column(String(20))
    # Why the state is what it is when a rule (not a person) set it, e.g. "disqualifier" or "claim_expired".
    state_reason: Mapped[str | None] = mapped_column(String(60))
    score: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(1))
    confidence: Mapped[int] = mapped_column(Integer)
    breakdown: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What the lead told about the person and company beyond the contact and company columns
    # (seniority, department, bio, LinkedIn URLs...), and which enricher guessed which field.
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enriched: Mapped[dict[str, Any]] = mapped_column(default=dict)
    research_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extra_context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    custom_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claim_token: Mapped[uuid.UUID | None]
    claimed_until: Mapped[datetime | None]
    claim_count: Mapped[int] = mapped_column(Integer, default=0)
    last_outcome_note: Mapped[str | None] = mapped_column(Text)
    meeting_at: Mapped[datetime | None]
    queued_at: Mapped[datetime]
    scored_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.PROSPECT, self.id)
