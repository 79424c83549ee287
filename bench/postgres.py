"""A throwaway PostgreSQL: Debian's server binaries, started in a temporary folder by whoever needs one.

:class:`PostgresServer` runs ``initdb`` and ``postgres`` from :data:`PG_BIN`
in a fresh folder, on a free loopback port, as an unprivileged user
(PostgreSQL refuses to run as root: as root the folder is given to
``nobody`` and the server runs as ``nobody``). It trusts local connections
(a throwaway cluster), and dies with the process that started it
(``PR_SET_PDEATHSIG``). The tests (tests/pg_engine.py) keep its data
unsynced for speed; ``lapak bench --control`` runs it durable, as a
deployment would, and measures its CPU (:attr:`PostgresServer.pids`).
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
from pathlib import Path

import psutil
import psycopg


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

    def __init__(self, durable: bool = False, folder: Path | None = None) -> None:
        #: Keep fsync and synchronous commits on (for timings); tests leave them off for speed.
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="lapak-pg-", dir=folder))
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

    def pids(self) -> list[int]:
        """The postmaster and its backends (the server's CPU is theirs together)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        try:
            main = psutil.Process(self.proc.pid)
            return [main.pid] + [c.pid for c in main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

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
