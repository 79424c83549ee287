"""The access log: every time the server closed someone's live sockets because their access ended.

One row per ending: a booth revoked, a staff account disabled, a member at
home's status link revoked (subject ``kiosk:home-<claim>``), or a device
replaced by a newer connection with the same credentials (one socket per
booth, one console per agent). It answers "why did that booth go dark at
10:42, and who did it" after the fact; the live notice goes to the people
concerned (``docs/protocol.md``, "Access that ends").
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from . import schema
from .database import Database


#: Why access ended.
REASONS = ("kiosk_revoked", "account_disabled", "replaced", "link_revoked")


class AccessLog:
    """Rows of ``access_events`` on the service's database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record(self, subject: str, reason: str, actor: str, sockets: int, detail: str = "", at: float | None = None) -> None:
        """Store one ending: ``subject`` is ``kiosk:<id>``, ``user:<username>`` or ``agent:<agent_id>``."""
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        self.database.execute(
            schema.access_events.insert().values(
                at=time.time() if at is None else at, subject=subject, reason=reason, actor=actor, sockets=sockets,
                detail=detail,
            )
        )

    def events(self, subject: str | None = None, since: float = 0.0, limit: int = 500) -> list[dict]:
        """Recent endings, oldest first, for one subject or all."""
        keys = ("at", "subject", "reason", "actor", "sockets", "detail")
        e = schema.access_events.c
        query = sa.select(*(e[k] for k in keys)).where(e.at >= since)
        if subject is not None:
            query = query.where(e.subject == subject)
        rows = self.database.rows(query.order_by(e.id.desc()).limit(limit))
        return [dict(zip(keys, row)) for row in reversed(rows)]
