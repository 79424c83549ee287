"""The online claims' records (members at home): claims, documents, history, the mail outbox, limits.

They live in the service's records database (SQLite or PostgreSQL, the
``oc_*`` tables of :mod:`server.schema`, revisions 0003-0004), next to the booth's
self-service tables; each method is one statement in its own transaction. It implements
:class:`signaling.online.store.OnlineStore`. The two guards that must hold
between processes are single ``UPDATE … WHERE`` statements: a validation
lease (:meth:`take_lease`) and a booking within a slot's capacity
(:meth:`book`). Claims are looked up by the SHA-256 of their status link's
token; the token itself is never stored (only the nonce it is derived from
with the server's key, revision 0004).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from . import schema
from .database import Database

CLAIM_COLUMNS = (
    "claim_id", "reference", "token_hash", "token_nonce", "service", "lang", "fields", "email", "state", "reason", "origin",
    "created_at", "submitted_at", "updated_at", "expires_at", "revoked", "lease_agent", "lease_until", "slot",
    "session_id", "outcome", "decided_at", "payment_file",
)
DOC_COLUMNS = (
    "document_id", "claim_id", "kind", "path", "mime", "bytes", "width", "height", "sha256", "source", "status",
    "reason", "created_at", "reviewed_by", "reviewed_at",
)
MAIL_COLUMNS = ("id", "claim_id", "to_addr", "subject", "body", "state", "attempts", "next_at", "last_error",
                "created_at", "sent_at")
#: Rows of attempts kept at most (oldest pruned), so strangers cannot grow the table without bound.
MAX_HITS = 50_000


def _claim(row: tuple | None) -> dict | None:
    if row is None:
        return None
    claim = dict(zip(CLAIM_COLUMNS, row))
    claim["fields"] = json.loads(claim["fields"])
    claim["revoked"] = bool(claim["revoked"])
    return claim


def _named(sql: str, args: tuple) -> tuple[Any, dict[str, Any]]:
    """``?`` placeholders turned into ``:p0, :p1…`` bound parameters (the same SQL on both engines)."""
    parts = sql.split("?")
    if len(parts) - 1 != len(args):
        raise ValueError(f"{len(parts) - 1} placeholders for {len(args)} values")
    text = parts[0] + "".join(f":p{i}{rest}" for i, rest in enumerate(parts[1:]))
    return sa.text(text), {f"p{i}": v for i, v in enumerate(args)}


class OnlineClaimStore:
    """Reads and writes the ``oc_*`` tables; ``clock`` is the service's ``Config.clock``."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.clock = clock

    def _write(self, sql: str, *args: Any) -> int:
        """One write (SQL with ``?`` placeholders, as the statements below read); the rows it touched."""
        text, params = _named(sql, args)
        return self.database.execute(text, params)

    def _rows(self, sql: str, *args: Any) -> list[tuple]:
        text, params = _named(sql, args)
        return self.database.rows(text, params)

    def _one_row(self, sql: str, *args: Any) -> tuple | None:
        rows = self._rows(sql, *args)
        return rows[0] if rows else None

    # -- claims ----------------------------------------------------------------

    def add_claim(self, row: dict) -> None:
        values = {**row, "fields": json.dumps(row["fields"], ensure_ascii=False), "revoked": int(row.get("revoked", 0))}
        self._write(
            f"INSERT INTO oc_claims ({', '.join(CLAIM_COLUMNS)}) VALUES ({', '.join('?' * len(CLAIM_COLUMNS))})",
            *(values.get(c) for c in CLAIM_COLUMNS),
        )

    def _one(self, where: str, value: Any) -> dict | None:
        return _claim(self._one_row(f"SELECT {', '.join(CLAIM_COLUMNS)} FROM oc_claims WHERE {where} = ?", value))

    def claim(self, claim_id: str) -> dict | None:
        return self._one("claim_id", claim_id)

    def claim_by_token(self, token_hash: str) -> dict | None:
        return self._one("token_hash", token_hash)

    def claim_by_reference(self, reference: str) -> dict | None:
        return self._one("reference", reference)

    def claim_by_session(self, session_id: str) -> dict | None:
        return self._one("session_id", session_id)

    def claims(self, states: tuple[str, ...] | None = None) -> list[dict]:
        sql = f"SELECT {', '.join(CLAIM_COLUMNS)} FROM oc_claims"
        args: tuple = ()
        if states:
            sql += f" WHERE state IN ({', '.join('?' * len(states))})"
            args = tuple(states)
        rows = self._rows(sql + " ORDER BY COALESCE(submitted_at, created_at), claim_id", *args)
        return [c for c in map(_claim, rows) if c is not None]

    def update_claim(self, claim_id: str, **values: Any) -> None:
        if "fields" in values:
            values["fields"] = json.dumps(values["fields"], ensure_ascii=False)
        values["updated_at"] = self.clock()
        sets = ", ".join(f"{k} = ?" for k in values)
        self._write(f"UPDATE oc_claims SET {sets} WHERE claim_id = ?", *values.values(), claim_id)

    def move(self, claim_id: str, old: str, new: str, **values: Any) -> bool:
        """Change the state from ``old`` to ``new`` (with ``values``) only if it is still ``old``."""
        values = {**values, "state": new, "updated_at": self.clock()}
        sets = ", ".join(f"{k} = ?" for k in values)
        return self._write(f"UPDATE oc_claims SET {sets} WHERE claim_id = ? AND state = ?",
                           *values.values(), claim_id, old) == 1

    def next_seq(self) -> int:
        return int(self._one_row("SELECT COUNT(*) FROM oc_claims WHERE reference IS NOT NULL")[0]) + 1

    # -- the validation lease ----------------------------------------------------

    def take_lease(self, claim_id: str, agent_id: str, now: float, until: float) -> bool:
        """Hold the claim for ``agent_id`` until ``until``, unless another agent's lease is still running."""
        return self._write(
            "UPDATE oc_claims SET lease_agent = ?, lease_until = ? WHERE claim_id = ? "
            "AND (lease_agent IS NULL OR lease_agent = ? OR lease_until < ?)",
            agent_id, until, claim_id, agent_id, now,
        ) == 1

    def drop_lease(self, claim_id: str, agent_id: str) -> None:
        self._write("UPDATE oc_claims SET lease_agent = NULL, lease_until = NULL WHERE claim_id = ? AND lease_agent = ?",
                    claim_id, agent_id)

    # -- slots -------------------------------------------------------------------

    def booked(self, slot: float) -> int:
        return int(self._one_row("SELECT COUNT(*) FROM oc_claims WHERE slot = ? AND state = 'interview_booked'", slot)[0])

    def book(self, claim_id: str, slot: float, capacity: int, states: tuple[str, ...]) -> bool:
        """Book ``slot`` for the claim if it is in one of ``states`` and the slot has room (one statement)."""
        return self._write(
            f"UPDATE oc_claims SET slot = ?, state = 'interview_booked', updated_at = ? WHERE claim_id = ? "
            f"AND state IN ({', '.join('?' * len(states))}) "
            "AND (SELECT COUNT(*) FROM oc_claims WHERE slot = ? AND state = 'interview_booked' AND claim_id != ?) < ?",
            slot, self.clock(), claim_id, *states, slot, claim_id, capacity,
        ) == 1

    # -- documents ---------------------------------------------------------------

    def add_document(self, row: dict) -> None:
        self._write(
            f"INSERT INTO oc_documents ({', '.join(DOC_COLUMNS)}, seq) VALUES ({', '.join('?' * len(DOC_COLUMNS))}, "
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM oc_documents WHERE claim_id = ?))",
            *(row.get(c) for c in DOC_COLUMNS), row.get("claim_id"),
        )

    def document(self, document_id: str) -> dict | None:
        row = self._one_row(f"SELECT {', '.join(DOC_COLUMNS)} FROM oc_documents WHERE document_id = ?", document_id)
        return dict(zip(DOC_COLUMNS, row)) if row else None

    def documents(self, claim_id: str) -> list[dict]:
        rows = self._rows(f"SELECT {', '.join(DOC_COLUMNS)} FROM oc_documents WHERE claim_id = ? "
                          "ORDER BY created_at, seq", claim_id)
        return [dict(zip(DOC_COLUMNS, r)) for r in rows]

    def set_document(self, document_id: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        self._write(f"UPDATE oc_documents SET {sets} WHERE document_id = ?", *values.values(), document_id)

    # -- history -----------------------------------------------------------------

    def add_event(self, claim_id: str, kind: str, data: dict, actor: str) -> None:
        self._write("INSERT INTO oc_events (claim_id, kind, data, actor, at) VALUES (?, ?, ?, ?, ?)",
                    claim_id, kind, json.dumps(data, ensure_ascii=False), actor, self.clock())

    def events(self, claim_id: str) -> list[dict]:
        rows = self._rows("SELECT kind, data, actor, at FROM oc_events WHERE claim_id = ? ORDER BY id", claim_id)
        return [{"kind": r[0], "data": json.loads(r[1]), "actor": r[2], "at": r[3]} for r in rows]

    # -- mail outbox ---------------------------------------------------------------

    def queue_mail(self, row: dict) -> None:
        now = self.clock()
        self._write("INSERT INTO oc_mail (claim_id, to_addr, subject, body, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    row["claim_id"], row["to_addr"], row["subject"], row["body"], now, now)

    def due_mail(self, now: float, limit: int = 20) -> list[dict]:
        rows = self._rows(f"SELECT {', '.join(MAIL_COLUMNS)} FROM oc_mail WHERE state = 'queued' AND next_at <= ? "
                          "ORDER BY id LIMIT ?", now, limit)
        return [dict(zip(MAIL_COLUMNS, r)) for r in rows]

    def set_mail(self, mail_id: int, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        self._write(f"UPDATE oc_mail SET {sets} WHERE id = ?", *values.values(), mail_id)

    def mails(self, claim_id: str | None = None) -> list[dict]:
        sql, args = f"SELECT {', '.join(MAIL_COLUMNS)} FROM oc_mail", ()
        if claim_id is not None:
            sql, args = sql + " WHERE claim_id = ?", (claim_id,)
        return [dict(zip(MAIL_COLUMNS, r)) for r in self._rows(sql + " ORDER BY id", *args)]

    # -- attempts per address --------------------------------------------------------

    def count_hits(self, scope: str, key: str, since: float) -> int:
        return int(self._one_row("SELECT COUNT(*) FROM oc_hits WHERE scope = ? AND key = ? AND at >= ?",
                                 scope, key, since)[0])

    def add_hit(self, scope: str, key: str, at: float) -> None:
        self._write("INSERT INTO oc_hits (scope, key, at) VALUES (?, ?, ?)", scope, key, at)
        self._write("DELETE FROM oc_hits WHERE id <= (SELECT MAX(id) FROM oc_hits) - ?", MAX_HITS)

    # -- capacity ----------------------------------------------------------------------

    def capacity(self, day: str) -> int | None:
        row = self._one_row("SELECT interviews FROM oc_capacity WHERE day = ?", day)
        return int(row[0]) if row else None

    def set_capacity(self, day: str, interviews: int) -> None:
        self.database.replace(schema.oc_capacity, {"day": day, "interviews": interviews}, ("day",))
