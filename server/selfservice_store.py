"""Tables of the booth's self-service: forms, documents, consent, recordings, claims.

They live in the service's one database (:class:`server.database.Database`,
SQLite or PostgreSQL), next to sessions and transitions. Every write is committed
before the event that caused it is acknowledged, so a restart loses nothing:
a form comes back as the member left it. The layout is in
``docs/self-service.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from . import schema
from .database import Database


DOC_COLUMNS = (
    "document_id", "session_id", "request_id", "kind", "path", "sha256", "bytes", "mime",
    "width", "height", "status", "created_at", "deleted_at",
)
REQ_COLUMNS = ("request_id", "session_id", "kind", "state", "document_id", "created_at")
REC_COLUMNS = ("recording_id", "session_id", "agent_id", "path", "started_at", "stopped_at", "seconds", "deleted_at")
CLAIM_COLUMNS = ("reference", "seq", "session_id", "service", "kiosk_id", "branch", "agent_id", "folder", "created_at")


def _insert_in_order(table: sa.Table, values: dict) -> Any:
    """An insert that numbers the row after the session's others (``seq``, the tie-break of equal times)."""
    seq = sa.select(sa.func.coalesce(sa.func.max(table.c.seq), 0) + 1).where(table.c.session_id == values["session_id"])
    return table.insert().values(**values, seq=seq.scalar_subquery())


class SelfServiceStore:
    """Reads and writes the self-service tables (each write its own committed transaction).

    It implements :class:`signaling.selfservice.store.Store`; ``clock`` (the
    service's ``Config.clock``) stamps events and form saves.
    """

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.clock = clock

    def _select(self, table: sa.Table, columns: tuple[str, ...], *where: Any, order: tuple = ()) -> list[dict]:
        query = sa.select(*(table.c[c] for c in columns)).where(*where).order_by(*order)
        return [dict(zip(columns, r)) for r in self.database.rows(query)]

    def _update(self, table: sa.Table, key: str, value: str, values: dict) -> None:
        self.database.execute(table.update().where(table.c[key] == value).values(**values))

    # -- forms ---------------------------------------------------------------

    def form(self, session_id: str) -> dict | None:
        row = self.database.first(
            "SELECT service, fields, confirmed, opened, pointed, revision, submitted FROM ss_forms WHERE session_id = :s",
            {"s": session_id},
        )
        if row is None:
            return None
        return {
            "service": row[0], "fields": json.loads(row[1]), "confirmed": json.loads(row[2]),
            "opened": bool(row[3]), "pointed": row[4], "revision": row[5], "submitted": row[6],
        }

    def save_form(self, session_id: str, form: dict) -> None:
        values = {
            "session_id": session_id, "service": form["service"],
            "fields": json.dumps(form["fields"], ensure_ascii=False),
            "confirmed": json.dumps(form["confirmed"], ensure_ascii=False), "opened": int(form["opened"]),
            "pointed": form["pointed"], "revision": form["revision"], "submitted": form["submitted"],
            "updated_at": self.clock(),
        }
        self.database.replace(schema.ss_forms, values, ("session_id",))

    # -- events (consent, reviews, recordings, deletions: the audit trail) ----

    def add_event(self, session_id: str | None, kind: str, data: dict, actor: str, at: float | None = None) -> float:
        at = self.clock() if at is None else at
        self.database.execute(
            schema.ss_events.insert().values(
                session_id=session_id, kind=kind, data=json.dumps(data, ensure_ascii=False), actor=actor, at=at
            )
        )
        return at

    def events(self, session_id: str | None = None, kind: str | None = None) -> list[dict]:
        e = schema.ss_events.c
        query = sa.select(e.session_id, e.kind, e.data, e.actor, e.at)
        if session_id is not None:
            query = query.where(e.session_id == session_id)
        if kind is not None:
            query = query.where(e.kind == kind)
        rows = self.database.rows(query.order_by(e.id))
        return [{"session_id": r[0], "kind": r[1], "data": json.loads(r[2]), "actor": r[3], "at": r[4]} for r in rows]

    def consent(self, session_id: str) -> dict | None:
        """The member's latest answer: ``{"recording": bool, "at": float}``, or None if never asked/answered."""
        row = self.database.first(
            "SELECT data, at FROM ss_events WHERE session_id = :s AND kind = 'consent.answer' ORDER BY id DESC LIMIT 1",
            {"s": session_id},
        )
        if row is None:
            return None
        return {"recording": bool(json.loads(row[0]).get("recording")), "at": row[1]}

    # -- documents -------------------------------------------------------------

    def add_request(self, row: dict) -> None:
        self.database.execute(_insert_in_order(schema.ss_doc_requests, {c: row[c] for c in REQ_COLUMNS}))

    def request(self, request_id: str) -> dict | None:
        rows = self._select(schema.ss_doc_requests, REQ_COLUMNS, schema.ss_doc_requests.c.request_id == request_id)
        return rows[0] if rows else None

    def requests(self, session_id: str) -> list[dict]:
        r = schema.ss_doc_requests.c
        return self._select(schema.ss_doc_requests, REQ_COLUMNS, r.session_id == session_id, order=(r.created_at, r.seq))

    def set_request(self, request_id: str, state: str, document_id: str | None) -> None:
        self._update(schema.ss_doc_requests, "request_id", request_id, {"state": state, "document_id": document_id})

    def add_document(self, row: dict) -> None:
        self.database.execute(_insert_in_order(schema.ss_documents, {c: row.get(c) for c in DOC_COLUMNS}))

    def document(self, document_id: str) -> dict | None:
        rows = self._select(schema.ss_documents, DOC_COLUMNS, schema.ss_documents.c.document_id == document_id)
        return rows[0] if rows else None

    def documents(self, session_id: str | None = None) -> list[dict]:
        d = schema.ss_documents.c
        if session_id is None:
            return self._select(schema.ss_documents, DOC_COLUMNS, order=(d.created_at,))
        return self._select(schema.ss_documents, DOC_COLUMNS, d.session_id == session_id, order=(d.created_at, d.seq))

    def set_document(self, document_id: str, **values: Any) -> None:
        self._update(schema.ss_documents, "document_id", document_id, values)

    # -- recordings ---------------------------------------------------------------

    def add_recording(self, row: dict) -> None:
        self.database.execute(schema.ss_recordings.insert().values(**{c: row.get(c) for c in REC_COLUMNS}))

    def recordings(self, session_id: str | None = None) -> list[dict]:
        r = schema.ss_recordings.c
        where = (r.session_id == session_id,) if session_id is not None else ()
        return self._select(schema.ss_recordings, REC_COLUMNS, *where, order=(r.started_at,))

    def set_recording(self, recording_id: str, **values: Any) -> None:
        self._update(schema.ss_recordings, "recording_id", recording_id, values)

    # -- claims ------------------------------------------------------------------

    def next_claim_seq(self) -> int:
        return (self.database.scalar("SELECT COALESCE(MAX(seq), 0) FROM ss_claims") or 0) + 1

    def add_claim(self, row: dict) -> None:
        self.database.execute(schema.ss_claims.insert().values(**{c: row[c] for c in CLAIM_COLUMNS}))

    def claims(self) -> list[dict]:
        return self._select(schema.ss_claims, CLAIM_COLUMNS, order=(schema.ss_claims.c.seq.desc(),))

    def claim(self, reference: str) -> dict | None:
        rows = self._select(schema.ss_claims, CLAIM_COLUMNS, schema.ss_claims.c.reference == reference)
        return rows[0] if rows else None

    def claim_of(self, session_id: str) -> dict | None:
        rows = self._select(schema.ss_claims, CLAIM_COLUMNS, schema.ss_claims.c.session_id == session_id)
        return rows[0] if rows else None

    # -- settings -------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        return self.database.scalar("SELECT value FROM ss_settings WHERE key = :k", {"k": key})

    def set_setting(self, key: str, value: str) -> None:
        self.database.replace(schema.ss_settings, {"key": key, "value": value}, ("key",))

    # -- the session's history (the service's transitions table) ---------------------

    def transitions(self, session_id: str) -> list[tuple]:
        """``(from_state, to_state, actor, reason, at)`` of the session's state moves, in order."""
        return self.database.rows(
            "SELECT from_state, to_state, actor, reason, at FROM transitions WHERE session_id = :s ORDER BY id",
            {"s": session_id},
        )
