"""Wiring several nodes: the room registry, the cluster media router and the node watch (``--redis``).

:func:`build_cluster` wraps this node's own media router (its worker pool) in
a :class:`~signaling.nodes.router.ClusterRouter` and makes the
:class:`~signaling.nodes.watch.NodeWatch` that beats and takes over;
:class:`Cluster` starts and stops them with the app and answers ``/healthz``
(503 while the node drains, so the load balancer sends it no new sockets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from signaling.nodes.registry import NodeRegistry
from signaling.nodes.router import ClusterRouter
from signaling.nodes.watch import NodeWatch

from .config import Config


@dataclass
class Cluster:
    """This node among several: its registry, router and watch."""

    registry: NodeRegistry
    router: ClusterRouter
    watch: NodeWatch | None = None

    def watch_hub(self, hub: Any, config: Config) -> None:
        self.watch = NodeWatch(self.registry, self.router, hub, heartbeat=config.node_heartbeat, ttl=config.node_ttl)

    async def start(self) -> None:
        if self.watch is not None:
            await self.watch.start()

    async def stop(self) -> None:
        if self.watch is not None:
            await self.watch.close()

    def health(self) -> web.Response:
        """``/healthz``: 200, or 503 while this node drains (no new sockets; its rooms are moving)."""
        try:
            draining = self.registry.node in self.registry.draining()
        except Exception:  # noqa: BLE001 - Redis away: the node still serves the sockets it has
            draining = False
        body = {"ok": not draining, "node": self.registry.node, "draining": draining}
        return web.json_response(body, status=503 if draining else 200)


def build_cluster(config: Config, state: Any, local_router: Any) -> Cluster:
    """The cluster parts for a node on ``config.redis_url``, around ``local_router``."""
    registry = NodeRegistry(state.redis, config.node_id, prefix=state.prefix)
    return Cluster(registry, ClusterRouter(local_router, registry, config.redis_url, prefix=state.prefix))
