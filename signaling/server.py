"""The socket.io server, closed against clients forging its lifecycle events.

python-socketio dispatches a client's event named ``connect`` or
``disconnect`` to the same handlers as the real lifecycle events, so a client
could make the server believe it had left. :class:`SignalingServer` refuses
those names (and ``connect_error``) from clients with an ``unknown_event``
error, before any handler runs.
"""

from __future__ import annotations

import socketio
from socketio import packet

RESERVED = frozenset({"connect", "disconnect", "connect_error"})


class SignalingServer(socketio.AsyncServer):
    """``socketio.AsyncServer`` that never lets a client emit a reserved event."""

    async def _handle_event(self, eio_sid, namespace, id, data):  # noqa: A002 - python-socketio's name
        if data and isinstance(data[0], str) and data[0] in RESERVED:
            if id is not None:
                error = {"code": "unknown_event", "message": f"{data[0]!r} is not an event a client may send."}
                await self._send_packet(
                    eio_sid,
                    self.packet_class(packet.ACK, namespace=namespace or "/", id=id, data=[{"ok": False, "error": error}]),
                )
            return
        await super()._handle_event(eio_sid, namespace, id, data)
