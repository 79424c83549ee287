"""The media router the hub talks to when there are several nodes: each room on its own node.

:class:`ClusterRouter` implements :class:`~signaling.core.media.MediaRouter`.
A room (an agent and their members) is held by one node's media workers, as
one worker holds it inside a node; which node is in Redis
(:class:`~signaling.nodes.registry.NodeRegistry`, ``rooms``). A command for a
room runs on this node's own router (the worker pool) when this node holds
the room, and is sent to the holder over :class:`~signaling.nodes.relay.MediaRelay`
otherwise, so a booth whose socket is on node A offers to the room on node B,
gets B's answer, and its media goes to B's addresses (B's ICE candidates).

A room nobody holds yet is claimed by the node that first routes it (the
agent's node, since an agent's console connecting routes its room), unless
this node is draining: then by the live node holding fewest rooms. The first
claim stands (``HSETNX``). A room stays where it is while its node lives;
moving it is :mod:`signaling.nodes.watch`'s (a dead node's rooms, a draining
node's). Rooms this node served but no longer holds are closed here
(:meth:`ClusterRouter.fence`), so a node that lost its rooms while it was cut
off does not keep forwarding their media.
"""

from __future__ import annotations

import logging
from typing import Any

from ..core.errors import WorkerError
from ..core.media import COMMANDS as MEDIA_COMMANDS
from ..core.matrix import RoomState
from .registry import NodeRegistry
from .relay import MediaRelay

logger = logging.getLogger(__name__)

#: Commands that create or use a room (a room nobody holds is claimed for them).
CLAIMING = frozenset({"add_peer", "set_room"})


class ClusterRouter:
    """``MediaRouter`` over several nodes: this node's rooms on ``local``, the others' forwarded."""

    def __init__(self, local: Any, registry: NodeRegistry, url: str, *, prefix: str = "lapak:") -> None:
        self.local = local
        self.registry = registry
        self.node = registry.node
        self.relay = MediaRelay(url, self.node, self._serve, prefix=prefix)
        #: Rooms this node's media workers hold (closed when they move away).
        self.served: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        """What this node's own router offers beyond the interface (its worker ``pids``, its ``rooms``)."""
        if name == "local":
            raise AttributeError(name)
        return getattr(self.local, name)

    @property
    def on_event(self):
        return self.local.on_event

    @on_event.setter
    def on_event(self, sink) -> None:
        def guarded(event: dict) -> None:
            # The hub reads the shared state for each event; with Redis away that fails, and the
            # media worker that reported it must go on forwarding regardless.
            try:
                sink(event)
            except Exception as exc:  # noqa: BLE001
                logger.debug("media event %s not handled: %r", event.get("event"), exc)

        self.local.on_event = guarded

    async def start(self) -> None:
        if hasattr(self.local, "start"):
            await self.local.start()
        await self.relay.start()

    # -- where a room is ------------------------------------------------------------------
    def owner(self, room_id: str, *, claim: bool) -> str | None:
        """The node holding ``room_id``; with ``claim``, a room nobody holds is given one first."""
        owner = self.registry.owner(room_id)
        if owner is None and claim:
            target = self.node
            if self.node in self.registry.draining():
                target = self.registry.least_loaded(self.registry.takes_rooms()) or self.node
            owner = self.registry.claim(room_id, target)
        return owner

    async def _run(self, cmd: str, room_id: str, **args: Any) -> Any:
        owner = self.owner(room_id, claim=cmd in CLAIMING)
        if owner is None or owner == self.node:
            return await self._local(cmd, room_id=room_id, **args)
        return await self.relay.call(owner, cmd, room_id=room_id, **args)

    async def _serve(self, cmd: str, args: dict) -> Any:
        """Another node's request for a room this node holds."""
        room_id = args.get("room_id")
        if cmd not in COMMANDS or not isinstance(room_id, str):
            raise WorkerError(f"not a media command: {cmd!r}")
        if self.registry.owner(room_id) != self.node:
            raise WorkerError(f"room {room_id} is not on node {self.node}")
        return await self._local(cmd, **args)

    async def _local(self, cmd: str, **args: Any) -> Any:
        room_id = args["room_id"]
        if cmd == "close_room":
            self.served.discard(room_id)
            self.registry.release(room_id)
        elif cmd in CLAIMING:
            self.served.add(room_id)
        return await getattr(self.local, cmd)(**args)

    async def _tell(self, cmd: str, room_id: str, **args: Any) -> None:
        """A command whose loss the room survives (its routing is sent again when it moves): not waited for
        when another node holds the room (the holder carries out a room's commands in the order sent)."""
        try:
            owner = self.owner(room_id, claim=cmd in CLAIMING)
            if owner is None or owner == self.node:
                await self._local(cmd, room_id=room_id, **args)
            else:
                await self.relay.tell(owner, cmd, room_id=room_id, **args)
        except WorkerError as exc:
            logger.warning("%s for room %s not carried out: %s", cmd, room_id, exc)

    # -- MediaRouter ------------------------------------------------------------------------
    async def add_peer(self, room_id: str, peer_id: str, role: str, offer_sdp: str) -> str:
        return await self._run("add_peer", room_id, peer_id=peer_id, role=role, offer_sdp=offer_sdp)

    async def remove_peer(self, room_id: str, peer_id: str) -> None:
        await self._tell("remove_peer", room_id, peer_id=peer_id)

    async def set_room(self, room_id: str, state: RoomState | dict) -> None:
        data = state.to_dict() if isinstance(state, RoomState) else state
        await self._tell("set_room", room_id, state=data)

    async def record_start(self, room_id: str, peer_id: str, path: str) -> dict:
        return await self._run("record_start", room_id, peer_id=peer_id, path=path)

    async def record_stop(self, room_id: str, peer_id: str) -> dict:
        return await self._run("record_stop", room_id, peer_id=peer_id)

    async def close_room(self, room_id: str) -> None:
        await self._tell("close_room", room_id)

    async def stats(self) -> dict:
        """This node's own media workers' figures (each node reports its own rooms)."""
        return await self.local.stats()

    async def fence(self) -> list[str]:
        """Close the rooms this node serves but no longer holds (taken while it was cut off, or handed over)."""
        served = sorted(self.served)
        gone = [room for room, owner in zip(served, self.registry.owners(served)) if owner != self.node]
        for room in gone:
            self.served.discard(room)
            await self.local.close_room(room)
        return gone

    async def close(self) -> None:
        await self.relay.close()
        await self.local.close()


#: The commands another node may ask for (the MediaRouter's, less ``stats``, which each node answers for itself).
COMMANDS = frozenset(MEDIA_COMMANDS) - {"stats"}
