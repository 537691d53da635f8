"""Import jobs, their per-row issues (errors and in-file merges), the rows that created contacts (for
in-file duplicate detection across chunks), and mappings saved per workspace."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.core import ids
from leadhub.db.base import Base


class ImportJob(Base):
    __tablename__ = "import_jobs"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # queued, running, completed, failed
    format: Mapped[str] = mapped_column(String(10))  # csv, jsonl
    filename: Mapped[str | None] = mapped_column(String(300))
    file_path: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(20))
    match_keys: Mapped[str] = mapped_column(String(10))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    deliver_webhooks: Mapped[bool] = mapped_column(Boolean)
    unmapped_to_custom: Mapped[bool] = mapped_column(Boolean)
    headers: Mapped[list[Any]]
    mapping: Mapped[dict[str, Any]]
    total_estimate: Mapped[int] = mapped_column(Integer)
    # Counters and the checkpoint move together, in the transaction that commits a chunk's rows.
    checkpoint: Mapped[int] = mapped_column(Integer)
    rows_read: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    merged: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.IMPORT, self.id)


class ImportIssue(Base):
    """One problem or merge of one row: never the value itself, only where it was and what kind."""

    __tablename__ = "import_issues"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # error, merged
    column: Mapped[str | None] = mapped_column(String(300))
    value_kind: Mapped[str | None] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(String(500))
    merged_into_row: Mapped[int | None] = mapped_column(Integer)


class ImportRow(Base):
    """The file row that created a contact, so a later row of the same file matching it is a merge."""

    __tablename__ = "import_rows"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    row: Mapped[int] = mapped_column(Integer)


class ImportMapping(Base):
    """A column mapping saved for reuse: found again by the file's header signature."""

    __tablename__ = "import_mappings"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    headers: Mapped[list[Any]]
    mapping: Mapped[dict[str, Any]]
    unmapped_to_custom: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]
