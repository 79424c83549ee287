"""Configuration of one Lapak service instance.

Everything the application factory needs is in :class:`Config`; nothing is
read from the environment at import time, so tests build as many
independent apps as they like.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from signaling.core.vocabulary import AgentIdentity, KioskIdentity

@dataclass
class Config:
    """Settings of one service instance.

    ``kiosk_tokens`` and ``agent_tokens`` map a secret token to the identity
    it authenticates; they are the credentials until accounts exist.
    ``media_workers`` is the number of media worker processes; 0 runs the
    media router inside the control process (handy for tests).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = field(default_factory=lambda: Path("lapak-data"))
    #: The records database (``--database``): a ``postgresql://user@host:port/db`` URL, or
    #: None for SQLite in ``data_dir`` (:mod:`server.database`). Documents stay in ``data_dir``.
    database_url: str | None = None
    kiosk_tokens: dict[str, KioskIdentity] = field(default_factory=dict)
    agent_tokens: dict[str, AgentIdentity] = field(default_factory=dict)
    media_workers: int = 0
    #: Router class as "module:Class" (benchmarks swap in a transcoding
    #: variant); None is the forwarding router.
    media_router: str | None = None
    #: Largest socket.io event payload accepted, in bytes. The socket transport
    #: drops a connection whose message exceeds this plus an 8 KiB envelope
    #: (signaling/server.py).
    max_event_bytes: int = 64 * 1024
    #: Largest HTTP request body read whole (document uploads stream with their own limit).
    max_message_bytes: int = 1024 * 1024
    #: Local addresses offered to peers as ICE host candidates (None: every
    #: non-loopback interface). Tests and the demo use ["127.0.0.1"].
    ice_addresses: list[str] | None = None
    #: How long a session waits for a peer that dropped to come back (s).
    reconnect_grace: float = 60.0
    #: May a kiosk start its own session (self-service booths, demo)? In a
    #: branch the security officer starts them.
    kiosk_self_start: bool = True
    #: Secret for signing browser cookies.
    secret: str = field(default_factory=lambda: secrets.token_hex(32))
    #: Largest document photo a kiosk may upload (bytes).
    max_document_bytes: int = 8 * 1024 * 1024
    #: Days documents and recordings are kept, unless a supervisor sets another number.
    retention_days: int = 90
    #: How often the server looks for booths revoked and accounts disabled by
    #: another process (``lapak admin``), in seconds (signaling/access.py).
    access_check_seconds: float = 0.25
    #: Bearer token a metrics scraper sends for ``/metrics`` (None: supervisors only).
    metrics_token: str | None = None
    #: (host, port) of a second listener that serves only ``/metrics``.
    metrics_listen: tuple[str, int] | None = None
    #: Addresses of reverse proxies whose ``X-Forwarded-For`` is believed
    #: (``--trusted-proxy``); from anyone else the header is ignored.
    trusted_proxies: tuple[str, ...] = ()
    #: The online door (members at home, docs/online-claims.md): ``--smtp URL`` for its e-mails (None: mails
    #: wait in the outbox), the address its links start with (None: the address the member used), and
    #: interviews offered per day (``--interview-capacity``; a supervisor may set a day's own number).
    smtp_url: str | None = None
    public_url: str | None = None
    interview_capacity: int = 32
    #: Redis holding the live state shared by several nodes (``--redis``); None: in memory, one node.
    redis_url: str | None = None
    #: This node's name in the shared state (``--node-id``; default host name and port).
    node_id: str = "local"
    #: Seconds between this node's heartbeats, and how long one lasts: a node that stops beating is
    #: dead to the others ``node_ttl`` seconds later and its rooms move (docs/operations.md, "Several nodes").
    node_heartbeat: float = 1.0
    node_ttl: float = 3.0
    #: Seconds this node's event loop may run behind (smoothed) before it starts no new session until it
    #: has caught up (``--busy-lag``; signaling/overload.py); 0: never refuse for load.
    busy_lag: float = 1.0
    #: The service's clock (UNIX seconds): every stored time, the board, reports
    #: and their WIB days read it. Tests pass their own to fix the time of day.
    clock: Callable[[], float] = field(default=time.time)

    # -- across real networks (issue 13): TLS, TURN, NAT, port range ----------
    #: Certificate and key files (PEM) to serve HTTPS and secure WebSockets directly.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: TURN servers handed to clients (``server.turn.TurnUrl``), with coturn's shared secret.
    turn_urls: tuple = ()
    turn_secret: str | None = None
    #: Seconds the TURN credentials a client is handed stay valid (a working day).
    turn_ttl: int = 9 * 3600
    #: Addresses put in the server's host candidates instead of the bound one (server behind NAT).
    announce_addresses: tuple[str, ...] = ()
    #: Inclusive (first, last) UDP port range of every media socket (None: any ephemeral port).
    rtc_ports: tuple[int, int] | None = None

    def ice_servers(self, identity: str) -> dict:
        """``{"ice_servers": [...], "expires_at": ...}`` with fresh TURN credentials for ``identity``."""
        from .turn import IceServers

        return IceServers(self.turn_urls, self.turn_secret, self.turn_ttl, self.clock).for_identity(identity)

    @property
    def database_path(self) -> Path:
        return Path(self.data_dir) / "lapak.sqlite3"

    @property
    def database_target(self) -> str | Path:
        """What :class:`server.database.Database` opens: ``database_url``, else the SQLite file."""
        return self.database_url or self.database_path

    def kiosk_for(self, token: str | None) -> KioskIdentity | None:
        if not token:
            return None
        return self.kiosk_tokens.get(token)

    def agent_for(self, token: str | None) -> AgentIdentity | None:
        if not token:
            return None
        return self.agent_tokens.get(token)
