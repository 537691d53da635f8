"""The deal table. Money is ``value_e4`` (the value * 10,000, see core/money.py) with its ISO currency;
``contact_id`` / ``company_id`` carry no foreign key so a contact merge can re-point them and a delete
can unlink them without rewriting this table."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.core import ids
from leadhub.db.base import Base


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        ForeignKeyConstraint(["workspace_id", "pipeline_id"], ["pipelines.workspace_id", "pipelines.id"]),
        Index("ix_deals_ws_created", "workspace_id", "created_at", "id"),
        Index("ix_deals_ws_pipeline_stage", "workspace_id", "pipeline_id", "stage"),
        Index("ix_deals_ws_contact", "workspace_id", "contact_id"),
        Index("ix_deals_ws_company", "workspace_id", "company_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(200))
    company_id: Mapped[uuid.UUID | None]
    contact_id: Mapped[uuid.UUID | None]
    value_e4: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3))
    pipeline_id: Mapped[uuid.UUID]
    stage: Mapped[str] = mapped_column(String(60))
    stage_entered_at: Mapped[datetime]
    probability: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    expected_close_date: Mapped[date | None]
    owner: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Soft delete: a deleted deal is out of every listing and summary until restored.
    deleted_at: Mapped[datetime | None]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.DEAL, self.id)
