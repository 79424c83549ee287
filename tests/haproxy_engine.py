"""A real load balancer for the tests: Debian's HAProxy in front of several Lapak nodes.

:func:`haproxy_config` writes the configuration docs/operations.md documents
("In front of the nodes"): HTTP and the socket.io WebSocket on one frontend,
health checks against ``/healthz`` (a draining node answers 503), a cookie
``lapak_node`` that keeps a client on its node (socket.io long-polling needs
it; a client that asks for a node by that cookie gets it while it is up), and
``option redispatch``: a client whose node is down goes to another.
:class:`HAProxy` runs it in the foreground on a free loopback port, in a
temporary folder, and stops it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from server.lifeline import child_options

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def haproxy_config(port: int, nodes: dict[str, int], *, check_ms: int = 500) -> str:
    """HAProxy's configuration for ``nodes`` (node id → port on 127.0.0.1), listening on ``port``."""
    servers = "\n".join(
        f"    server {name} 127.0.0.1:{node_port} cookie {name} check inter {check_ms} fall 2 rise 2"
        for name, node_port in nodes.items()
    )
    return f"""global
    maxconn 4096

defaults
    mode http
    option http-server-close
    option redispatch
    retries 3
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout http-request 10s

frontend lapak
    bind 127.0.0.1:{port}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    cookie lapak_node insert indirect nocache
{servers}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HAProxy:
    """One ``haproxy`` process in the foreground, its configuration in a temporary folder."""

    def __init__(self, folder: Path, nodes: dict[str, int]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = self.folder / "haproxy.cfg"
        self.config.write_text(haproxy_config(self.port, nodes))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> "HAProxy":
        check = subprocess.run([HAPROXY, "-c", "-f", str(self.config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused its configuration: {check.stdout}{check.stderr}")
        with open(self.folder / "haproxy.log", "wb") as log:
            self.proc = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(self.config)], stdout=subprocess.DEVNULL, stderr=log, **child_options()
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"haproxy did not start (see {self.folder / 'haproxy.log'})") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
