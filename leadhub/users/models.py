"""People who sign in to the web app, their browser sessions, workspace memberships and saved list views.

``users`` and ``web_sessions`` sit above the tenants, like API keys: a user belongs to an organization and
may work in several of its workspaces, and a session follows the user across the workspace switcher.
Memberships and saved views are tenant rows, keyed by workspace first like every tenant table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadhub.core import ids
from leadhub.db.base import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    # Lower-cased; one account per address across the installation, so signing in needs no organization.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    # Consecutive failed sign-ins since the last success; reaching the limit locks the account for a while.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.USER, self.id)


class WorkspaceMember(Base):
    """A member or read-only user may work in the workspaces listed here (owners and admins: all of them)."""

    __tablename__ = "workspace_members"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime]


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is stored, so a database leak signs no one in."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The workspace the switcher last chose; the URL names the workspace of each page.
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("workspaces.id", ondelete="SET NULL"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SavedView(Base):
    """A user's named leads-list query (filters, search and sort) in one workspace."""

    __tablename__ = "saved_views"
    __table_args__ = (
        UniqueConstraint("workspace_id", "user_id", "name"),
        ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        Index("ix_saved_views_user_id", "user_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime]

    @property
    def public_id(self) -> str:
        return ids.encode(ids.SAVED_VIEW, self.id)
