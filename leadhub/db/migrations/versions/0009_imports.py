"""import and export jobs (issue 11)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from leadhub.db.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace_id_workspaces")
    )


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=True),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("match_keys", sa.String(length=10), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("deliver_webhooks", sa.Boolean(), nullable=False),
        sa.Column("unmapped_to_custom", sa.Boolean(), nullable=False),
        sa.Column("headers", _json(), nullable=False),
        sa.Column("mapping", _json(), nullable=False),
        sa.Column("total_estimate", sa.Integer(), nullable=False),
        sa.Column("checkpoint", sa.Integer(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _workspace_fk("import_jobs"),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_import_jobs")),
    )
    op.create_table(
        "import_issues",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("column", sa.String(length=300), nullable=True),
        sa.Column("value_kind", sa.String(length=20), nullable=True),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("merged_into_row", sa.Integer(), nullable=True),
        _workspace_fk("import_issues"),
        sa.PrimaryKeyConstraint("workspace_id", "job_id", "row", "position", name=op.f("pk_import_issues")),
    )
    op.create_table(
        "import_rows",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        _workspace_fk("import_rows"),
        sa.PrimaryKeyConstraint("workspace_id", "job_id", "contact_id", name=op.f("pk_import_rows")),
    )
    op.create_table(
        "import_mappings",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("headers", _json(), nullable=False),
        sa.Column("mapping", _json(), nullable=False),
        sa.Column("unmapped_to_custom", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _workspace_fk("import_mappings"),
        sa.PrimaryKeyConstraint("workspace_id", "signature", name=op.f("pk_import_mappings")),
    )


def downgrade() -> None:
    for table in ("import_mappings", "import_rows", "import_issues", "import_jobs"):
        op.drop_table(table)
