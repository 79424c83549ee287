"""Where the server's media sockets bind and what their candidates say (no aiortc import: the control process reads it)."""

from __future__ import annotations

from dataclasses import dataclass

#: Peer connections of a full room: the agent and six members (one socket each per ICE address: max-bundle, rtcp-mux).
PEERS_PER_ROOM = 7


@dataclass(frozen=True)
class MediaNetwork:
    """The server side's network settings for ICE.

    ``ports``: inclusive (first, last) UDP port range every host socket binds
    in (None: any ephemeral port). ``announce``: addresses put in the host
    candidates in place of the bound address of the same family (a server
    behind NAT; empty: the bound address).
    """

    ports: tuple[int, int] | None = None
    announce: tuple[str, ...] = ()

    @property
    def default(self) -> bool:
        return self.ports is None and not self.announce


def ports_needed(workers: int, addresses: int) -> int:
    """UDP ports a range must hold so that each worker can serve one full room on each ICE address."""
    return max(1, workers) * PEERS_PER_ROOM * max(1, addresses)
