"""socket.io room bookkeeping that costs what one socket is in, not what the namespace holds.

python-socketio 5.18 keeps ``rooms[namespace][room] = {sid: eio_sid}`` and
nothing from a socket to its rooms, so when a socket leaves,
``basic_disconnect`` copies the namespace's whole room table and looks for
the socket in every room: with 2,000 booths on ``/kiosk`` (each in its own
sid room and its screen room ``kiosk:<id>``: about 4,000 rooms) every booth
that leaves walks 4,000 rooms, and a shift's end or a network blip that
drops many booths at once is quadratic. ``get_rooms`` does the same walk.

:class:`IndexedRooms` keeps the reverse index (namespace, sid) → rooms next
to python-socketio's table, updated in the only two places that change
membership (``basic_enter_room``, ``basic_leave_room``), and answers
``basic_disconnect`` and ``get_rooms`` from it. Everything else (emits,
participants, pending connects) is python-socketio's. A Lapak socket is in
three rooms: the namespace's (``None``), its own sid's, and its screen's.

:class:`Packet` is python-socketio's packet without the binary scan: every
emit otherwise walks its whole payload looking for ``bytes`` (Lapak's events
carry none; :mod:`signaling.server` refuses binary from clients), which was
18 % of the node's time when ``room.state`` was large.

:func:`check_compatible` verifies the internals relied on; it runs when a
manager is built, so another python-socketio fails at start.
"""

from __future__ import annotations

import inspect

import socketio
from socketio import base_manager, packet

#: python-socketio internals this module overrides or reads, with the parameters it relies on.
_OVERRIDDEN = {
    "basic_enter_room": ("self", "sid", "namespace", "room", "eio_sid"),
    "basic_leave_room": ("self", "sid", "namespace", "room"),
    "basic_disconnect": ("self", "sid", "namespace"),
    "get_rooms": ("self", "sid", "namespace"),
}


def check_compatible() -> None:
    """Fail loudly if python-socketio's manager no longer has what :class:`IndexedRooms` overrides."""
    problems = []
    for name, params in _OVERRIDDEN.items():
        method = getattr(base_manager.BaseManager, name, None)
        if method is None:
            problems.append(f"BaseManager.{name} is missing")
        elif tuple(inspect.signature(method).parameters)[: len(params)] != params:
            problems.append(f"BaseManager.{name} takes {tuple(inspect.signature(method).parameters)}")
    manager = base_manager.BaseManager()
    for attr in ("rooms", "callbacks", "pending_connect", "pending_disconnect"):
        if not isinstance(getattr(manager, attr, None), dict):
            problems.append(f"BaseManager no longer keeps {attr} as a dict")
    if not isinstance(getattr(packet.Packet, "uses_binary_events", None), bool):
        problems.append("socketio.packet.Packet.uses_binary_events is missing")
    refuse_misfit("signaling.socket_rooms", problems)


def refuse_misfit(what: str, problems: list[str]) -> None:
    """Stop at start-up, naming ``problems``, when ``what`` leans on a python-socketio that is not the pinned one."""
    if problems:
        raise RuntimeError(
            f"{what} does not fit this python-socketio "
            f"({getattr(socketio, '__version__', '?')}): " + "; ".join(problems)
            + ". Install the versions pinned in pyproject.toml."
        )


class IndexedRooms:
    """A mixin for a python-socketio manager: which rooms each socket is in, kept as it changes."""

    def _index(self) -> dict[tuple[str, str], set]:
        """(namespace, sid) → the rooms it is in (``None``, its sid's, its screen's)."""
        try:
            return self._rooms_of
        except AttributeError:
            self._rooms_of: dict[tuple[str, str], set] = {}
            return self._rooms_of

    def basic_enter_room(self, sid, namespace, room, eio_sid=None):
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        self._index().setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid, namespace, room):
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        rooms = self._index().get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._index()[(namespace, sid)]

    def basic_disconnect(self, sid, namespace, **kwargs):
        """python-socketio's ``basic_disconnect``, leaving only the rooms this socket is in."""
        if namespace not in self.rooms:  # type: ignore[attr-defined]
            return
        for room in list(self._index().get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)  # type: ignore[attr-defined]
        for pending in (self.pending_connect, self.pending_disconnect):  # type: ignore[attr-defined]
            if namespace in pending and sid in pending[namespace]:
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]

    def get_rooms(self, sid, namespace):
        """The rooms a socket is in (not the namespace's own ``None``)."""
        return [room for room in self._index().get((namespace, sid), ()) if room is not None]


class IndexedManager(IndexedRooms, socketio.AsyncManager):
    """One node's manager (no Redis) with the room index."""

    def __init__(self) -> None:
        check_compatible()
        super().__init__()


class Packet(packet.Packet):
    """A socket.io packet that never scans its payload for binary (Lapak sends none)."""

    uses_binary_events = False
