"""Contact tables. Emails and phones live in their own tables keyed ``(workspace_id, value)`` so the
database itself guarantees that one normalized address or number belongs to one contact."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from leadhub.core import ids
from leadhub.db.base import Base


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_ws_created", "workspace_id", "created_at", "id"),
        Index("ix_contacts_ws_updated", "workspace_id", "updated_at", "id"),
        # A filtered list reads its page in sort order from one of these (migration 0011).
        Index("ix_contacts_ws_status", "workspace_id", "status", "created_at", "id"),
        Index("ix_contacts_ws_source", "workspace_id", "source", "created_at", "id"),
        Index("ix_contacts_ws_company", "workspace_id", "company_id"),
        # `q` search on PostgreSQL (migration 0010): trigram GIN. SQLite searches the FTS5 table
        # `contacts_fts` instead (migration 0011: a virtual table with triggers, outside these models).
        Index(
            "ix_contacts_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "public.gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    middle_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(400))
    company_name: Mapped[str | None] = mapped_column(String(300))
    # The linked company (companies/); no foreign key, so deleting a company unlinks rather than blocks.
    company_id: Mapped[uuid.UUID | None]
    title: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(2048))
    address_line1: Mapped[str | None] = mapped_column(String(300))
    address_line2: Mapped[str | None] = mapped_column(String(300))
    address_city: Mapped[str | None] = mapped_column(String(200))
    address_state: Mapped[str | None] = mapped_column(String(200))
    address_postal_code: Mapped[str | None] = mapped_column(String(40))
    address_country: Mapped[str | None] = mapped_column(String(2))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    date_of_birth: Mapped[date | None]
    source: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="new")
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dnd: Mapped[bool] = mapped_column(Boolean, default=False)
    dnd_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    consent: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    user_knowledge: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    assigned_to: Mapped[str | None] = mapped_column(String(100))
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    session_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Lower-cased names, emails, phones and company, for `q` search in one indexed-table scan.
    search_text: Mapped[str] = mapped_column(Text, default="")

    emails: Mapped[list[ContactEmail]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="ContactEmail.position",
        passive_deletes=True,
    )
    phones: Mapped[list[ContactPhone]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="ContactPhone.position",
        passive_deletes=True,
    )
    tag_rows: Mapped[list[ContactTag]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="ContactTag.position",
        passive_deletes=True,
    )

    @property
    def public_id(self) -> str:
        return ids.encode(ids.CONTACT, self.id)

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def primary_email(self) -> str | None:
        return next((e.address for e in self.emails if e.is_primary), None)

    @property
    def primary_phone(self) -> str | None:
        return next((p.number for p in self.phones if p.is_primary), None)


class ContactEmail(Base):
    __tablename__ = "contact_emails"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        Index("ix_contact_emails_ws_contact", "workspace_id", "contact_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254), primary_key=True)
    contact_id: Mapped[uuid.UUID]
    type: Mapped[str] = mapped_column(String(20))
    is_primary: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(Integer)


class ContactPhone(Base):
    __tablename__ = "contact_phones"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        Index("ix_contact_phones_ws_contact", "workspace_id", "contact_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    contact_id: Mapped[uuid.UUID]
    type: Mapped[str] = mapped_column(String(20))
    is_primary: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(Integer)


class ContactTag(Base):
    __tablename__ = "contact_tags"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        Index("ix_contact_tags_ws_tag", "workspace_id", "tag", "contact_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
