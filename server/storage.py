"""SQLite storage: sessions and every transition of their state machine.

A session's row also holds whether its member is in the agent's talk set
(``talking``), so that a restart brings talking members back talking.

The embedded default. Writes are synchronous and committed before the hub
acknowledges anything, so a crash loses no acknowledged change.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from signaling.core.session import Session

from .accounts import Accounts
from .audit import AuditLog

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    kiosk_id   TEXT NOT NULL,
    branch     TEXT NOT NULL,
    booth      INTEGER NOT NULL,
    service    TEXT NOT NULL,
    language   TEXT NOT NULL,
    state      TEXT NOT NULL,
    agent_id   TEXT,
    tile       INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    outcome    TEXT,
    note       TEXT NOT NULL DEFAULT '',
    reason     TEXT,
    queued_at  REAL,
    rating     INTEGER,
    talking    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(session_id),
    from_state TEXT,
    to_state   TEXT NOT NULL,
    at         REAL NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT
);
CREATE INDEX IF NOT EXISTS transitions_session ON transitions(session_id);
"""

_COLUMNS = (
    "session_id", "kiosk_id", "branch", "booth", "service", "language", "state",
    "agent_id", "tile", "created_at", "updated_at", "outcome", "note", "reason", "queued_at", "rating", "talking",
)

#: Columns added after the first release, with their definitions (added to older databases on open).
_ADDED = {"talking": "INTEGER NOT NULL DEFAULT 0"}


def _session(row: tuple) -> Session:
    values = dict(zip(_COLUMNS, row))
    values["talking"] = bool(values["talking"])
    return Session(**values)


class Storage:
    """The service's database (one SQLite file under the data directory)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        #: Stamps every stored transition (the service's ``Config.clock``).
        self.clock = clock
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        present = {r[1] for r in self.db.execute("PRAGMA table_info(sessions)")}
        for column, definition in _ADDED.items():
            if column not in present:
                self.db.execute(f"ALTER TABLE sessions ADD COLUMN {column} {definition}")
        self.accounts = Accounts(self.db, clock=clock)
        #: Administrative acts and refused accesses (server/audit.py).
        self.audit = AuditLog(self.db, clock)
        self.accounts.signin.on_lock = self.audit.signin_locked

    def close(self) -> None:
        self.db.close()

    def save(self, session: Session, from_state: str | None, actor: str, reason: str | None) -> None:
        """Store the session and the transition that led to its current state."""
        now = self.clock()
        session.updated_at = now
        values = tuple(int(session.talking) if c == "talking" else getattr(session, c) for c in _COLUMNS)
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                f"INSERT OR REPLACE INTO sessions ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                values,
            )
            if from_state != session.state:
                self.db.execute(
                    "INSERT INTO transitions (session_id, from_state, to_state, at, actor, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (session.session_id, from_state, session.state, now, actor, reason),
                )

    def load_open(self) -> list[Session]:
        """Sessions that have not ended, in queue order (oldest first)."""
        rows = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM sessions "
            "WHERE state NOT IN ('closed', 'cancelled', 'abandoned', 'failed') "
            "ORDER BY COALESCE(queued_at, created_at), created_at"
        ).fetchall()
        return [_session(row) for row in rows]

    def closed_sessions(self, since: float = 0.0) -> list[Session]:
        rows = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM sessions WHERE state IN ('closed', 'cancelled', 'abandoned', 'failed') "
            "AND updated_at >= ? ORDER BY updated_at",
            (since,),
        ).fetchall()
        return [_session(row) for row in rows]

    def session(self, session_id: str) -> Session | None:
        row = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM sessions WHERE session_id = ?", (session_id,)
        ).fetchone()
        return _session(row) if row else None

    def transitions(self, session_id: str) -> list[tuple[str | None, str, str, str | None]]:
        return self.db.execute(
            "SELECT from_state, to_state, actor, reason FROM transitions WHERE session_id = ? ORDER BY id",
            (session_id,),
        ).fetchall()

    def handled_since(self, since: float) -> dict[str, int]:
        """Sessions each agent closed (served to the end) since ``since``."""
        rows = self.db.execute(
            "SELECT s.agent_id, COUNT(*) FROM transitions t JOIN sessions s ON s.session_id = t.session_id "
            "WHERE t.to_state = 'closed' AND t.at >= ? AND s.agent_id IS NOT NULL GROUP BY s.agent_id",
            (since,),
        ).fetchall()
        return dict(rows)

    def count_sessions(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]

    def data_version(self) -> int:
        """SQLite's counter of writes by other connections (another process, ``lapak admin``)."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]
