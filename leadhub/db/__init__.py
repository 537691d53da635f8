"""Storage: engine and sessions, base model, column types, Alembic migrations."""
