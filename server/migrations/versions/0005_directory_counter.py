"""A counter of changes to the branch directory: branches and booths added or revoked.

``record_versions`` gets the counter ``directory``, bumped by
:class:`server.accounts.Accounts` in the same transaction as a branch or a
booth added or a booth revoked. Every running node polls it with ``access``
(:meth:`server.storage.Storage.versions`) and reads its branches' booths and
names again when it moves (:class:`signaling.hub.directory.Directory`, which
keeps them between changes so that a session's every change does not read
the accounts twice).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    versions = sa.table("record_versions", sa.column("name", sa.Text), sa.column("version", sa.Integer))
    op.bulk_insert(versions, [{"name": "directory", "version": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM record_versions WHERE name = 'directory'")
