"""A real Redis for the tests: Debian's ``redis-server`` on a free loopback port, in a temporary folder.

:class:`RedisEngine` starts one server (no persistence unless ``persist``: ``--save ''
--appendonly no``), waits until it answers, and stops it. The fixtures:

- ``redis_engine`` (session): one server for the whole run, stopped at the end;
- ``redis_url`` (function): that server's URL; each test gets a fresh,
  empty database (``FLUSHDB`` before the test), so no test sees another's keys.

Import the fixtures where they are used::

    from redis_engine import redis_engine, redis_url  # noqa: F401
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

from server.lifeline import child_options

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisEngine:
    """One ``redis-server`` process on 127.0.0.1, its files in a temporary folder."""

    def __init__(self, folder: Path | None = None, *, persist: bool = False) -> None:
        #: Keep the data across a stop and start (append-only file, fsync on every write).
        self.persist = persist
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="lapak-redis-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "RedisEngine":
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             *(["--appendonly", "yes", "--appendfsync", "always"] if self.persist else ["--appendonly", "no"]),
             "--dir", str(self.folder), "--logfile", str(self.folder / "redis.log"), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **child_options(),
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server did not start (see {self.folder / 'redis.log'})") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def flush(self) -> None:
        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            client.flushall()
        finally:
            client.close()

    def stop(self, *, keep_folder: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._own_folder and not keep_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_engine():
    engine = RedisEngine().start()
    yield engine
    engine.stop()


@pytest.fixture
def redis_url(redis_engine) -> str:
    """A fresh (flushed) Redis for this test."""
    redis_engine.flush()
    return redis_engine.url
