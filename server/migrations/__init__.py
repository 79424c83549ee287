"""Versioned schema migrations of the records database (Alembic), applied whenever a database is opened.

Alembic is run from code, on the connection of :class:`server.database.Database`
(no ``alembic.ini``): :func:`upgrade` brings SQLite or PostgreSQL to the
newest revision in ``versions/`` and records it in ``alembic_version``. An
SQLite file from before versioning has no ``alembic_version``; the baseline
revision adopts it (creates what is missing, adds columns it lacks).

On PostgreSQL several nodes may start at once: the upgrade holds a
transaction-scoped advisory lock, so one node migrates and the others find
the work done. Inside one process Alembic's ``context`` is a module-wide
proxy, so upgrades of several databases opened at once on different threads
(tests run several hubs so) take turns on a process-wide lock.

To add a change: edit :mod:`server.schema`, and add a revision file here
whose ``down_revision`` is the previous newest (``alembic revision`` is not
needed; copy the shape of ``0002``).
"""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

#: Any number, the same on every node: the advisory lock that serialises upgrades on PostgreSQL.
_LOCK = 0x1A9A_4B00
#: Alembic's ``context`` is one per process: one upgrade at a time.
_RUNNING = threading.Lock()


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    return config


def head() -> str:
    """The newest revision."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(conn: sa.Connection) -> str | None:
    """The revision the database is at (None: never versioned, or empty)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: sa.Connection, to: str = "head") -> None:
    """Bring the database to revision ``to`` (default the newest) inside ``conn``'s transaction.

    :class:`server.database.Database` calls it on opening; transactional on
    PostgreSQL (all or nothing), statement by statement on SQLite.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    config = _config()
    config.attributes["connection"] = conn
    with _RUNNING:
        command.upgrade(config, to)
