"""Baseline: the records as the SQLite-only releases left them (sessions to self-service).

Creates every table and index that is missing, so that it both starts an
empty database (SQLite or PostgreSQL) and adopts an SQLite file written
before versioning; such a file may also lack columns added later in that
era (``sessions.talking``), which are added here. The tables are a frozen
copy: later changes go into later revisions, never here.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import sqlite

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

T = sa.Double().with_variant(sqlite.REAL(), "sqlite")
M = sa.MetaData()
C = sa.Column
TEXT, INT = sa.Text, sa.Integer


def _t(name: str, *columns: sa.SchemaItem) -> sa.Table:
    return sa.Table(name, M, *columns, sqlite_autoincrement=True)


def _id() -> sa.Column:
    return C("id", INT, primary_key=True, autoincrement=True)


_t("branches", C("branch_id", TEXT, primary_key=True), C("name", TEXT, nullable=False))
_t(
    "users",
    C("user_id", INT, primary_key=True, autoincrement=True), C("username", TEXT, nullable=False, unique=True),
    C("name", TEXT, nullable=False),
    C("role", TEXT, sa.CheckConstraint("role IN ('supervisor', 'agent', 'officer')"), nullable=False),
    C("branch_id", TEXT, sa.ForeignKey("branches.branch_id")), C("skills", TEXT),
    C("capacity", INT, nullable=False, server_default="6"), C("password_hash", TEXT, nullable=False),
    C("active", INT, nullable=False, server_default="1"), C("created_at", T, nullable=False),
)
kiosks = _t(
    "kiosks",
    C("kiosk_id", TEXT, primary_key=True), C("branch_id", TEXT, sa.ForeignKey("branches.branch_id"), nullable=False),
    C("booth", INT, nullable=False), C("token_hash", TEXT, nullable=False, unique=True),
    C("created_at", T, nullable=False), C("revoked_at", T),
)
sa.Index("kiosks_live_booth", kiosks.c.branch_id, kiosks.c.booth, unique=True,
         sqlite_where=kiosks.c.revoked_at.is_(None), postgresql_where=kiosks.c.revoked_at.is_(None))
_t(
    "web_sessions",
    C("token_hash", TEXT, primary_key=True), C("user_id", INT, sa.ForeignKey("users.user_id"), nullable=False),
    C("expires_at", T, nullable=False),
)
_t(
    "sessions",
    C("session_id", TEXT, primary_key=True), C("kiosk_id", TEXT, nullable=False), C("branch", TEXT, nullable=False),
    C("booth", INT, nullable=False), C("service", TEXT, nullable=False), C("language", TEXT, nullable=False),
    C("state", TEXT, nullable=False), C("agent_id", TEXT), C("tile", INT), C("created_at", T, nullable=False),
    C("updated_at", T, nullable=False), C("outcome", TEXT), C("note", TEXT, nullable=False, server_default=""),
    C("reason", TEXT), C("queued_at", T), C("rating", INT), C("talking", INT, nullable=False, server_default="0"),
)
transitions = _t(
    "transitions",
    _id(), C("session_id", TEXT, sa.ForeignKey("sessions.session_id"), nullable=False), C("from_state", TEXT),
    C("to_state", TEXT, nullable=False), C("at", T, nullable=False), C("actor", TEXT, nullable=False), C("reason", TEXT),
)
sa.Index("transitions_session", transitions.c.session_id)
audit = _t(
    "audit",
    _id(), C("at", T, nullable=False), C("actor", TEXT, nullable=False), C("role", TEXT, nullable=False, server_default=""),
    C("action", TEXT, nullable=False), C("target", TEXT, nullable=False, server_default=""),
    C("address", TEXT, nullable=False, server_default=""), C("detail", TEXT, nullable=False, server_default="{}"),
    C("refusal", INT, nullable=False, server_default="0"),
)
sa.Index("audit_at", audit.c.at)
sa.Index("audit_refusal", audit.c.refusal, audit.c.id)
_t(
    "signin_failures",
    C("scope", TEXT, sa.CheckConstraint("scope IN ('username', 'address')"), primary_key=True),
    C("key", TEXT, primary_key=True), C("failures", INT, nullable=False), C("last_at", T, nullable=False),
    C("locked_until", T),
)
access = _t(
    "access_events",
    _id(), C("at", T, nullable=False), C("subject", TEXT, nullable=False), C("reason", TEXT, nullable=False),
    C("actor", TEXT, nullable=False), C("sockets", INT, nullable=False), C("detail", TEXT, nullable=False, server_default=""),
)
sa.Index("access_events_subject", access.c.subject, access.c.at)
_t(
    "ss_forms",
    C("session_id", TEXT, primary_key=True), C("service", TEXT, nullable=False),
    C("fields", TEXT, nullable=False, server_default="{}"), C("confirmed", TEXT, nullable=False, server_default="{}"),
    C("opened", INT, nullable=False, server_default="0"), C("pointed", TEXT),
    C("revision", INT, nullable=False, server_default="0"), C("submitted", TEXT), C("updated_at", T, nullable=False),
)
events = _t(
    "ss_events",
    _id(), C("session_id", TEXT), C("kind", TEXT, nullable=False), C("data", TEXT, nullable=False, server_default="{}"),
    C("actor", TEXT, nullable=False), C("at", T, nullable=False),
)
sa.Index("ss_events_session", events.c.session_id)
_t(
    "ss_doc_requests",
    C("request_id", TEXT, primary_key=True), C("session_id", TEXT, nullable=False), C("kind", TEXT, nullable=False),
    C("state", TEXT, nullable=False), C("document_id", TEXT), C("created_at", T, nullable=False),
)
documents = _t(
    "ss_documents",
    C("document_id", TEXT, primary_key=True), C("session_id", TEXT, nullable=False), C("request_id", TEXT, nullable=False),
    C("kind", TEXT, nullable=False), C("path", TEXT), C("sha256", TEXT, nullable=False), C("bytes", INT, nullable=False),
    C("mime", TEXT, nullable=False), C("width", INT, nullable=False), C("height", INT, nullable=False),
    C("status", TEXT, nullable=False), C("created_at", T, nullable=False), C("deleted_at", T),
)
sa.Index("ss_documents_session", documents.c.session_id)
_t(
    "ss_recordings",
    C("recording_id", TEXT, primary_key=True), C("session_id", TEXT, nullable=False), C("agent_id", TEXT, nullable=False),
    C("path", TEXT), C("started_at", T, nullable=False), C("stopped_at", T), C("seconds", T), C("deleted_at", T),
)
_t(
    "ss_claims",
    C("reference", TEXT, primary_key=True), C("seq", INT, nullable=False, unique=True),
    C("session_id", TEXT, nullable=False, unique=True), C("service", TEXT, nullable=False),
    C("kiosk_id", TEXT, nullable=False), C("branch", TEXT, nullable=False), C("agent_id", TEXT, nullable=False),
    C("folder", TEXT, nullable=False), C("created_at", T, nullable=False),
)
_t("ss_settings", C("key", TEXT, primary_key=True), C("value", TEXT, nullable=False))

#: Columns the SQLite-only releases added after their first, with what an older file gets.
ADDED = {("sessions", "talking"): C("talking", INT, nullable=False, server_default="0")}


def upgrade() -> None:
    bind = op.get_bind()
    M.create_all(bind, checkfirst=True)  # tables, then their indexes, each only if missing
    inspector = sa.inspect(bind)
    for (table, name), column in ADDED.items():
        if name not in {c["name"] for c in inspector.get_columns(table)}:
            op.add_column(table, column)
    for table in M.sorted_tables:  # an adopted file may lack an index its tables had in a later release
        present = {i["name"] for i in sa.inspect(bind).get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                index.create(bind)
