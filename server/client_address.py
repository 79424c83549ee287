"""Where a request comes from: the peer's address, or, behind a trusted proxy, the client it names.

Behind nginx or Caddy every request arrives from the proxy's address. The
proxy names the real client in ``X-Forwarded-For``, but anyone can send that
header, so it is believed only when the request comes from an address given
with ``--trusted-proxy`` (:attr:`server.config.Config.trusted_proxies`,
addresses or networks such as ``10.0.0.0/8``). Then the client is the
right-most entry of the header that is not itself a trusted proxy: entries
left of it were written by the client and prove nothing. Without the option
the header is ignored and the address is the TCP peer's.

Sign-in limits and the audit trail use this address. Socket.io connections
carry the aiohttp request in their WSGI-like environ (its ``REMOTE_ADDR`` is
always 127.0.0.1 in python-engineio), so :func:`environ_address` reads it
from there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from aiohttp import web

from .appkeys import CONFIG

UNKNOWN = "unknown"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(remote: str | None, forwarded_for: str | None, trusted: Iterable[str]) -> str:
    """The client's address: ``remote``, or the right-most untrusted ``X-Forwarded-For`` entry from a trusted proxy."""
    if not remote:
        return UNKNOWN
    networks = _networks(tuple(trusted))
    peer = _ip(remote)
    if not networks or peer is None or not any(peer in n for n in networks) or not forwarded_for:
        return remote
    for entry in reversed(forwarded_for[:2000].split(",")):
        ip = _ip(entry)
        if ip is None:
            return remote  # a proxy wrote something that is not an address: say the proxy, not the garbage
        if not any(ip in n for n in networks):
            return str(ip)
    return remote


def request_address(request: web.Request) -> str:
    """The address of an HTTP request's client (see the module's description)."""
    config = request.app.get(CONFIG)
    trusted = config.trusted_proxies if config is not None else ()
    return client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted)


def environ_address(environ: dict[str, Any] | None) -> str:
    """The address of a socket.io connection's client, from the aiohttp request in its environ."""
    request = (environ or {}).get("aiohttp.request")
    return request_address(request) if isinstance(request, web.Request) else UNKNOWN
