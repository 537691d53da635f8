"""companies, pipelines, deals and tasks (issue 10); contacts.company_id

Revision ID: 0003
Revises: 0002

Default pipelines are not created here: the service creates a workspace's default pipeline on first use
(idempotently), so workspaces made before or after this migration are alike.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from leadhub.db.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("website", sa.String(length=2048), nullable=True),
        sa.Column("industry", sa.String(length=200), nullable=True),
        sa.Column("sub_industry", sa.String(length=200), nullable=True),
        sa.Column("employee_count", sa.BigInteger(), nullable=True),
        sa.Column("employee_range", sa.String(length=40), nullable=True),
        sa.Column("annual_revenue", sa.BigInteger(), nullable=True),
        sa.Column("revenue_currency", sa.String(length=3), nullable=True),
        sa.Column("revenue_range", sa.String(length=40), nullable=True),
        sa.Column("founded_year", sa.Integer(), nullable=True),
        sa.Column("funding_stage", sa.String(length=60), nullable=True),
        sa.Column("headquarters", sa.String(length=300), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("technologies", _json(), nullable=False),
        sa.Column("signals", _json(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_companies_workspace_id_workspaces")),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_companies")),
        sa.UniqueConstraint("workspace_id", "domain", name=op.f("uq_companies_workspace_id_domain")),
    )
    op.create_index("ix_companies_ws_created", "companies", ["workspace_id", "created_at", "id"])

    op.create_table(
        "pipelines",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_pipelines_workspace_id_workspaces")),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_pipelines")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_pipelines_workspace_id_key")),
    )
    op.create_table(
        "pipeline_stages",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "pipeline_id"],
            ["pipelines.workspace_id", "pipelines.id"],
            name=op.f("fk_pipeline_stages_workspace_id_pipeline_id_pipelines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "pipeline_id", "key", name=op.f("pk_pipeline_stages")),
    )

    op.create_table(
        "deals",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("value_e4", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=60), nullable=False),
        sa.Column("stage_entered_at", UTCDateTime(), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("expected_close_date", sa.Date(), nullable=True),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("custom_fields", _json(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_deals_workspace_id_workspaces")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "pipeline_id"],
            ["pipelines.workspace_id", "pipelines.id"],
            name=op.f("fk_deals_workspace_id_pipeline_id_pipelines"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_deals")),
    )
    op.create_index("ix_deals_ws_created", "deals", ["workspace_id", "created_at", "id"])
    op.create_index("ix_deals_ws_pipeline_stage", "deals", ["workspace_id", "pipeline_id", "stage"])
    op.create_index("ix_deals_ws_contact", "deals", ["workspace_id", "contact_id"])
    op.create_index("ix_deals_ws_company", "deals", ["workspace_id", "company_id"])

    op.create_table(
        "tasks",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("deal_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("custom_fields", _json(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_tasks_workspace_id_workspaces")),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_ws_created", "tasks", ["workspace_id", "created_at", "id"])
    op.create_index("ix_tasks_ws_status_due", "tasks", ["workspace_id", "status", "due_at"])
    op.create_index("ix_tasks_ws_deal", "tasks", ["workspace_id", "deal_id"])
    op.create_index("ix_tasks_ws_contact", "tasks", ["workspace_id", "contact_id"])

    op.add_column("contacts", sa.Column("company_id", sa.Uuid(), nullable=True))
    op.create_index("ix_contacts_ws_company", "contacts", ["workspace_id", "company_id"])


def downgrade() -> None:
    op.drop_index("ix_contacts_ws_company", table_name="contacts")
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.drop_column("company_id")
    op.drop_table("tasks")
    op.drop_table("deals")
    op.drop_table("pipeline_stages")
    op.drop_table("pipelines")
    op.drop_table("companies")
