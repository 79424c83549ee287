"""SQLite tables of the booth's self-service: forms, documents, consent, recordings, claims.

They live in the service's one database (:class:`server.storage.Storage`'s
connection), next to sessions and transitions. Every write is committed
before the event that caused it is acknowledged, so a restart loses nothing:
a form comes back as the member left it. The layout is in
``docs/self-service.md``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS ss_forms (
    session_id TEXT PRIMARY KEY,
    service    TEXT NOT NULL,
    fields     TEXT NOT NULL DEFAULT '{}',
    confirmed  TEXT NOT NULL DEFAULT '{}',
    opened     INTEGER NOT NULL DEFAULT 0,
    pointed    TEXT,
    revision   INTEGER NOT NULL DEFAULT 0,
    submitted  TEXT,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ss_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    actor      TEXT NOT NULL,
    at         REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ss_events_session ON ss_events(session_id);
CREATE TABLE IF NOT EXISTS ss_doc_requests (
    request_id  TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    document_id TEXT,
    created_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ss_documents (
    document_id TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    path        TEXT,
    sha256      TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    mime        TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    status      TEXT NOT NULL,
    created_at  REAL NOT NULL,
    deleted_at  REAL
);
CREATE INDEX IF NOT EXISTS ss_documents_session ON ss_documents(session_id);
CREATE TABLE IF NOT EXISTS ss_recordings (
    recording_id TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL,
    agent_id     TEXT NOT NULL,
    path         TEXT,
    started_at   REAL NOT NULL,
    stopped_at   REAL,
    seconds      REAL,
    deleted_at   REAL
);
CREATE TABLE IF NOT EXISTS ss_claims (
    reference  TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL UNIQUE,
    session_id TEXT NOT NULL UNIQUE,
    service    TEXT NOT NULL,
    kiosk_id   TEXT NOT NULL,
    branch     TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    folder     TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ss_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

DOC_COLUMNS = (
    "document_id", "session_id", "request_id", "kind", "path", "sha256", "bytes", "mime",
    "width", "height", "status", "created_at", "deleted_at",
)
REQ_COLUMNS = ("request_id", "session_id", "kind", "state", "document_id", "created_at")
REC_COLUMNS = ("recording_id", "session_id", "agent_id", "path", "started_at", "stopped_at", "seconds", "deleted_at")
CLAIM_COLUMNS = ("reference", "seq", "session_id", "service", "kiosk_id", "branch", "agent_id", "folder", "created_at")


class SelfServiceStore:
    """Reads and writes the self-service tables (one SQLite connection, autocommit).

    It implements :class:`signaling.selfservice.store.Store`; ``clock`` (the
    service's ``Config.clock``) stamps events and form saves.
    """

    def __init__(self, db: sqlite3.Connection, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        self.db.executescript(SCHEMA)

    # -- forms ---------------------------------------------------------------

    def form(self, session_id: str) -> dict | None:
        row = self.db.execute(
            "SELECT service, fields, confirmed, opened, pointed, revision, submitted FROM ss_forms WHERE session_id = ?",
            (session_id,),
        ).fetchone()
        if row is None:
            return None
        return {
            "service": row[0], "fields": json.loads(row[1]), "confirmed": json.loads(row[2]),
            "opened": bool(row[3]), "pointed": row[4], "revision": row[5], "submitted": row[6],
        }

    def save_form(self, session_id: str, form: dict) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO ss_forms (session_id, service, fields, confirmed, opened, pointed, revision, submitted, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id, form["service"], json.dumps(form["fields"], ensure_ascii=False),
                json.dumps(form["confirmed"], ensure_ascii=False), int(form["opened"]), form["pointed"],
                form["revision"], form["submitted"], self.clock(),
            ),
        )

    # -- events (consent, reviews, recordings, deletions: the audit trail) ----

    def add_event(self, session_id: str | None, kind: str, data: dict, actor: str, at: float | None = None) -> float:
        at = self.clock() if at is None else at
        self.db.execute(
            "INSERT INTO ss_events (session_id, kind, data, actor, at) VALUES (?, ?, ?, ?, ?)",
            (session_id, kind, json.dumps(data, ensure_ascii=False), actor, at),
        )
        return at

    def events(self, session_id: str | None = None, kind: str | None = None) -> list[dict]:
        sql = "SELECT session_id, kind, data, actor, at FROM ss_events WHERE 1=1"
        args: list[Any] = []
        if session_id is not None:
            sql += " AND session_id = ?"
            args.append(session_id)
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        return [{"session_id": r[0], "kind": r[1], "data": json.loads(r[2]), "actor": r[3], "at": r[4]} for r in rows]

    def consent(self, session_id: str) -> dict | None:
        """The member's latest answer: ``{"recording": bool, "at": float}``, or None if never asked/answered."""
        row = self.db.execute(
            "SELECT data, at FROM ss_events WHERE session_id = ? AND kind = 'consent.answer' ORDER BY id DESC LIMIT 1",
            (session_id,),
        ).fetchone()
        if row is None:
            return None
        return {"recording": bool(json.loads(row[0]).get("recording")), "at": row[1]}

    # -- documents -------------------------------------------------------------

    def add_request(self, row: dict) -> None:
        self.db.execute(
            f"INSERT INTO ss_doc_requests ({', '.join(REQ_COLUMNS)}) VALUES ({', '.join('?' * len(REQ_COLUMNS))})",
            tuple(row[c] for c in REQ_COLUMNS),
        )

    def request(self, request_id: str) -> dict | None:
        row = self.db.execute(
            f"SELECT {', '.join(REQ_COLUMNS)} FROM ss_doc_requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        return dict(zip(REQ_COLUMNS, row)) if row else None

    def requests(self, session_id: str) -> list[dict]:
        rows = self.db.execute(
            f"SELECT {', '.join(REQ_COLUMNS)} FROM ss_doc_requests WHERE session_id = ? ORDER BY created_at, rowid",
            (session_id,),
        ).fetchall()
        return [dict(zip(REQ_COLUMNS, r)) for r in rows]

    def set_request(self, request_id: str, state: str, document_id: str | None) -> None:
        self.db.execute(
            "UPDATE ss_doc_requests SET state = ?, document_id = ? WHERE request_id = ?", (state, document_id, request_id)
        )

    def add_document(self, row: dict) -> None:
        self.db.execute(
            f"INSERT INTO ss_documents ({', '.join(DOC_COLUMNS)}) VALUES ({', '.join('?' * len(DOC_COLUMNS))})",
            tuple(row.get(c) for c in DOC_COLUMNS),
        )

    def document(self, document_id: str) -> dict | None:
        row = self.db.execute(
            f"SELECT {', '.join(DOC_COLUMNS)} FROM ss_documents WHERE document_id = ?", (document_id,)
        ).fetchone()
        return dict(zip(DOC_COLUMNS, row)) if row else None

    def documents(self, session_id: str | None = None) -> list[dict]:
        if session_id is None:
            rows = self.db.execute(f"SELECT {', '.join(DOC_COLUMNS)} FROM ss_documents ORDER BY created_at").fetchall()
        else:
            rows = self.db.execute(
                f"SELECT {', '.join(DOC_COLUMNS)} FROM ss_documents WHERE session_id = ? ORDER BY created_at, rowid",
                (session_id,),
            ).fetchall()
        return [dict(zip(DOC_COLUMNS, r)) for r in rows]

    def set_document(self, document_id: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(f"UPDATE ss_documents SET {sets} WHERE document_id = ?", (*values.values(), document_id))

    # -- recordings ---------------------------------------------------------------

    def add_recording(self, row: dict) -> None:
        self.db.execute(
            f"INSERT INTO ss_recordings ({', '.join(REC_COLUMNS)}) VALUES ({', '.join('?' * len(REC_COLUMNS))})",
            tuple(row.get(c) for c in REC_COLUMNS),
        )

    def recordings(self, session_id: str | None = None) -> list[dict]:
        sql = f"SELECT {', '.join(REC_COLUMNS)} FROM ss_recordings"
        args: tuple = ()
        if session_id is not None:
            sql += " WHERE session_id = ?"
            args = (session_id,)
        return [dict(zip(REC_COLUMNS, r)) for r in self.db.execute(sql + " ORDER BY started_at", args).fetchall()]

    def set_recording(self, recording_id: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(f"UPDATE ss_recordings SET {sets} WHERE recording_id = ?", (*values.values(), recording_id))

    # -- claims ------------------------------------------------------------------

    def next_claim_seq(self) -> int:
        return (self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM ss_claims").fetchone()[0] or 0) + 1

    def add_claim(self, row: dict) -> None:
        self.db.execute(
            f"INSERT INTO ss_claims ({', '.join(CLAIM_COLUMNS)}) VALUES ({', '.join('?' * len(CLAIM_COLUMNS))})",
            tuple(row[c] for c in CLAIM_COLUMNS),
        )

    def claims(self) -> list[dict]:
        rows = self.db.execute(f"SELECT {', '.join(CLAIM_COLUMNS)} FROM ss_claims ORDER BY seq DESC").fetchall()
        return [dict(zip(CLAIM_COLUMNS, r)) for r in rows]

    def claim(self, reference: str) -> dict | None:
        row = self.db.execute(f"SELECT {', '.join(CLAIM_COLUMNS)} FROM ss_claims WHERE reference = ?", (reference,)).fetchone()
        return dict(zip(CLAIM_COLUMNS, row)) if row else None

    def claim_of(self, session_id: str) -> dict | None:
        row = self.db.execute(f"SELECT {', '.join(CLAIM_COLUMNS)} FROM ss_claims WHERE session_id = ?", (session_id,)).fetchone()
        return dict(zip(CLAIM_COLUMNS, row)) if row else None

    # -- settings -------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM ss_settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO ss_settings (key, value) VALUES (?, ?)", (key, value))

    # -- the session's history (the service's transitions table) ---------------------

    def transitions(self, session_id: str) -> list[tuple]:
        """``(from_state, to_state, actor, reason, at)`` of the session's state moves, in order."""
        return self.db.execute(
            "SELECT from_state, to_state, actor, reason, at FROM transitions WHERE session_id = ? ORDER BY id", (session_id,)
        ).fetchall()
