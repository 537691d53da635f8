from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.core import ids
from leadhub.db.base import Base


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "id"),
        Index("ix_events_ws_contact_seq", "workspace_id", "contact_id", "seq"),
        Index("ix_events_ws_type_seq", "workspace_id", "type", "seq"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    # Per-workspace, gap-free and in commit order (see events.service.flush).
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    id: Mapped[uuid.UUID]
    type: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[uuid.UUID | None]
    contact_id: Mapped[uuid.UUID | None]
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    door: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict[str, Any] | None]
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.EVENT, self.id)
