"""Which local addresses ICE offers as host candidates.

aiortc (through aioice) offers every interface address except loopback. A
branch deployment wants the addresses kiosks can reach, and tests and the
demo want loopback only, so that no media ever leaves the machine. aioice
has no setting for this, so its address lookup is replaced once per process
by one that asks, in order:

1. the addresses set for the current asyncio task (:func:`use_host_addresses`:
   the router sets its own before answering an offer, a headless client its
   own before offering, so a server and clients in one process, as in tests,
   never see each other's choice);
2. the process-wide default (:func:`restrict_host_addresses`);
3. aioice's own lookup.

The server's side also has a *network* (:class:`MediaNetwork`): a fixed UDP
port range its sockets bind in (``--rtc-ports``) and the addresses its
candidates announce instead of the bound ones (``--announce-address``, a
server behind NAT). It is chosen the same way (task first, then process), so
headless clients sharing a process with a router (tests) keep aioice's
defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar

from . import bridge
from .network import MediaNetwork

_task_addresses: ContextVar[tuple[str, ...] | None] = ContextVar("lapak_ice_addresses", default=None)
_process_addresses: tuple[str, ...] | None = None


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = _task_addresses.get() or _process_addresses
    if not chosen:
        return _aioice_lookup(use_ipv4, use_ipv6)
    return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


_aioice_lookup = bridge.replace_host_addresses(_host_addresses)


_task_network: ContextVar[MediaNetwork | None] = ContextVar("lapak_media_network", default=None)
_process_network: MediaNetwork | None = None


def _network() -> MediaNetwork | None:
    return _task_network.get() or _process_network


bridge.replace_candidate_gathering(_network)


def set_process_network(network: MediaNetwork | None) -> None:
    """The port range and announced addresses of this process's media sockets (a media worker's)."""
    global _process_network
    _process_network = network if network is not None and not network.default else None


def use_network(network: MediaNetwork | None) -> None:
    """The same for ICE gathered in the current task (the in-process router; None: the process default)."""
    _task_network.set(network if network is not None and not network.default else None)


def restrict_host_addresses(addresses: Sequence[str] | None) -> None:
    """Offer only ``addresses`` in this process, unless a task chose its own (``None``: aioice's default)."""
    global _process_addresses
    _process_addresses = tuple(addresses) if addresses else None


def use_host_addresses(addresses: Sequence[str] | None) -> None:
    """Offer only ``addresses`` for ICE gathered in the current task (``None``: the process default)."""
    _task_addresses.set(tuple(addresses) if addresses else None)
