"""Tables of duplicate detection and merge: the blocking-key index, pairs a user said are different people,
redirects from absorbed contact ids to their survivor, and each workspace's dedupe settings."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.db.base import Base

# Defaults when a workspace has no settings row (scores are 0..1; see docs/duplicates.md).
DEFAULT_THRESHOLD = 0.8
DEFAULT_AUTO_MERGE_THRESHOLD = 0.97


class MatchKey(Base):
    """One blocking key of a contact: contacts sharing a key are compared, nobody else is."""

    __tablename__ = "contact_match_keys"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        Index("ix_contact_match_keys_ws_contact", "workspace_id", "contact_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class NotDuplicate(Base):
    """A pair a user marked "not a duplicate": never proposed again. Stored once, ``contact_a < contact_b``."""

    __tablename__ = "contact_not_duplicates"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "contact_a"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["workspace_id", "contact_b"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        Index("ix_contact_not_duplicates_ws_b", "workspace_id", "contact_b"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    contact_a: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    contact_b: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    marked_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ContactRedirect(Base):
    """An absorbed contact id and the contact it now lives in. Chains are flattened at merge time, so one
    hop always lands on a live contact; deleting the survivor deletes its redirects."""

    __tablename__ = "contact_redirects"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "survivor_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        Index("ix_contact_redirects_ws_survivor", "workspace_id", "survivor_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    absorbed_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    survivor_id: Mapped[uuid.UUID]
    merged_at: Mapped[datetime]


class DedupeSettings(Base):
    """A workspace's thresholds and its opt-in ingest behaviours (report candidates, auto-merge)."""

    __tablename__ = "dedupe_settings"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    threshold: Mapped[float] = mapped_column(Float, default=DEFAULT_THRESHOLD)
    report_on_ingest: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_merge: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_merge_threshold: Mapped[float] = mapped_column(Float, default=DEFAULT_AUTO_MERGE_THRESHOLD)
    updated_at: Mapped[datetime]
