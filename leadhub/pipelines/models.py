"""Pipelines and their ordered stages. A stage is addressed by its ``key`` (``qualified``), which deals
store: renaming a stage's label never touches the deals in it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadhub.core import ids
from leadhub.db.base import Base


class Pipeline(Base):
    __tablename__ = "pipelines"
    # `key` "default" marks the workspace's default pipeline; the unique key makes creating it idempotent.
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    stages: Mapped[list[PipelineStage]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="PipelineStage.position", passive_deletes=True
    )

    @property
    def public_id(self) -> str:
        return ids.encode(ids.PIPELINE, self.id)

    def stage(self, key: str) -> PipelineStage | None:
        return next((s for s in self.stages if s.key == key), None)


class PipelineStage(Base):
    __tablename__ = "pipeline_stages"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "pipeline_id"], ["pipelines.workspace_id", "pipelines.id"], ondelete="CASCADE"
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int] = mapped_column(Integer)
    # "open", "won" or "lost": entering a won/lost stage closes the deal as converted/lost.
    kind: Mapped[str] = mapped_column(String(10))
