"""The records' tables as they are at the newest schema version, in SQLAlchemy Core.

The stores build their statements on these; ``lapak admin migrate`` copies
them in this order (parents before children). How a database reaches this
shape is the migrations' business (:mod:`server.migrations`): change a
table here only together with a new migration.

Times are UNIX seconds as double precision (``REAL`` on SQLite); flags are
integers 0/1 on both engines, as the first SQLite release stored them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

#: UNIX seconds: REAL on SQLite, double precision on PostgreSQL (never 4-byte ``real``).
Time = sa.Double().with_variant(sqlite.REAL(), "sqlite")

metadata = sa.MetaData()


def _table(name: str, *columns: sa.SchemaItem, **kwargs) -> sa.Table:
    return sa.Table(name, metadata, *columns, sqlite_autoincrement=True, **kwargs)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


branches = _table("branches", sa.Column("branch_id", sa.Text, primary_key=True), sa.Column("name", sa.Text, nullable=False))

users = _table(
    "users",
    sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, sa.CheckConstraint("role IN ('supervisor', 'agent', 'officer')"), nullable=False),
    sa.Column("branch_id", sa.Text, sa.ForeignKey("branches.branch_id")),
    sa.Column("skills", sa.Text),
    sa.Column("capacity", sa.Integer, nullable=False, server_default="6"),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("active", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", Time, nullable=False),
)

kiosks = _table(
    "kiosks",
    sa.Column("kiosk_id", sa.Text, primary_key=True),
    sa.Column("branch_id", sa.Text, sa.ForeignKey("branches.branch_id"), nullable=False),
    sa.Column("booth", sa.Integer, nullable=False),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("revoked_at", Time),
)

web_sessions = _table(
    "web_sessions",
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=False),
    sa.Column("expires_at", Time, nullable=False),
)

sessions = _table(
    "sessions",
    sa.Column("session_id", sa.Text, primary_key=True),
    sa.Column("kiosk_id", sa.Text, nullable=False),
    sa.Column("branch", sa.Text, nullable=False),
    sa.Column("booth", sa.Integer, nullable=False),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("agent_id", sa.Text),
    sa.Column("tile", sa.Integer),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.Column("outcome", sa.Text),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("reason", sa.Text),
    sa.Column("queued_at", Time),
    sa.Column("rating", sa.Integer),
    sa.Column("talking", sa.Integer, nullable=False, server_default="0"),
)

transitions = _table(
    "transitions",
    _id(),
    sa.Column("session_id", sa.Text, sa.ForeignKey("sessions.session_id"), nullable=False, index=False),
    sa.Column("from_state", sa.Text),
    sa.Column("to_state", sa.Text, nullable=False),
    sa.Column("at", Time, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
)

audit = _table(
    "audit",
    _id(),
    sa.Column("at", Time, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False, server_default=""),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False, server_default=""),
    sa.Column("address", sa.Text, nullable=False, server_default=""),
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
    sa.Column("refusal", sa.Integer, nullable=False, server_default="0"),
)

signin_failures = _table(
    "signin_failures",
    sa.Column("scope", sa.Text, sa.CheckConstraint("scope IN ('username', 'address')"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_at", Time, nullable=False),
    sa.Column("locked_until", Time),
)

access_events = _table(
    "access_events",
    _id(),
    sa.Column("at", Time, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("sockets", sa.Integer, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
)

ss_forms = _table(
    "ss_forms",
    sa.Column("session_id", sa.Text, primary_key=True),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("fields", sa.Text, nullable=False, server_default="{}"),
    sa.Column("confirmed", sa.Text, nullable=False, server_default="{}"),
    sa.Column("opened", sa.Integer, nullable=False, server_default="0"),
    sa.Column("pointed", sa.Text),
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    sa.Column("submitted", sa.Text),
    sa.Column("updated_at", Time, nullable=False),
)

ss_events = _table(
    "ss_events",
    _id(),
    sa.Column("session_id", sa.Text),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", Time, nullable=False),
)

ss_doc_requests = _table(
    "ss_doc_requests",
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("session_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("document_id", sa.Text),
    sa.Column("created_at", Time, nullable=False),
    # Insertion order, for ties of created_at (version 0002; SQLite's rowid before).
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
)

ss_documents = _table(
    "ss_documents",
    sa.Column("document_id", sa.Text, primary_key=True),
    sa.Column("session_id", sa.Text, nullable=False),
    sa.Column("request_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("path", sa.Text),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("bytes", sa.Integer, nullable=False),
    sa.Column("mime", sa.Text, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("deleted_at", Time),
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
)

ss_recordings = _table(
    "ss_recordings",
    sa.Column("recording_id", sa.Text, primary_key=True),
    sa.Column("session_id", sa.Text, nullable=False),
    sa.Column("agent_id", sa.Text, nullable=False),
    sa.Column("path", sa.Text),
    sa.Column("started_at", Time, nullable=False),
    sa.Column("stopped_at", Time),
    sa.Column("seconds", Time),
    sa.Column("deleted_at", Time),
)

ss_claims = _table(
    "ss_claims",
    sa.Column("reference", sa.Text, primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False, unique=True),
    sa.Column("session_id", sa.Text, nullable=False, unique=True),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("kiosk_id", sa.Text, nullable=False),
    sa.Column("branch", sa.Text, nullable=False),
    sa.Column("agent_id", sa.Text, nullable=False),
    sa.Column("folder", sa.Text, nullable=False),
    sa.Column("created_at", Time, nullable=False),
)

ss_settings = _table("ss_settings", sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text, nullable=False))

# -- the online door (members at home, docs/online-claims.md), version 0003 ------------------

oc_claims = _table(
    "oc_claims",
    sa.Column("claim_id", sa.Text, primary_key=True),
    sa.Column("reference", sa.Text, unique=True),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("token_nonce", sa.Text),  # 0004: the token is HMAC(key, claim_id:nonce), never stored
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("lang", sa.Text, nullable=False),
    sa.Column("fields", sa.Text, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("submitted_at", Time),
    sa.Column("updated_at", Time, nullable=False),
    sa.Column("expires_at", Time, nullable=False),
    sa.Column("revoked", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lease_agent", sa.Text),
    sa.Column("lease_until", Time),
    sa.Column("slot", Time),
    sa.Column("session_id", sa.Text),
    sa.Column("outcome", sa.Text),
    sa.Column("decided_at", Time),
    sa.Column("payment_file", sa.Text),
    sa.Index("oc_claims_state", "state", "submitted_at"),
    sa.Index("oc_claims_slot", "slot", "state"),
)

oc_documents = _table(
    "oc_documents",
    sa.Column("document_id", sa.Text, primary_key=True),
    sa.Column("claim_id", sa.Text, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("mime", sa.Text, nullable=False),
    sa.Column("bytes", sa.Integer, nullable=False),
    sa.Column("width", sa.Integer),
    sa.Column("height", sa.Integer),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("reviewed_by", sa.Text),
    sa.Column("reviewed_at", Time),
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
)

oc_events = _table(
    "oc_events",
    _id(),
    sa.Column("claim_id", sa.Text, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", Time, nullable=False),
)

oc_mail = _table(
    "oc_mail",
    _id(),
    sa.Column("claim_id", sa.Text, nullable=False),
    sa.Column("to_addr", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False, server_default="queued"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_at", Time, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("sent_at", Time),
)

oc_hits = _table(
    "oc_hits",
    _id(),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("at", Time, nullable=False),
    sa.Index("oc_hits_key", "scope", "key", "at"),
)

oc_capacity = _table(
    "oc_capacity", sa.Column("day", sa.Text, primary_key=True), sa.Column("interviews", sa.Integer, nullable=False)
)

# -- supervisors' monitoring spans (issue 14), version 0003 -----------------------------------

monitoring = _table(
    "monitoring",
    _id(),
    sa.Column("supervisor", sa.Text, nullable=False),
    sa.Column("agent_id", sa.Text, nullable=False),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("started_at", Time, nullable=False, index=True),
    sa.Column("ended_at", Time, nullable=False),
)

#: Counters other processes (``lapak admin``, other nodes) bump: ``"access"`` when access ends (revision
#: 0002), ``"directory"`` when a branch or booth is added or revoked (0005); read by
#: :meth:`server.storage.Storage.versions`.
record_versions = _table(
    "record_versions",
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
)

#: Tables with an integer id PostgreSQL fills from a sequence (reset after a copy).
SERIAL = {
    "users": "user_id", "transitions": "id", "audit": "id", "access_events": "id", "ss_events": "id",
    "oc_events": "id", "oc_mail": "id", "oc_hits": "id", "monitoring": "id",
}
