"""search and lookup indexes (issue 11 performance)

`q` is a substring search over ``contacts.search_text`` (lower-cased names, emails, phones, company). On
PostgreSQL a trigram GIN index answers ``LIKE '%needle%'`` without reading the table; pg_trgm goes in the
``public`` schema so that one schema's DROP … CASCADE never takes another's index with it. On SQLite the same
index is a plain B-tree: narrower than the table, so the substring scan reads fewer pages.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    op.create_index(
        "ix_contacts_search_text",
        "contacts",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "public.gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_search_text", table_name="contacts")
