"""Alembic revisions of the records schema, oldest first (loaded by Alembic, not imported)."""
