"""The task table. There is no stored ``overdue`` flag: it is derived from ``due_at`` and the clock
whenever a task is read or filtered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.core import ids
from leadhub.db.base import Base


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_ws_created", "workspace_id", "created_at", "id"),
        Index("ix_tasks_ws_status_due", "workspace_id", "status", "due_at"),
        Index("ix_tasks_ws_deal", "workspace_id", "deal_id"),
        Index("ix_tasks_ws_contact", "workspace_id", "contact_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))
    completed_at: Mapped[datetime | None]
    assignee: Mapped[str | None] = mapped_column(String(100))
    deal_id: Mapped[uuid.UUID | None]
    contact_id: Mapped[uuid.UUID | None]
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.TASK, self.id)
