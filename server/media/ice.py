"""Which local addresses ICE offers as host candidates.

aiortc (through aioice) offers every interface address except loopback. A
branch deployment wants the one address kiosks can reach, and tests and the
demo want loopback only, so that no media ever leaves the machine. aioice has
no setting for this, so :func:`restrict_host_addresses` replaces its address
lookup for the whole process (the media router and headless clients are the
only ICE users in a process).
"""

from __future__ import annotations

from collections.abc import Sequence

import aioice.ice

_original = aioice.ice.get_host_addresses


def restrict_host_addresses(addresses: Sequence[str] | None) -> None:
    """Offer only ``addresses`` as ICE host candidates (``None``: aioice's default)."""
    if not addresses:
        aioice.ice.get_host_addresses = _original
        return
    chosen = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses
