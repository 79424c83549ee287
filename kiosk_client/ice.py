"""The headless clients' ICE configuration: the TURN servers the server hands out (``media.ice``).

Before each new peer connection a headless kiosk or agent asks for fresh
ICE servers, as the pages do (docs/protocol.md): credentials are
time-limited, so a retry after a failure gets new ones. ``relay_only``
forces relayed media (``--relay-only``), as a booth behind a firewall that
lets nothing but the TURN server through would need.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy

logger = logging.getLogger(__name__)


def configuration(ice_servers: list[dict], relay_only: bool = False) -> RTCConfiguration:
    """An aiortc configuration from the browser-shaped ``iceServers`` (aiortc uses the first TURN URL)."""
    servers = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in ice_servers
    ]
    return RTCConfiguration(
        iceServers=servers,
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
    )


async def fetch(call: Callable[..., Awaitable[dict]], relay_only: bool = False) -> RTCConfiguration:
    """Ask the server (``media.ice``) and build the configuration; without an answer, no ICE servers."""
    try:
        ack = await call("media.ice", {})
    except Exception as exc:  # a timeout: try without TURN, as before it existed
        logger.warning("media.ice failed: %r", exc)
        ack = {}
    servers = ack.get("ice_servers", []) if ack.get("ok") else []
    if relay_only and not servers:
        logger.warning("--relay-only, but the server hands out no TURN server: media cannot connect")
    return configuration(servers, relay_only)


class NoRelay(RuntimeError):
    """``--relay-only``, but the offer has no relay candidate: the TURN server refused or cannot be reached."""


def check_relayed(sdp: str, relay_only: bool) -> None:
    """Raise :class:`NoRelay` for a relay-only offer without a relay candidate (retry with fresh credentials)."""
    if relay_only and " typ relay" not in sdp:
        raise NoRelay("no relay candidate: the TURN server refused the credentials or cannot be reached")
