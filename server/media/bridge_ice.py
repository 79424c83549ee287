"""The bridge's ICE half: how aioice gathers the server's candidates and how long it waits for consent.

Part of :mod:`server.media.bridge` (which re-exports these and checks, in
``check_compatibility``, that what they use is there); split off only to
keep each module short. Nothing else touches aioice's internals.

- :func:`replace_candidate_gathering`: host sockets bound in a fixed UDP
  port range (``--rtc-ports``) and host candidates that announce another
  address than the bound one (``--announce-address``);
- :func:`selected_pair`: the nominated pair's candidate types (relayed or not);
- :func:`set_consent_timing`: the RFC 7675 consent checks' interval and the
  failures that end a connection (tests shorten the ~30 s timeout);
- :func:`on_consent_lost`: be told when those checks gave up. aioice then
  closes its connection, and aiortc turns that into a peer connection that
  is ``closed``, not ``failed`` (its DTLS transport sees the ICE connection
  end and closes the peer connection before the ICE transport reports
  ``failed``), which looks like a deliberate close.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

#: What this half uses (module, names), checked by ``bridge.check_compatibility``.
NEEDED = (
    ("aioice.ice:Connection", ("get_component_candidates", "query_consent")),
    ("aioice.ice", ("StunProtocol", "candidate_foundation", "candidate_priority", "CONSENT_INTERVAL", "CONSENT_FAILURES")),
    ("aioice.turn", ("UDP_SOCKET_BUFFER_SIZE",)),
)


class Network(Protocol):
    """What the gathering needs to know (``server.media.ice.MediaNetwork`` fits)."""

    ports: tuple[int, int] | None
    announce: tuple[str, ...]


def _family(address: str) -> int:
    return ipaddress.ip_address(address.split("%")[0]).version


async def _bind_in_range(connection: Any, component: int, address: str, ports: tuple[int, int]):
    """A host socket for ``address`` on a free port of ``ports`` (its candidate), or None if all are taken."""
    import aioice.ice as ice
    from aioice.candidate import Candidate

    loop = asyncio.get_running_loop()
    first, last = ports
    count = last - first + 1
    start = random.randrange(count)  # spread the peers over the range, and the workers sharing it
    for i in range(count):
        port = first + (start + i) % count
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: ice.StunProtocol(connection), local_addr=(address, port)
            )
        except OSError:
            continue
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, ice.turn.UDP_SOCKET_BUFFER_SIZE)
        host, bound = transport.get_extra_info("sockname")[:2]
        protocol.local_candidate = Candidate(
            foundation=ice.candidate_foundation("host", "udp", host),
            component=component,
            transport="udp",
            priority=ice.candidate_priority(component, "host"),
            host=host,
            port=bound,
            type="host",
        )
        connection._protocols.append(protocol)
        return protocol.local_candidate
    logger.error("no free UDP port in --rtc-ports %d-%d on %s: this peer gets no candidate there", first, last, address)
    return None


def _announced(candidates: list, announce: tuple[str, ...]) -> list:
    """Host candidates saying the announced addresses of their family instead of the bound one.

    The first announced address of a family replaces the bound one (the
    socket and the pairing stay the bound address's); any further one is an
    extra candidate on the same socket.
    """
    from aioice.candidate import Candidate
    import aioice.ice as ice

    out = []
    for candidate in candidates:
        same = [a for a in announce if candidate.type == "host" and _family(a) == _family(candidate.host)]
        if not same:
            out.append(candidate)
            continue
        candidate.host = same[0]  # what the SDP says; ``_network_host`` (pairing) stays the bound one
        out.append(candidate)
        for extra in same[1:]:
            out.append(
                Candidate(
                    foundation=ice.candidate_foundation("host", "udp", extra),
                    component=candidate.component,
                    transport="udp",
                    priority=candidate.priority - 1,
                    host=extra,
                    port=candidate.port,
                    type="host",
                )
            )
    return out


def replace_candidate_gathering(network: Callable[[], Network | None]) -> None:
    """Make aioice bind host sockets in ``network().ports`` and announce ``network().announce``.

    ``network()`` is asked at each gathering; ``None`` (or no range and no
    announced address) leaves aioice's own gathering as it is.
    """
    import aioice.ice as ice

    original = ice.Connection.get_component_candidates
    if getattr(original, "lapak_gathering", False):
        return  # already installed (a module imported twice)

    async def get_component_candidates(self, component: int, addresses: list[str], timeout: int = 5) -> list:
        chosen = network()
        if chosen is None or (chosen.ports is None and not chosen.announce):
            return await original(self, component, addresses, timeout)
        own: list = []
        if chosen.ports is not None:
            for address in addresses:
                candidate = await _bind_in_range(self, component, address, chosen.ports)
                if candidate is not None:
                    own.append(candidate)
            addresses = []  # aioice still does STUN/TURN, which the server does not use
        candidates = own + await original(self, component, addresses, timeout)
        return _announced(candidates, chosen.announce) if chosen.announce else candidates

    get_component_candidates.lapak_gathering = True  # type: ignore[attr-defined]
    ice.Connection.get_component_candidates = get_component_candidates


def set_consent_timing(interval: float, failures: int) -> tuple[float, int]:
    """Check consent every ``interval`` s and give up after ``failures`` misses; returns the previous pair.

    aioice's default is 5 s and 6 misses (about 30 s). Applies to checks
    started afterwards, in this process.
    """
    import aioice.ice as ice

    previous = (ice.CONSENT_INTERVAL, ice.CONSENT_FAILURES)
    ice.CONSENT_INTERVAL, ice.CONSENT_FAILURES = interval, failures
    return previous


def on_consent_lost(transport, lost: Callable[[], None]) -> None:
    """Call ``lost()`` when the consent checks of the ICE connection under DTLS ``transport`` give up.

    Installed before ICE completes (aioice starts ``query_consent`` at the
    end of ``connect()``). Not called when the connection is closed on
    purpose (the checks are cancelled then), only when the peer stopped
    answering for ``CONSENT_FAILURES`` checks in a row: its network is gone.
    """
    connection = transport.transport._connection
    original = connection.query_consent

    async def query_consent() -> None:
        await original()  # returns only once consent expired (and the connection is closed)
        lost()

    connection.query_consent = query_consent


def selected_pair(pc) -> dict | None:
    """The nominated ICE pair of peer connection ``pc`` (max-bundle: one), or None before ICE completes.

    ``{"local": "host", "remote": "relay", "remote_address": [host, port]}``:
    the candidate types on each end, e.g. to show media goes through a TURN relay.
    """
    transceivers = pc.getTransceivers()
    if not transceivers or transceivers[0].receiver.transport is None:
        return None
    connection = transceivers[0].receiver.transport.transport._connection
    pair = connection._nominated.get(1)
    if pair is None:
        return None
    return {
        "local": pair.local_candidate.type,
        "remote": pair.remote_candidate.type,
        "remote_address": [pair.remote_addr[0], pair.remote_addr[1]],
    }
