"""A real PostgreSQL for the tests: :class:`bench.postgres.PostgresServer`, started by the harness itself.

The server (Debian's binaries, a temporary folder, a free loopback port, run
as ``nobody`` under root) lives in :mod:`bench.postgres`, shared with
``lapak bench --control``. Fixtures (imported by ``conftest.py``):

- ``postgres``: one server for the whole session, stopped and removed at the end;
- ``pg_url``: a fresh, empty database on it for one test (``postgresql://…`` URL);
- ``records_target``: parametrized ``sqlite`` / ``postgresql``: what
  :class:`server.database.Database` opens (an SQLite path in ``tmp_path``, or
  ``pg_url``), for running one store test on both engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.postgres import PG_BIN, PG_USER, PostgresServer

__all__ = ["PG_BIN", "PG_USER", "PostgresServer", "pg_url", "postgres", "records_target"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL for the session (started before any test's process check, so it is not reaped)."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def records_target(request, tmp_path, postgres: PostgresServer) -> Iterator[str | Path]:
    """The records database on each engine in turn: an SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield tmp_path / "lapak.sqlite3"
        return
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)
