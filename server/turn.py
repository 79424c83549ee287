"""TURN for the pages and headless clients: coturn's time-limited REST credentials.

coturn with ``use-auth-secret`` and ``static-auth-secret=S`` accepts a
username ``<expiry unix time>:<identity>`` whose password is
``base64(HMAC-SHA1(S, username))`` until the expiry passes
(draft-uberti-behave-turn-rest). The server never hands out a static
password: each page and headless client asks for fresh credentials
(``media.ice``, docs/protocol.md) before each peer connection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: A working day: a booth or console opened in the morning still relays in the evening.
DEFAULT_TTL = 9 * 3600

_URL = re.compile(
    r"^(?P<scheme>turns?):(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?$"
)


class TurnUrlError(ValueError):
    """A ``--turn-url`` that does not parse."""


@dataclass(frozen=True)
class TurnUrl:
    """One TURN server as RFC 7065 writes it: ``turn:host:3478?transport=udp``, ``turns:host:5349``."""

    url: str
    secure: bool
    host: str
    port: int
    transport: str


def parse_turn_url(text: str) -> TurnUrl:
    """Parse one ``--turn-url``; raises :class:`TurnUrlError` saying what is wrong."""
    found = _URL.match(text.strip())
    if not found:
        raise TurnUrlError(
            f"{text!r} is not a TURN URL: expected turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT]"
        )
    secure = found["scheme"] == "turns"
    port = int(found["port"] or (5349 if secure else 3478))
    if not 0 < port < 65536:
        raise TurnUrlError(f"{text!r}: port {port} is out of range")
    transport = found["transport"] or ("tcp" if secure else "udp")
    if secure and transport != "tcp":
        raise TurnUrlError(f"{text!r}: turns: runs over TLS, that is TCP only")
    return TurnUrl(text.strip(), secure, found["host"].strip("[]"), port, transport)


def credentials(secret: str, identity: str, ttl: int, now: float) -> tuple[str, str]:
    """(username, password) valid until ``now + ttl`` for coturn's ``static-auth-secret=secret``."""
    username = f"{int(now) + int(ttl)}:{identity}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


class IceServers:
    """The ``iceServers`` a client gets: every TURN URL, with credentials made for the asking identity."""

    def __init__(self, urls: Sequence[TurnUrl], secret: str | None, ttl: int, clock: Callable[[], float]) -> None:
        self.urls = list(urls)
        self.secret = secret
        self.ttl = ttl
        self.clock = clock

    def for_identity(self, identity: str) -> dict:
        """``{"ice_servers": [...], "expires_at": t}`` in the browser's ``RTCIceServer`` shape (empty without TURN)."""
        if not self.urls or not self.secret:
            return {"ice_servers": [], "expires_at": None}
        now = self.clock()
        username, password = credentials(self.secret, identity, self.ttl, now)
        entry = {"urls": [u.url for u in self.urls], "username": username, "credential": password}
        return {"ice_servers": [entry], "expires_at": int(now) + int(self.ttl)}
