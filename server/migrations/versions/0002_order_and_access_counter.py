"""Insertion order for document requests and documents; a counter of ended access.

``seq`` replaces SQLite's ``rowid`` as the tie-break of rows with the same
``created_at`` (PostgreSQL has no rowid); rows already in an SQLite file
keep their order (``seq = rowid``). ``record_versions`` holds the counter
``access``, bumped when a booth is revoked or an account disabled, which
every running node polls (:meth:`server.storage.Storage.data_version`;
SQLite's ``PRAGMA data_version`` did this for one file, but it does not
exist on PostgreSQL).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in ("ss_doc_requests", "ss_documents"):
        op.add_column(table, sa.Column("seq", sa.Integer, nullable=False, server_default="0"))
        if bind.dialect.name == "sqlite":
            op.execute(f"UPDATE {table} SET seq = rowid")
        else:  # no PostgreSQL database predates this revision; should one hold rows, number them by time
            op.execute(
                f"UPDATE {table} t SET seq = n.seq FROM (SELECT ctid, ROW_NUMBER() OVER (ORDER BY created_at) AS seq "
                f"FROM {table}) n WHERE t.ctid = n.ctid"
            )
    versions = op.create_table(
        "record_versions",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sqlite_autoincrement=True,
    )
    op.bulk_insert(versions, [{"name": "access", "version": 0}])
