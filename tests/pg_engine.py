"""A real PostgreSQL for the tests: Debian's server binaries, started by the harness itself.

:class:`PostgresServer` runs ``initdb`` and ``postgres`` from
:data:`PG_BIN` in a fresh temporary folder, on a free loopback port, as an
unprivileged user (PostgreSQL refuses to run as root: as root the folder is
given to ``nobody`` and the server runs as ``nobody``). It trusts local
connections (a throwaway cluster), keeps its data unsynced for speed, and
dies with the test process should that be killed (``PR_SET_PDEATHSIG``).

Fixtures (imported by ``conftest.py``):

- ``postgres``: one server for the whole session, stopped and removed at the end;
- ``pg_url``: a fresh, empty database on it for one test (``postgresql://…`` URL);
- ``records_target``: parametrized ``sqlite`` / ``postgresql``: what
  :class:`server.database.Database` opens (an SQLite path in ``tmp_path``, or
  ``pg_url``), for running one store test on both engines.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

def _pg_bin() -> Path:
    """Debian's PostgreSQL server binaries (the newest installed major version)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
#: The cluster's superuser (trusted on loopback).
PG_USER = "lapak"
_names = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child (after it dropped root): stop quickly (SIGINT: fast shutdown) when the tests' process dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


class PostgresServer:
    """One throwaway PostgreSQL cluster: start, hand out fresh databases, stop."""

    def __init__(self, durable: bool = False) -> None:
        #: Keep fsync and synchronous commits on (for timings); tests leave them off for speed.
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="lapak-pg-"))
        self.port = _free_port()
        self.user = "nobody" if os.geteuid() == 0 else None
        self.proc: subprocess.Popen | None = None

    def _as_user(self) -> dict:
        return {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid, "extra_groups": []} if self.user else {}

    def start(self, timeout: float = 30.0) -> "PostgresServer":
        data, sockets = self.root / "data", self.root / "run"
        if not data.exists():
            self._initdb(data, sockets)
        self.proc = self._start_process(data, sockets)
        self._wait_ready(timeout)
        return self

    def _initdb(self, data: Path, sockets: Path) -> None:
        sockets.mkdir()
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-sync",
             "--no-instructions"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root, **self._as_user(),
        )

    def _start_process(self, data: Path, sockets: Path) -> subprocess.Popen:
        with open(self.root / "postgres.log", "ab") as log:
            return self._popen(data, sockets, log)

    def _popen(self, data: Path, sockets: Path, log) -> subprocess.Popen:
        return subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={sockets}", "-c", "max_connections=200",
             *([] if self.durable else ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])],
            stdout=subprocess.DEVNULL, stderr=log, cwd=self.root,
            preexec_fn=_die_with_parent, **self._as_user(),
        )

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start: {(self.root / 'postgres.log').read_text()[-2000:]}")
                time.sleep(0.1)

    def dsn(self, database: str) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        name = name or f"t{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def halt(self) -> None:
        """Stop the server process, keeping its data (``start`` brings it back on the same port)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown: ends sessions, no waiting for clients
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)


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
