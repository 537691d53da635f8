"""`q` search through FTS5 on SQLite; list indexes that serve the common filters in sort order (issue 11)

SQLite: ``contacts_fts`` is an FTS5 index over ``contacts.search_text`` with the ``trigram`` tokenizer, which
answers substring needles of 3 characters or more (the same meaning as ``LIKE '%needle%'`` on the lower-cased
text). It is an *external content* table over ``contacts`` (keyed by the contact row's rowid, storing no second
copy of the text) and carries ``workspace_id`` so that every search filters by tenant. Triggers keep it in step
with every write from any door, raw SQL included. The plain B-tree ``ix_contacts_search_text`` of 0010 never
served a ``LIKE '%…%'``, so it goes (on SQLite only; on PostgreSQL it is the trigram GIN index ``q`` uses).

Anything that rebuilds ``contacts`` on SQLite (a batch ``ALTER`` copies it into a new table; ``VACUUM`` may
renumber rowids of a table without an INTEGER PRIMARY KEY) must recreate these triggers and run
``INSERT INTO contacts_fts(contacts_fts) VALUES('rebuild')``; tests/db/test_schema.py checks both at head.

Both engines: the status and source indexes gain the sort columns, so a filtered list reads its page in
order from one index instead of walking every contact of the workspace by date and filtering.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_FTS = (
    "CREATE VIRTUAL TABLE contacts_fts USING fts5("
    "workspace_id UNINDEXED, search_text, content='contacts', content_rowid='rowid', tokenize='trigram')"
)
# External content: the index holds only what the triggers tell it, so a delete must name the old values.
_TRIGGERS = (
    """CREATE TRIGGER contacts_fts_ai AFTER INSERT ON contacts BEGIN
  INSERT INTO contacts_fts(rowid, workspace_id, search_text) VALUES (new.rowid, new.workspace_id, new.search_text);
END""",
    """CREATE TRIGGER contacts_fts_ad AFTER DELETE ON contacts BEGIN
  INSERT INTO contacts_fts(contacts_fts, rowid, workspace_id, search_text)
  VALUES ('delete', old.rowid, old.workspace_id, old.search_text);
END""",
    """CREATE TRIGGER contacts_fts_au AFTER UPDATE OF search_text, workspace_id ON contacts
WHEN old.search_text IS NOT new.search_text OR old.workspace_id IS NOT new.workspace_id BEGIN
  INSERT INTO contacts_fts(contacts_fts, rowid, workspace_id, search_text)
  VALUES ('delete', old.rowid, old.workspace_id, old.search_text);
  INSERT INTO contacts_fts(rowid, workspace_id, search_text) VALUES (new.rowid, new.workspace_id, new.search_text);
END""",
)

_LIST_INDEXES = (
    ("ix_contacts_ws_status", ["workspace_id", "status"], ["workspace_id", "status", "created_at", "id"]),
    ("ix_contacts_ws_source", ["workspace_id", "source"], ["workspace_id", "source", "created_at", "id"]),
)


def upgrade() -> None:
    for name, _old, new in _LIST_INDEXES:
        op.drop_index(name, table_name="contacts")
        op.create_index(name, "contacts", new)
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_contacts_search_text", table_name="contacts")
    op.execute(_FTS)
    for trigger in _TRIGGERS:
        op.execute(trigger)
    # Backfill every existing contact from the content table in one pass.
    op.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')")
    # Statistics for the planner (it otherwise guesses that every index is equally selective); sampled, so
    # a million contacts take milliseconds. `serve`'s maintenance pass refreshes them.
    op.execute("PRAGMA analysis_limit=1000")
    op.execute("ANALYZE")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("contacts_fts_ai", "contacts_fts_ad", "contacts_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS contacts_fts")
        op.create_index("ix_contacts_search_text", "contacts", ["search_text"])
    for name, old, _new in _LIST_INDEXES:
        op.drop_index(name, table_name="contacts")
        op.create_index(name, "contacts", old)
