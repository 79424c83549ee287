"""socket.io emits across nodes: python-socketio's ``AsyncRedisManager``, counted.

With several nodes, an emit to a screen (``kiosk:<id>``) must reach the node
that holds that screen's socket. python-socketio's ``AsyncRedisManager``
publishes every emit on one Redis channel; every node receives and decodes
every message, and delivers it to the sockets it has in that room (often
none). :class:`FanoutManager` is that manager with counts, so the cost of
"every node decodes every message" is measured, not guessed: messages and
bytes received, messages that reached no socket here, and the seconds spent
decoding and handling them (``/metrics``: ``lapak_fanout_*``;
docs/performance.md has the figures).

It is also how a node asks the others to tell the screens whose sockets they
hold (:meth:`FanoutManager.ask`, the notifier's :class:`~signaling.notifier.Elsewhere`):
an emit of :data:`ASK` to a room no socket is in, which every other node
passes to :attr:`FanoutManager.asked` in the order the channel carries it,
before the next message. Its listening task is python-socketio's own;
:meth:`FanoutManager.close` cancels and awaits it and closes the Redis
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import socketio

from .socket_rooms import IndexedRooms, check_compatible

logger = logging.getLogger(__name__)

#: The event (on ``/kiosk``, to room :data:`ASK_ROOM`) by which a node asks the others to tell their
#: screens (booths, consoles, supervisors, guests, boards).
ASK = "lapak.tell-screens"
ASK_ROOM = "lapak:nodes"


@dataclass
class FanoutStats:
    """What this node received on the shared channel."""

    received: int = 0
    bytes: int = 0
    #: Emits from other nodes that had no socket in their room on this node.
    unused: int = 0
    #: Seconds of this node's CPU that the shared channel costs beyond delivering its own sockets' messages:
    #: decoding every message, and handling those that reached no socket here. (Delivering a message to a
    #: socket here is work the node would do anyway, and its awaits would count other coroutines' time.)
    seconds: float = 0.0


class _TimedJson:
    """The json module python-socketio decodes channel messages with, timing each decode."""

    def __init__(self, stats: FanoutStats, inner=json) -> None:
        self.stats = stats
        self.inner = inner

    def dumps(self, *args, **kwargs):
        return self.inner.dumps(*args, **kwargs)

    def loads(self, text, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.inner.loads(text, *args, **kwargs)
        finally:
            self.stats.received += 1
            self.stats.bytes += len(text)
            self.stats.seconds += time.perf_counter() - started


class FanoutManager(IndexedRooms, socketio.AsyncRedisManager):
    """``AsyncRedisManager`` on ``channel``, counting what this node receives (rooms indexed per socket)."""

    def __init__(self, url: str, channel: str = "lapak-socketio") -> None:
        check_compatible()
        self.stats = FanoutStats()
        #: Called with the payload of each :data:`ASK` from another node (the notifier's
        #: :meth:`~signaling.notifier.Notifier.asked`), awaited before the next message is handled.
        self.asked: Callable[[object], Awaitable[None]] | None = None
        super().__init__(url, channel=channel, json=_TimedJson(self.stats))

    def set_server(self, server) -> None:
        super().set_server(server)  # takes the server's json module: keep timing it
        self.json = _TimedJson(self.stats, self.json)

    def holds(self, namespace: str, screen: str) -> bool:
        """Is a socket of ``screen`` (a socket.io room) on this node?"""
        return bool(self.rooms.get(namespace, {}).get(screen))

    async def ask(self, request: dict[str, list]) -> None:
        """Ask the other nodes to tell the screens ``request`` names, if theirs (the notifier's ``Elsewhere``)."""
        await self.emit(ASK, request, namespace="/kiosk", room=ASK_ROOM)

    async def _handle_emit(self, message):
        if message.get("event") == ASK and message.get("room") == ASK_ROOM:
            await self._asked(message)
            return None
        if message.get("host_id") == self.host_id:
            return await super()._handle_emit(message)
        room = message.get("room")
        if room is None or self.holds(message.get("namespace") or "/", room):
            return await super()._handle_emit(message)  # a socket here: delivering it is this node's work
        self.stats.unused += 1
        started = time.perf_counter()  # nothing to send: python-socketio encodes it and finds nobody, no await
        try:
            return await super()._handle_emit(message)
        finally:
            self.stats.seconds += time.perf_counter() - started

    async def _asked(self, message: dict) -> None:
        """Another node's :data:`ASK`: its screens here are told; a failure is logged, the channel goes on."""
        data = message.get("data")
        if message.get("host_id") == self.host_id or self.asked is None or not isinstance(data, list) or len(data) != 1:
            return
        try:
            await self.asked(data[0])
        except Exception:  # noqa: BLE001 (Redis away, a malformed request): the next message still comes
            logger.warning("could not tell the screens another node asked for", exc_info=True)

    async def close(self) -> None:
        """Stop listening and close the connections (the app is shutting down)."""
        task = getattr(self, "thread", None)
        if isinstance(task, asyncio.Future):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.pubsub is not None:
            with contextlib.suppress(Exception):
                await self.pubsub.aclose()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()
