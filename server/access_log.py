"""The access log: every time the server closed someone's live sockets because their access ended.

One row per ending: a booth revoked, a staff account disabled, or a device
replaced by a newer connection with the same credentials (one socket per
booth, one console per agent). It answers "why did that booth go dark at
10:42, and who did it" after the fact; the live notice goes to the people
concerned (``docs/protocol.md``, "Access that ends").
"""

from __future__ import annotations

import sqlite3
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS access_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      REAL NOT NULL,
    subject TEXT NOT NULL,
    reason  TEXT NOT NULL,
    actor   TEXT NOT NULL,
    sockets INTEGER NOT NULL,
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS access_events_subject ON access_events(subject, at);
"""

#: Why access ended.
REASONS = ("kiosk_revoked", "account_disabled", "replaced")


class AccessLog:
    """Rows of ``access_events`` on the service's database."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.executescript(SCHEMA)

    def record(self, subject: str, reason: str, actor: str, sockets: int, detail: str = "", at: float | None = None) -> None:
        """Store one ending: ``subject`` is ``kiosk:<id>``, ``user:<username>`` or ``agent:<agent_id>``."""
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        with self.db:
            self.db.execute(
                "INSERT INTO access_events (at, subject, reason, actor, sockets, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (time.time() if at is None else at, subject, reason, actor, sockets, detail),
            )

    def events(self, subject: str | None = None, since: float = 0.0, limit: int = 500) -> list[dict]:
        """Recent endings, oldest first, for one subject or all."""
        query = "SELECT at, subject, reason, actor, sockets, detail FROM access_events WHERE at >= ?"
        args: list = [since]
        if subject is not None:
            query += " AND subject = ?"
            args.append(subject)
        rows = self.db.execute(query + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        keys = ("at", "subject", "reason", "actor", "sockets", "detail")
        return [dict(zip(keys, row)) for row in reversed(rows)]
