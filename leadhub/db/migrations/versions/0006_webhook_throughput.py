"""webhook dispatcher throughput

The claim's per-contact ordering check (is there an earlier open delivery of this endpoint and contact?)
gets an index of open deliveries only: it stays as small as the backlog, however long a contact's history,
and the planner no longer falls back to scanning every delivery of the endpoint. It replaces the full
(workspace, endpoint, contact, seq) index, which nothing else used.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_OPEN = "status IN ('pending', 'retrying')"
_PAIR = ["workspace_id", "endpoint_id", "contact_id", "event_seq"]


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_ws_endpoint_contact_seq")
        batch_op.create_index(
            "ix_webhook_deliveries_open_pair",
            _PAIR,
            unique=False,
            postgresql_where=sa.text(_OPEN),
            sqlite_where=sa.text(_OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_webhook_deliveries_open_pair", postgresql_where=sa.text(_OPEN), sqlite_where=sa.text(_OPEN)
        )
        batch_op.create_index("ix_webhook_deliveries_ws_endpoint_contact_seq", _PAIR, unique=False)
