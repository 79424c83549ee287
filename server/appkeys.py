"""Typed keys for what the application factory stores on the aiohttp app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .config import Config

if TYPE_CHECKING:  # pragma: no cover
    from signaling.access import Access
    from signaling.hub import Hub
    from signaling.server import SignalingServer
    from signaling.selfservice import SelfService

CONFIG: web.AppKey[Config] = web.AppKey("config", Config)
#: The signed-in staff user of a request (set by ``server.auth.require_role``).
USER: web.RequestKey = web.RequestKey("user")
HUB: web.AppKey["Hub"] = web.AppKey("hub")
SELFSERVICE: web.AppKey["SelfService"] = web.AppKey("selfservice")
#: Ends access that is no longer granted (signaling.access.Access).
ACCESS: web.AppKey["Access"] = web.AppKey("access")
#: The socket.io server; /metrics reads what its guards refused (``.refusals``).
SIGNALING: web.AppKey["SignalingServer"] = web.AppKey("signaling")
#: The watch that refuses new sessions while this node's loop runs far behind (absent with ``busy_lag`` 0).
OVERLOAD: web.AppKey = web.AppKey("overload")
#: This node among several (``--redis``; server/cluster.py): absent with one node.
CLUSTER: web.AppKey = web.AppKey("cluster")
