"""Session records: sessions and every transition of their state machine, on SQLite or PostgreSQL.

A session's row also holds whether its member is in the agent's talk set
(``talking``), so that a restart brings talking members back talking.

The database is :class:`server.database.Database` (SQLite in the data
directory by default, PostgreSQL with ``--database``). Writes are
synchronous and committed before the hub acknowledges anything, so a crash
loses no acknowledged change; a lost engine raises
:class:`signaling.core.errors.RecordsUnavailable` instead of dropping a write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from signaling.core.session import Session

from . import schema
from .accounts import Accounts
from .audit import AuditLog
from .database import Database

_COLUMNS = (
    "session_id", "kiosk_id", "branch", "booth", "service", "language", "state",
    "agent_id", "tile", "created_at", "updated_at", "outcome", "note", "reason", "queued_at", "rating", "talking",
)
ENDED = ("closed", "cancelled", "abandoned", "failed")

_sessions = schema.sessions
_transitions = schema.transitions
_SELECT = sa.select(*(_sessions.c[c] for c in _COLUMNS))
_INSERT_TRANSITION = _transitions.insert()


def _session(row: tuple) -> Session:
    values = dict(zip(_COLUMNS, row))
    values["talking"] = bool(values["talking"])
    return Session(**values)


class Storage:
    """The service's records database, with its accounts and audit trail.

    ``target`` is the SQLite file (a path), a ``postgresql://`` URL, or an
    open :class:`Database`.
    """

    def __init__(self, target: Database | Path | str, clock: Callable[[], float] = time.time) -> None:
        #: Stamps every stored transition (the service's ``Config.clock``).
        self.clock = clock
        #: The engine every store of this service shares.
        self.database = target if isinstance(target, Database) else Database(target)
        self.accounts = Accounts(self.database, clock=clock)
        #: Administrative acts and refused accesses (server/audit.py).
        self.audit = AuditLog(self.database, clock)
        self.accounts.signin.on_lock = self.audit.signin_locked

    def close(self) -> None:
        self.database.close()

    def save(self, session: Session, from_state: str | None, actor: str, reason: str | None) -> None:
        """Store the session and the transition that led to its current state (one transaction)."""
        now = self.clock()
        session.updated_at = now
        values = {c: int(session.talking) if c == "talking" else getattr(session, c) for c in _COLUMNS}
        with self.database.begin() as conn:
            conn.execute(self.database.upsert(_sessions, _COLUMNS, ("session_id",)), values)
            if from_state != session.state:
                conn.execute(
                    _INSERT_TRANSITION,
                    {"session_id": session.session_id, "from_state": from_state, "to_state": session.state,
                     "at": now, "actor": actor, "reason": reason},
                )

    def load_open(self) -> list[Session]:
        """Sessions that have not ended, in queue order (oldest first)."""
        query = _SELECT.where(_sessions.c.state.not_in(ENDED)).order_by(
            sa.func.coalesce(_sessions.c.queued_at, _sessions.c.created_at), _sessions.c.created_at
        )
        return [_session(row) for row in self.database.rows(query)]

    def closed_sessions(self, since: float = 0.0) -> list[Session]:
        query = _SELECT.where(_sessions.c.state.in_(ENDED), _sessions.c.updated_at >= since).order_by(_sessions.c.updated_at)
        return [_session(row) for row in self.database.rows(query)]

    def session(self, session_id: str) -> Session | None:
        row = self.database.first(_SELECT.where(_sessions.c.session_id == session_id))
        return _session(row) if row else None

    def transitions(self, session_id: str) -> list[tuple[str | None, str, str, str | None]]:
        t = _transitions.c
        query = sa.select(t.from_state, t.to_state, t.actor, t.reason).where(t.session_id == session_id).order_by(t.id)
        return self.database.rows(query)

    def handled_since(self, since: float) -> dict[str, int]:
        """Sessions each agent closed (served to the end) since ``since``."""
        t, s = _transitions.c, _sessions.c
        query = (
            sa.select(s.agent_id, sa.func.count())
            .select_from(_transitions.join(_sessions, s.session_id == t.session_id))
            .where(t.to_state == "closed", t.at >= since, s.agent_id.is_not(None))
            .group_by(s.agent_id)
        )
        return dict(self.database.rows(query))

    def count_sessions(self) -> int:
        return self.database.scalar(sa.select(sa.func.count()).select_from(_sessions))

    def data_version(self) -> int:
        """A number that changes when any process (``lapak admin``, another node) ends someone's access."""
        return self.versions()["access"]

    def versions(self) -> dict[str, int]:
        """The records' change counters, in one read: ``access`` (someone's access ended: a booth revoked,
        an account disabled) and ``directory`` (a branch or booth added or revoked).

        Bumped by :class:`server.accounts.Accounts` in the same transaction as
        the change, by whichever process made it; every node's access watcher
        polls them.
        """
        found = dict(self.database.rows(sa.select(schema.record_versions.c.name, schema.record_versions.c.version)))
        return {"access": found.get("access", 0), "directory": found.get("directory", 0)}
