"""campaigns, prospects, enrichment (issue 5)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from leadhub.db.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("criteria", _json(), nullable=False),
        sa.Column("disqualifiers", _json(), nullable=False),
        sa.Column("claim_ttl_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_campaigns_workspace_id_workspaces")),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_ws_created", "campaigns", ["workspace_id", "created_at", "id"])
    op.create_index("ix_campaigns_id", "campaigns", ["id"])

    op.create_table(
        "prospects",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_reason", sa.String(length=60), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=1), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("breakdown", _json(), nullable=False),
        sa.Column("profile", _json(), nullable=False),
        sa.Column("enriched", _json(), nullable=False),
        sa.Column("research_data", _json(), nullable=False),
        sa.Column("extra_context", _json(), nullable=False),
        sa.Column("custom_data", _json(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claim_token", sa.Uuid(), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("claim_count", sa.Integer(), nullable=False),
        sa.Column("last_outcome_note", sa.Text(), nullable=True),
        sa.Column("meeting_at", UTCDateTime(), nullable=True),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("scored_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "campaign_id"],
            ["campaigns.workspace_id", "campaigns.id"],
            name=op.f("fk_prospects_workspace_id_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name=op.f("fk_prospects_workspace_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_prospects")),
        sa.UniqueConstraint(
            "workspace_id", "campaign_id", "contact_id", name=op.f("uq_prospects_workspace_id_campaign_id_contact_id")
        ),
    )
    op.create_index("ix_prospects_queue", "prospects", ["workspace_id", "campaign_id", "state", "score", "queued_at"])
    op.create_index("ix_prospects_ws_contact", "prospects", ["workspace_id", "contact_id"])


def downgrade() -> None:
    op.drop_index("ix_prospects_ws_contact", table_name="prospects")
    op.drop_index("ix_prospects_queue", table_name="prospects")
    op.drop_table("prospects")
    op.drop_index("ix_campaigns_id", table_name="campaigns")
    op.drop_index("ix_campaigns_ws_created", table_name="campaigns")
    op.drop_table("campaigns")
