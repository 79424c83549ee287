"""The media router: rooms of peers, driven through a narrow command interface.

:class:`Router` implements :class:`signaling.core.media.MediaRouter`: the
commands declared there in (``add_peer`` with the client's offer, returning
the answer; ``set_room`` with the room's routing state; ``remove_peer``,
``close_room``, ``record_start``, ``record_stop``, ``stats``), the events
declared there out through ``on_event``. Nothing else crosses the boundary,
so the same interface is served in-process (tests) and by media worker
processes (:mod:`server.media.workers`), one per core, each room pinned to
one.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import Callable

from . import bridge
from .audio import FRAME_SAMPLES, SAMPLE_RATE, LoopSource, encode_loop, hold_melody
from signaling.core.matrix import HOLD, RoomState
from .network import MediaNetwork
from .peer import Peer
from .room import Room

logger = logging.getLogger(__name__)

EventSink = Callable[[dict], None]

TICK = FRAME_SAMPLES / SAMPLE_RATE  # 20 ms


class Router:
    """All rooms of one process, and the 20 ms clock of its server-made audio."""

    #: The peer connection class (a benchmark swaps in a transcoding one).
    peer_class: type[Peer] = Peer

    def __init__(
        self,
        on_event: EventSink | None = None,
        ice_addresses: list[str] | None = None,
        network: MediaNetwork | None = None,
    ) -> None:
        bridge.check_compatibility()
        self.rooms: dict[str, Room] = {}
        #: Addresses offered to peers as ICE candidates (None: the process default).
        self.ice_addresses = ice_addresses
        #: Port range and announced addresses of its peers' sockets (None: the process default).
        self.network = network
        self.on_event: EventSink = on_event or (lambda event: None)
        self.hold = LoopSource(HOLD, encode_loop(hold_melody()))
        self._ticker: asyncio.Task | None = None
        self.started_at = time.monotonic()
        #: Recordings finished because their member left, until record_stop asks.
        self._finished: dict[tuple[str, str], dict] = {}
        #: Each room's newest routing number applied (``RoomState.seq``); kept after the room closes, so a
        #: routing overtaken on its way cannot open it again (one int per agent who had a room here).
        self._seq: dict[str, int] = {}

    # -- commands --------------------------------------------------------

    async def add_peer(self, room_id: str, peer_id: str, role: str, offer_sdp: str) -> str:
        """Create ``peer_id``'s peer connection in ``room_id``; return the answer SDP.

        A peer that already exists (a reconnect) is replaced: the new
        connection takes over its place in the routing, the old one closes.
        Raises :class:`~signaling.core.errors.OfferError` for an unusable offer.
        """
        self._ensure_ticker()
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = Room(room_id, self.hold, self._room_event)
        peer = self.peer_class(
            peer_id, role, on_state=lambda p, s: self._peer_state(room_id, p, s), ice_addresses=self.ice_addresses,
            network=self.network,
        )
        try:
            answer = await peer.answer(offer_sdp)
        except Exception:
            await peer.close()
            raise
        old = room.peers.get(peer_id)
        room.add(peer)
        if old is not None and old is not peer:
            await old.close()
        return answer

    async def remove_peer(self, room_id: str, peer_id: str) -> None:
        room = self.rooms.get(room_id)
        if room is None:
            return
        peer = room.remove(peer_id)
        if peer is not None:
            await peer.close()

    async def set_room(self, room_id: str, state: RoomState | dict) -> None:
        """Set the room's routing state; takes effect before this returns. A state older than the one
        applied (a lower ``seq``: made from an earlier read, on another node, and overtaken) is ignored."""
        if isinstance(state, dict):
            state = RoomState.from_dict(state)
        if state.seq:
            if state.seq < self._seq.get(room_id, 0):
                logger.info("room %s: routing %d ignored, %d applied", room_id, state.seq, self._seq[room_id])
                return
            self._seq[room_id] = state.seq
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = Room(room_id, self.hold, self._room_event)
        room.set_state(state)

    async def record_start(self, room_id: str, peer_id: str, path: str) -> dict:
        """Start recording member ``peer_id`` (their camera and voice, and their agent's voice)."""
        room = self.rooms.get(room_id)
        if room is None:
            raise KeyError(f"no room {room_id!r}")
        room.record_start(peer_id, path)
        return {"path": path}

    async def record_stop(self, room_id: str, peer_id: str) -> dict:
        """Finish member ``peer_id``'s recording; returns ``{"path", "seconds", "video_frames"}``.

        If the member already left (the recording was finished then), returns
        that result.
        """
        finished = self._finished.pop((room_id, peer_id), None)
        if finished is not None:
            return finished
        room = self.rooms.get(room_id)
        if room is None:
            raise KeyError(f"no room {room_id!r}")
        return room.record_stop(peer_id)

    async def close_room(self, room_id: str) -> None:
        room = self.rooms.pop(room_id, None)
        if room is None:
            return
        for peer_id in list(room.peers):
            peer = room.remove(peer_id)
            if peer is not None:
                await peer.close()

    async def stats(self) -> dict:
        return {
            "rooms": {room_id: room.stats() for room_id, room in self.rooms.items()},
            "switch_latencies": [
                lat for room in self.rooms.values() for lat in room.switch_latencies
            ],
        }

    async def close(self) -> None:
        for room_id in list(self.rooms):
            await self.close_room(room_id)
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    # -- internals ---------------------------------------------------------

    def _room_event(self, event: dict) -> None:
        if event.get("event") == "recording.finished":
            result = {k: v for k, v in event.items() if k not in ("event", "room", "peer")}
            self._finished[(event["room"], event["peer"])] = result
            if len(self._finished) > 1000:  # nobody asked for the oldest
                self._finished.pop(next(iter(self._finished)))
        self.on_event(event)

    def _peer_state(self, room_id: str, peer: Peer, state: str) -> None:
        room = self.rooms.get(room_id)
        if room is None or room.peers.get(peer.peer_id) is not peer:
            return  # a replaced or removed connection: its state no longer matters
        self.on_event({"event": "peer.state", "room": room_id, "peer": peer.peer_id, "state": state})

    def _ensure_ticker(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._tick_forever())

    async def _tick_forever(self) -> None:
        """Every 20 ms: one packet of hold audio, one frame of each room's mix."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += TICK
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -5 * TICK:
                next_at = loop.time()  # fell far behind: do not burst
            try:
                self.hold.tick()
                for room in list(self.rooms.values()):
                    room.tick()
            except Exception:  # keep the clock running whatever one room does
                logger.exception("media tick failed")


def load_router_class(path: str | None) -> type[Router]:
    """The router class named ``"module:Class"`` (``None``: :class:`Router`)."""
    if not path:
        return Router
    module, _, name = path.partition(":")
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, Router)):
        raise TypeError(f"{path} is not a Router")
    return cls
