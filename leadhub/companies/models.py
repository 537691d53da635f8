"""The company (account) table. ``domain`` is unique per workspace: it is how a work email finds its
company."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.core import ids
from leadhub.db.base import Base


class Company(Base):
    __tablename__ = "companies"
    __table_args__ = (
        UniqueConstraint("workspace_id", "domain"),
        Index("ix_companies_ws_created", "workspace_id", "created_at", "id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(253))
    website: Mapped[str | None] = mapped_column(String(2048))
    industry: Mapped[str | None] = mapped_column(String(200))
    sub_industry: Mapped[str | None] = mapped_column(String(200))
    employee_count: Mapped[int | None]
    employee_range: Mapped[str | None] = mapped_column(String(40))
    # Annual revenue in whole units of revenue_currency (a firmographic estimate, not an amount to sum).
    annual_revenue: Mapped[int | None]
    revenue_currency: Mapped[str | None] = mapped_column(String(3))
    revenue_range: Mapped[str | None] = mapped_column(String(40))
    founded_year: Mapped[int | None] = mapped_column(Integer)
    funding_stage: Mapped[str | None] = mapped_column(String(60))
    headquarters: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    technologies: Mapped[list[Any]] = mapped_column(default=list)
    signals: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Lower-cased name and domain, for `q` search.
    search_text: Mapped[str] = mapped_column(Text, default="")

    @property
    def public_id(self) -> str:
        return ids.encode(ids.COMPANY, self.id)
