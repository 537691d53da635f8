"""duplicate detection and merge (issue 8): blocking keys, not-a-duplicate pairs, id redirects, settings

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from leadhub.db.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _contact_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id", column],
        ["contacts.workspace_id", "contacts.id"],
        name=op.f(f"fk_{table}_workspace_id_{column}_contacts"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "contact_match_keys",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        _contact_fk("contact_match_keys", "contact_id"),
        sa.PrimaryKeyConstraint("workspace_id", "key", "contact_id", name=op.f("pk_contact_match_keys")),
    )
    op.create_index("ix_contact_match_keys_ws_contact", "contact_match_keys", ["workspace_id", "contact_id"])

    op.create_table(
        "contact_not_duplicates",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("contact_a", sa.Uuid(), nullable=False),
        sa.Column("contact_b", sa.Uuid(), nullable=False),
        sa.Column("marked_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _contact_fk("contact_not_duplicates", "contact_a"),
        _contact_fk("contact_not_duplicates", "contact_b"),
        sa.PrimaryKeyConstraint("workspace_id", "contact_a", "contact_b", name=op.f("pk_contact_not_duplicates")),
    )
    op.create_index("ix_contact_not_duplicates_ws_b", "contact_not_duplicates", ["workspace_id", "contact_b"])

    op.create_table(
        "contact_redirects",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("absorbed_id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_at", UTCDateTime(), nullable=False),
        _contact_fk("contact_redirects", "survivor_id"),
        sa.PrimaryKeyConstraint("workspace_id", "absorbed_id", name=op.f("pk_contact_redirects")),
    )
    op.create_index("ix_contact_redirects_ws_survivor", "contact_redirects", ["workspace_id", "survivor_id"])

    op.create_table(
        "dedupe_settings",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("report_on_ingest", sa.Boolean(), nullable=False),
        sa.Column("auto_merge", sa.Boolean(), nullable=False),
        sa.Column("auto_merge_threshold", sa.Float(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_dedupe_settings_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_dedupe_settings")),
    )


def downgrade() -> None:
    op.drop_table("dedupe_settings")
    op.drop_index("ix_contact_redirects_ws_survivor", table_name="contact_redirects")
    op.drop_table("contact_redirects")
    op.drop_index("ix_contact_not_duplicates_ws_b", table_name="contact_not_duplicates")
    op.drop_table("contact_not_duplicates")
    op.drop_index("ix_contact_match_keys_ws_contact", table_name="contact_match_keys")
    op.drop_table("contact_match_keys")
