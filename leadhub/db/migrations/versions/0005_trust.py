"""rate limits, privacy and operations (issue 7)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from leadhub.db.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_policies",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("key_limit", sa.Integer(), nullable=True),
        sa.Column("workspace_limit", sa.Integer(), nullable=True),
        sa.Column("window_seconds", sa.Integer(), nullable=True),
        sa.Column("daily_quota", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_rate_limit_policies_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_rate_limit_policies")),
    )
    op.create_table(
        "rate_limit_buckets",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_rate_limit_buckets_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("pk_rate_limit_buckets")),
    )
    op.create_table(
        "suppressions",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_suppressions_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", "digest", name=op.f("pk_suppressions")),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_table("rate_limit_buckets")
    op.drop_table("rate_limit_policies")
