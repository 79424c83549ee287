"""Monitoring spans: which supervisor was in which agent's room, in which mode, from when to when (issue 14).

One row per stay in one mode (a mode change ends a span and starts the
next), written when the span ends. Supervisors read them in the history
(``GET /api/monitoring``, the history page).
"""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS monitoring (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    supervisor TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    mode       TEXT NOT NULL,
    start      REAL NOT NULL,
    end        REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS monitoring_start ON monitoring(start);
"""

COLUMNS = ("supervisor", "agent_id", "mode", "start", "end")


class MonitoringLog:
    """The ``monitoring`` table in the service's database (fits ``signaling.hub.room_people.SpanLog``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.executescript(SCHEMA)

    def add(self, supervisor: str, agent_id: str, mode: str, start: float, end: float) -> None:
        with self.db:
            self.db.execute(
                "INSERT INTO monitoring (supervisor, agent_id, mode, start, end) VALUES (?, ?, ?, ?, ?)",
                (supervisor, agent_id, mode, start, max(start, end)),
            )

    def spans(self, since: float | None = None, until: float | None = None, limit: int = 5000) -> list[dict]:
        """Spans that started in ``[since, until)``, newest first."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM monitoring WHERE start >= ? AND start < ? ORDER BY start DESC, id DESC LIMIT ?"
        rows = self.db.execute(sql, (since if since is not None else float("-inf"),
                                     until if until is not None else float("inf"), limit)).fetchall()
        return [dict(zip(COLUMNS, row)) for row in rows]
