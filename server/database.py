"""The records database: one code path for SQLite (the embedded default) and PostgreSQL.

Every store (sessions, accounts, audit, sign-in limits, self-service, access
log) reads and writes through one :class:`Database`, a thin holder of a
synchronous SQLAlchemy Core engine:

- ``sqlite`` on ``DATA/lapak.sqlite3`` when no URL is given (WAL, ``synchronous=FULL``);
- ``postgresql+psycopg`` (psycopg 3) for ``--database postgresql://user@host:port/db``.

Writes stay synchronous and are committed before the caller goes on, so the
hub acknowledges nothing that is not stored. A lost engine raises
:class:`signaling.core.errors.RecordsUnavailable` (never a silent drop);
pooled PostgreSQL connections are pinged before use, so the stores work
again as soon as the engine is back. The schema is versioned
(:mod:`server.migrations`, Alembic) and brought to the newest version when a
database is opened.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url

from signaling.core.errors import RecordsUnavailable

from .migrations import upgrade

logger = logging.getLogger(__name__)

#: Seconds a PostgreSQL connection attempt may take before the engine counts as unreachable.
CONNECT_TIMEOUT = 5


class DatabaseUnreachable(RuntimeError):
    """The records database cannot be opened at start (the message names it, never a password)."""


def engine_url(target: str | Path) -> URL:
    """The SQLAlchemy URL for a SQLite path or a ``postgresql://`` (or ``postgres://``) URL."""
    if isinstance(target, Path) or "://" not in str(target):
        return URL.create("sqlite", database=str(Path(target)))
    try:
        url = make_url(str(target))
    except exc.ArgumentError:
        raise ValueError("not a database URL; use postgresql://user@host:port/database") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return url
    raise ValueError(f"unsupported database {url.drivername!r}; use postgresql://user@host:port/database")


def database_url(text: str) -> str:
    """``--database`` and ``--to``: a ``postgresql://user@host:port/db`` URL, checked when parsed, opened at start."""
    try:
        url = engine_url(text) if "://" in text else None
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if url is None or url.get_backend_name() != "postgresql":
        raise argparse.ArgumentTypeError("use a URL: postgresql://user@host:port/database")
    return text


def describe(url: URL) -> str:
    """Which database and where, for messages and logs (never the password)."""
    if url.get_backend_name() == "sqlite":
        return f"SQLite file {url.database}"
    host = url.host or "local socket"
    port = f":{url.port}" if url.port else ""
    user = f" as {url.username}" if url.username else ""
    return f"PostgreSQL database {url.database!r} at {host}{port}{user}"


def _reason(error: BaseException, url: URL) -> str:
    """The driver's one-line reason, with the password cut out should it ever appear."""
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    reason = text[0] if text else type(error).__name__
    if url.password:
        reason = reason.replace(str(url.password), "***")
    return reason


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class Database:
    """The service's records database: an engine, its dialect, and error translation."""

    def __init__(self, target: str | Path, *, migrate: bool = True) -> None:
        self.url = engine_url(target)
        #: ``"sqlite"`` or ``"postgresql"``.
        self.dialect = self.url.get_backend_name()
        #: Which database and where (no password), for messages.
        self.where = describe(self.url)
        self._upserts: dict[tuple, Any] = {}
        self.engine: Engine
        if self.dialect == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(self.url, connect_args={"check_same_thread": False})
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = sa.create_engine(
                self.url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT}
            )
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except exc.DBAPIError as error:
            self.engine.dispose()
            raise DatabaseUnreachable(f"cannot open the records database, {self.where}: {_reason(error, self.url)}") from None
        if migrate:
            with self.begin() as conn:
                upgrade(conn)

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions, with a lost engine told apart from a refused write ----------------

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction, committed when the block ends; :class:`RecordsUnavailable` if the engine is gone."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except (exc.OperationalError, exc.InterfaceError) as error:
            raise RecordsUnavailable(f"records database unavailable ({self.where}): {_reason(error, self.url)}") from error
        except exc.DBAPIError as error:
            if error.connection_invalidated:
                raise RecordsUnavailable(f"records database unavailable ({self.where}): {_reason(error, self.url)}") from error
            raise

    def execute(self, statement: Any, params: Mapping[str, Any] | list | None = None) -> int:
        """Run one write in its own transaction; returns the rows it touched."""
        with self.begin() as conn:
            return conn.execute(statement, params).rowcount

    def rows(self, statement: Any, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Every row of a query (a Core statement, or SQL text with ``:name`` parameters)."""
        if isinstance(statement, str):
            statement = sa.text(statement)
        with self.begin() as conn:
            return [tuple(r) for r in conn.execute(statement, params or {})]

    def first(self, statement: Any, params: Mapping[str, Any] | None = None) -> tuple | None:
        found = self.rows(statement, params)
        return found[0] if found else None

    def scalar(self, statement: Any, params: Mapping[str, Any] | None = None) -> Any:
        row = self.first(statement, params)
        return row[0] if row else None

    # -- what differs between the engines, in one place -----------------------------------

    def upsert(self, table: sa.Table, columns: tuple[str, ...], keys: tuple[str, ...]) -> Any:
        """``INSERT`` of ``columns`` that replaces the row with the same ``keys`` (SQLite and PostgreSQL alike).

        Built once per shape and kept (building it costs more than a save):
        execute it with the values as parameters, ``conn.execute(stmt, values)``.
        """
        shape = (table.name, columns, keys)
        if (statement := self._upserts.get(shape)) is None:
            insert = (postgresql if self.dialect == "postgresql" else sqlite).insert(table)
            updates = {c: insert.excluded[c] for c in columns if c not in keys}
            statement = self._upserts[shape] = insert.on_conflict_do_update(index_elements=list(keys), set_=updates)
        return statement

    def replace(self, table: sa.Table, values: Mapping[str, Any], keys: tuple[str, ...]) -> None:
        """Insert ``values``, or replace the row with the same ``keys``, in its own transaction."""
        with self.begin() as conn:
            conn.execute(self.upsert(table, tuple(values), keys), dict(values))

    def dump_text(self) -> str:
        """Every row of every table as text (for checks that a secret is stored nowhere in clear)."""
        meta = sa.MetaData()
        meta.reflect(self.engine)
        lines = []
        with self.begin() as conn:
            for table in meta.sorted_tables:
                lines += [f"{table.name}: {tuple(row)!r}" for row in conn.execute(table.select())]
        return "\n".join(lines)
