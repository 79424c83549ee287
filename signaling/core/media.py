"""The media router's interface: the commands it takes and the events it sends.

The control process (hub) drives the media router only through
:class:`MediaRouter`; the in-process router (``server.media.router.Router``),
the worker pool that serves it from child processes
(``server.media.workers.WorkerPool``) and the benchmark's routers implement
it. The worker's wire protocol is derived from :data:`COMMANDS` (the members
of :class:`MediaCommands`), so adding a command here is the one edit that
makes it reach a worker.

Every command takes plain JSON-able arguments and returns a JSON-able result,
because the same call crosses a process boundary as one line of JSON.

Events out, through the router's ``on_event`` callback, are plain dicts; see
:data:`EVENTS`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .matrix import RoomState

#: Roles a peer connection is added with (``add_peer``'s ``role``).
PEER_ROLES = ("kiosk", "agent", "supervisor", "guest")

#: The events a media router sends, and the keys each carries besides ``event``.
EVENTS: dict[str, tuple[str, ...]] = {
    # a peer connection's state changed ("connecting", "connected", "failed", "closed", ...)
    "peer.state": ("room", "peer", "state"),
    # how loudly each member of the room speaks, 0..1, when it changes
    "room.levels": ("room", "levels"),
    # a member left while recorded: the file is finished (result as record_stop's)
    "recording.finished": ("room", "peer", "path", "seconds", "video_frames", "supervised"),
    # a peer's network quality (signaling.core.quality): {"level", "loss_up", "loss_down",
    # "jitter_up_ms", "jitter_down_ms", "rtt_ms"}; when the level changes, numbers at most every 10 s
    "peer.quality": ("room", "peer", "quality"),
    # the process serving the room died and was restarted: its peers must connect again
    "room.lost": ("room",),
}

EventSink = Callable[[dict], None]


class MediaCommands(Protocol):
    """The commands a media router takes (each one is also a worker wire command)."""

    async def add_peer(self, room_id: str, peer_id: str, role: str, offer_sdp: str) -> str:
        """Create ``peer_id``'s connection in ``room_id`` from its complete offer; return the answer SDP.

        A peer that already exists (a reconnect) is replaced. Raises
        :class:`~signaling.core.errors.OfferError` for an unusable offer.
        """
        ...

    async def remove_peer(self, room_id: str, peer_id: str) -> None:
        """Close ``peer_id``'s connection and take it out of the room's routing."""
        ...

    async def set_room(self, room_id: str, state: RoomState | dict) -> None:
        """Set the room's routing state (a :class:`RoomState` or its ``to_dict()``); in effect on return."""
        ...

    async def close_room(self, room_id: str) -> None:
        """Close every peer of the room and forget it."""
        ...

    async def record_start(self, room_id: str, peer_id: str, path: str) -> dict:
        """Start recording member ``peer_id`` (camera and voice, and their agent's voice) to ``path``."""
        ...

    async def record_stop(self, room_id: str, peer_id: str) -> dict:
        """Finish ``peer_id``'s recording; ``{"path", "seconds", "video_frames", "supervised"}``.

        ``supervised`` lists ``[start, end]`` seconds of the file during which a supervisor was in the room.
        """
        ...

    async def stats(self) -> dict:
        """Counters of every room and peer, and the routing switch latencies."""
        ...


@runtime_checkable
class MediaRouter(MediaCommands, Protocol):
    """A media router: the commands, the event callback, and shutdown."""

    #: Called with every event (see :data:`EVENTS`); the owner sets it.
    on_event: EventSink

    async def close(self) -> None:
        """Close every room and stop the router's own work."""
        ...


def _commands(protocol: type) -> tuple[str, ...]:
    return tuple(
        name
        for name, member in vars(protocol).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    )


#: The command names, in declaration order: the worker's wire table.
COMMANDS: tuple[str, ...] = _commands(MediaCommands)


def command_signature(name: str) -> inspect.Signature:
    """The declared signature of command (or ``close``) ``name``."""
    return inspect.signature(getattr(MediaRouter, name))


def conformance(router: Any) -> list[str]:
    """What ``router`` (a class or instance) lacks or declares differently; empty if it conforms."""
    problems = []
    for name in (*COMMANDS, "close"):
        member = getattr(router, name, None)
        if member is None or not inspect.iscoroutinefunction(member):
            problems.append(f"{name}: missing or not async")
            continue
        want = list(command_signature(name).parameters)
        have = list(inspect.signature(member).parameters)
        if isinstance(router, type):
            have = have[1:] if have and have[0] == "self" else have
        want = want[1:] if want and want[0] == "self" else want
        if have != want:
            problems.append(f"{name}{tuple(have)} is not {name}{tuple(want)}")
    return problems
