"""Each node's watch: its heartbeat, and what it takes over when another node dies or drains.

Every ``heartbeat`` seconds :class:`NodeWatch` (two tasks it keeps, the
heartbeat apart from the takeover pass so that a long pass never delays a beat;
cancelled and awaited by :meth:`NodeWatch.close`):

1. sets this node's heartbeat key with a TTL of ``ttl`` seconds
   (:meth:`~.registry.NodeRegistry.beat`). A node killed without goodbye stops
   beating; ``ttl`` seconds later it is dead to the others.
2. takes the rooms of dead nodes: each live node that is not draining tries,
   and :meth:`~.registry.NodeRegistry.take` (one Lua script: the room is still
   the dead node's and the dead node still has no heartbeat) lets exactly one
   win. A room goes preferably to the node its agent's console is on now. The
   winner restarts the room's media (:meth:`RoomHost.room_moved`: a new media
   attempt for every session of the room, ``media.restart`` to every peer that
   is signed in; the same sessions);
3. marks offline the booths and consoles whose sockets were on a dead node
   (compare-and-set: one that already came back on a live node stays), which
   starts their grace periods on this node;
4. adopts the grace deadlines a dead node had armed (one adopter wins), and
   arms them for the time they have left;
5. when this node is draining (``lapak drain``), hands each of its rooms to
   the live node holding fewest rooms, at once, and restarts their media there;
6. closes rooms this node still serves but no longer holds (:meth:`ClusterRouter.fence`).

A node judges the others only while its own heartbeat is fresh. When its own
loop (or Redis) stalled for longer than ``ttl - heartbeat``, another node's
heartbeat may have lapsed in the same stall (two nodes on one slow disk, a
Redis that paused): the watch skips judging until it has beaten again and the
others have had two more periods to beat, so a stall is never taken for a death.

When Redis cannot be reached the heartbeat fails: the node stops taking new
sessions (:meth:`RoomHost.set_accepting`, which tells its screens), its media
workers keep forwarding the media of sessions already running, and it tries
again every beat. When Redis answers again it takes sessions again, and waits
one ``ttl`` before judging other nodes (their heartbeats lapsed in the outage
too, and they beat again within one period).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

import redis

from .registry import NodeRegistry
from .router import ClusterRouter

logger = logging.getLogger(__name__)

#: Seconds between heartbeats, and a heartbeat's lifetime: a node is dead ``TTL`` s after its last beat.
HEARTBEAT = 1.0
TTL = 3.0


class RoomHost(Protocol):
    """What the watch asks of this node's hub (:class:`signaling.hub.nodes.NodeEvents`)."""

    async def room_moved(self, agent_id: str, reason: str) -> None: ...
    async def booth_node_lost(self, kiosk_id: str) -> None: ...
    async def agent_node_lost(self, agent_id: str) -> None: ...
    def adopt_grace(self, key: str) -> None: ...
    async def set_accepting(self, accepting: bool) -> None: ...


class NodeWatch:
    """This node's heartbeat and takeover loop."""

    def __init__(
        self, registry: NodeRegistry, router: ClusterRouter, host: RoomHost, *,
        heartbeat: float = HEARTBEAT, ttl: float = TTL, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.router = router
        self.host = host
        self.node = registry.node
        self.heartbeat = heartbeat
        self.ttl = ttl
        #: False while Redis cannot be reached.
        self.connected = True
        #: Rooms this node took from dead nodes or handed over while draining (tests and /metrics read them).
        self.taken: list[str] = []
        self.handed: list[str] = []
        self._clock = clock
        self._quiet_until = 0.0
        #: When this node's last heartbeat was written (``clock``); None until this watch has beaten.
        self._last_beat: float | None = None
        self._scanned = False
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        self.registry.beat(self.ttl)
        self._last_beat = self._clock()
        loop = asyncio.get_running_loop()
        # Two kept tasks: the heartbeat never waits for a takeover pass (which may wait on media).
        self._tasks = [
            loop.create_task(self._every(self.beat), name=f"node heartbeat {self.node}"),
            loop.create_task(self._every(self.tick), name=f"node watch {self.node}"),
        ]

    async def _every(self, step) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await step(loop.time())
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad pass must not end the watch
                logger.exception("node %s: %s failed", self.node, getattr(step, "__name__", step))

    def _stalled(self, now: float) -> bool:
        """True when this node has not beaten for long enough that another's heartbeat may have lapsed with it."""
        return self._last_beat is not None and now - self._last_beat > self.ttl - self.heartbeat

    async def beat(self, now: float) -> None:
        """Beat; notice a stall of this node's own, and Redis lost and back (this node then stops or starts
        taking sessions)."""
        try:
            self.registry.beat(self.ttl)
        except (redis.RedisError, OSError) as exc:
            if self.connected:
                logger.error("node %s: Redis unreachable (%s): taking no new sessions", self.node, exc)
                self.connected = False
                await self.host.set_accepting(False)
            return
        done = self._clock()
        if self._stalled(done):
            logger.warning("node %s: no heartbeat for %.1f s (this node or Redis stalled): judging no other node "
                           "until they have beaten again", self.node, done - self._last_beat)
            self._quiet_until = max(self._quiet_until, done + 2 * self.heartbeat)
        self._last_beat = done
        if not self.connected:
            logger.warning("node %s: Redis reachable again: taking sessions", self.node)
            self.connected = True
            self._quiet_until = now + self.ttl  # the others' heartbeats lapsed too: let them beat first
            await self.host.set_accepting(True)

    async def tick(self, now: float) -> None:
        """One pass: take over what dead nodes left, hand over while draining, close what moved away."""
        if not self.connected:
            return
        await self.router.fence()
        if now < self._quiet_until or self._stalled(now):
            return  # just back from an outage or a stall of this node's own: let the others beat first
        alive = self.registry.alive()
        draining = self.registry.draining()
        if self.node in draining:
            await self._hand_over(alive - draining - {self.node})
        else:
            await self._take_rooms(alive, draining)
        dead = self._dead(alive)
        if not dead:
            return
        await self._release_presence(dead)
        for key, node in self.registry.graces_of(dead):
            if self.registry.adopt_grace(key, node):
                self.host.adopt_grace(key)
        named = self._named_nodes()
        for node in dead - named:
            self.registry.forget(node)  # all it held has moved: later passes need not scan for it

    def _dead(self, alive: set[str]) -> set[str]:
        """Nodes that beat once and are gone. One set read per pass; the state's tables are scanned once at start
        (nodes named there from before this node started) and again only while some node is dead."""
        known = self.registry.known()
        if not self._scanned:
            named = self._named_nodes() - known
            self.registry.remember(named)
            known |= named
            self._scanned = True
        return known - alive - {self.node}

    def _named_nodes(self) -> set[str]:
        """Every node named in rooms, presence or grace ownership."""
        names = set(self.registry.rooms().values())
        for table in ("kiosks", "agent:node", "grace-node"):
            names |= set(self.registry.redis.hvals(self.registry.prefix + table))
        names.discard("")
        return names

    async def _take_rooms(self, alive: set[str], draining: set[str]) -> None:
        takers = alive - draining
        for room, owner in sorted(self.registry.rooms().items()):
            if owner in alive:
                continue
            agent_node = self.registry.redis.hget(self.registry.prefix + "agent:node", room)
            if agent_node in takers and agent_node != self.node:
                continue  # the agent's own node takes it
            if self.registry.take(room, owner):
                logger.warning("node %s: took room %s of dead node %s", self.node, room, owner)
                self.taken.append(room)
                await self.host.room_moved(room, "media_restarted")

    async def _hand_over(self, takers: set[str]) -> None:
        for room, owner in sorted(self.registry.rooms().items()):
            if owner != self.node:
                continue
            target = self.registry.least_loaded(takers)
            if target is None:
                return  # nowhere to go: the rooms stay until another node is up
            if self.registry.hand_over(room, target):
                logger.warning("node %s (draining): room %s handed to %s", self.node, room, target)
                self.handed.append(room)
                await self.router.fence()
                await self.host.room_moved(room, "media_restarted")

    async def _release_presence(self, dead: set[str]) -> None:
        for kiosk_id, node in self.registry.presence_on("kiosks", dead):
            if self.registry.release_presence("kiosks", kiosk_id, node):
                await self.host.booth_node_lost(kiosk_id)
        for agent_id, node in self.registry.presence_on("agent:node", dead):
            if self.registry.release_presence("agent:node", agent_id, node):
                await self.host.agent_node_lost(agent_id)

    async def close(self) -> None:
        """Stop beating; a clean stop removes the heartbeat at once."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        with contextlib.suppress(redis.RedisError, OSError):
            self.registry.leave()
