"""The online door's tables (members at home: claims, documents, history, mail outbox, limits, interview
capacity) and the supervisors' monitoring spans.

A frozen copy of the tables as this revision creates them; later changes go
into later revisions. ``oc_documents.seq`` is the tie-break of documents
with the same ``created_at`` (no rowid on PostgreSQL).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import sqlite

revision = "0003"
down_revision = "0002"
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


_t(
    "oc_claims",
    C("claim_id", TEXT, primary_key=True), C("reference", TEXT, unique=True),
    C("token_hash", TEXT, nullable=False, unique=True), C("token", TEXT, nullable=False),
    C("service", TEXT, nullable=False), C("lang", TEXT, nullable=False), C("fields", TEXT, nullable=False),
    C("email", TEXT), C("state", TEXT, nullable=False), C("reason", TEXT), C("origin", TEXT, nullable=False),
    C("created_at", T, nullable=False), C("submitted_at", T), C("updated_at", T, nullable=False),
    C("expires_at", T, nullable=False), C("revoked", INT, nullable=False, server_default="0"),
    C("lease_agent", TEXT), C("lease_until", T), C("slot", T), C("session_id", TEXT), C("outcome", TEXT),
    C("decided_at", T), C("payment_file", TEXT),
    sa.Index("oc_claims_state", "state", "submitted_at"), sa.Index("oc_claims_slot", "slot", "state"),
)
_t(
    "oc_documents",
    C("document_id", TEXT, primary_key=True), C("claim_id", TEXT, nullable=False, index=True),
    C("kind", TEXT, nullable=False), C("path", TEXT, nullable=False), C("mime", TEXT, nullable=False),
    C("bytes", INT, nullable=False), C("width", INT), C("height", INT), C("sha256", TEXT, nullable=False),
    C("source", TEXT, nullable=False), C("status", TEXT, nullable=False), C("reason", TEXT),
    C("created_at", T, nullable=False), C("reviewed_by", TEXT), C("reviewed_at", T),
    C("seq", INT, nullable=False, server_default="0"),
)
_t(
    "oc_events",
    _id(), C("claim_id", TEXT, nullable=False, index=True), C("kind", TEXT, nullable=False),
    C("data", TEXT, nullable=False), C("actor", TEXT, nullable=False), C("at", T, nullable=False),
)
_t(
    "oc_mail",
    _id(), C("claim_id", TEXT, nullable=False), C("to_addr", TEXT, nullable=False), C("subject", TEXT, nullable=False),
    C("body", TEXT, nullable=False), C("state", TEXT, nullable=False, server_default="queued"),
    C("attempts", INT, nullable=False, server_default="0"), C("next_at", T, nullable=False), C("last_error", TEXT),
    C("created_at", T, nullable=False), C("sent_at", T),
)
_t(
    "oc_hits",
    _id(), C("scope", TEXT, nullable=False), C("key", TEXT, nullable=False), C("at", T, nullable=False),
    sa.Index("oc_hits_key", "scope", "key", "at"),
)
_t("oc_capacity", C("day", TEXT, primary_key=True), C("interviews", INT, nullable=False))
_t(
    "monitoring",
    _id(), C("supervisor", TEXT, nullable=False), C("agent_id", TEXT, nullable=False), C("mode", TEXT, nullable=False),
    C("started_at", T, nullable=False, index=True), C("ended_at", T, nullable=False),
)


def upgrade() -> None:
    M.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:  # pragma: no cover - the service only moves forward
    M.drop_all(op.get_bind())
