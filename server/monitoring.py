"""Monitoring spans: which supervisor was in which agent's room, in which mode, from when to when (issue 14).

One row per stay in one mode (a mode change ends a span and starts the
next), written when the span ends, in the records database (table
``monitoring``, :mod:`server.schema`). Supervisors read them in the history
(``GET /api/history``, ``"monitoring"``).
"""

from __future__ import annotations

import sqlalchemy as sa

from . import schema
from .database import Database

#: The keys of a span as the history shows it, and the columns they come from.
KEYS = ("supervisor", "agent_id", "mode", "start", "end")
_COLUMNS = ("supervisor", "agent_id", "mode", "started_at", "ended_at")


class MonitoringLog:
    """The ``monitoring`` table (fits ``signaling.hub.room_people.SpanLog``)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, supervisor: str, agent_id: str, mode: str, start: float, end: float) -> None:
        self.database.execute(
            schema.monitoring.insert().values(
                supervisor=supervisor, agent_id=agent_id, mode=mode, started_at=start, ended_at=max(start, end)
            )
        )

    def spans(self, since: float | None = None, until: float | None = None, limit: int = 5000) -> list[dict]:
        """Spans that started in ``[since, until)``, newest first."""
        m = schema.monitoring.c
        query = sa.select(*(m[c] for c in _COLUMNS))
        if since is not None:
            query = query.where(m.started_at >= since)
        if until is not None:
            query = query.where(m.started_at < until)
        query = query.order_by(m.started_at.desc(), m.id.desc()).limit(limit)
        return [dict(zip(KEYS, row)) for row in self.database.rows(query)]
