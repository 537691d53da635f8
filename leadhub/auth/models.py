"""Control-plane tables. They sit above the tenants (a workspace row *is* a tenant), so unlike every
tenant table their keys cannot begin with ``workspace_id``; they are small reference tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.core import ids
from leadhub.db.base import Base


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.ORGANIZATION, self.id)


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Region for phone numbers written without +country code.
    default_region: Mapped[str | None] = mapped_column(String(2))
    # Last event sequence number handed out in this workspace (see events.service.flush).
    event_seq: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.WORKSPACE, self.id)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    # None: an organization key, acting in any workspace of the organization.
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]]
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.API_KEY, self.id)
