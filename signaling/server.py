"""The socket.io server, closed to strangers, to binary packets and to forged lifecycle events.

:class:`SignalingServer` is python-socketio's ``AsyncServer`` with the holes
an outside client could use shut, all in this one module:

- **No namespace without credentials.** The default namespace ``/`` has no
  role; it refuses every connection (:class:`ClosedNamespace`), as the role
  namespaces refuse one without valid credentials.
- **No binary, no attachments.** A socket.io binary-event header announces N
  attachments, and python-socketio keeps that connection's next N messages
  until they have all arrived, N chosen by the client. Lapak's events carry
  no binary at all, so a packet announcing attachments, a binary packet type
  or a binary engine.io message drops the connection at once
  (:meth:`SignalingServer._handle_eio_message`); nothing is kept.
- **Bounded messages.** engine.io's ``max_http_buffer_size`` is
  :func:`message_limit`: the largest event (``Config.max_event_bytes``) plus
  room for the envelope. A bigger message closes the connection.
- **Undecodable packets** (engine.io or socket.io framing that does not
  parse, a packet type a client may not send) drop the connection with one
  rate-limited log line and a count in ``/metrics`` instead of a traceback.
- **Well-formed events only.** An event is a JSON array whose first element
  is the event name. Anything else, and a client's event named ``connect``,
  ``disconnect`` or ``connect_error`` (python-socketio would dispatch those
  to the lifecycle handlers), is refused with an ``error`` event and a
  refused acknowledgement, before any handler runs.

- **Dropping never waits** for the client (:class:`EngineServer`), so a
  client that stops reading cannot hold the request that dropped it.
- **Rooms indexed per socket, no binary scan** (:mod:`signaling.socket_rooms`):
  a socket leaving costs the rooms it is in, not every room of its namespace.

The overrides touch python-socketio's private ``_handle_eio_message``,
``_handle_event`` and ``_engineio_server_class``, and python-engineio's
websocket driver and socket queue; :func:`check_compatible` verifies them
when a server is built, so a python-socketio that no longer has them fails
at start, not in production. ``pyproject.toml`` pins the versions this was
checked against (python-socketio 5.18, python-engineio 4.15).
"""

from __future__ import annotations

import inspect
import logging
from functools import partial
from typing import Any

import aiohttp
import engineio
import socketio
from engineio import async_socket as eio_socket
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import packet

from .refusals import Refusals
from .socket_rooms import IndexedManager, Packet, refuse_misfit

logger = logging.getLogger(__name__)

RESERVED = frozenset({"connect", "disconnect", "connect_error"})
#: Room for the socket.io envelope around the largest payload: packet type,
#: namespace, ack id, event name, and JSON written with spaces.
ENVELOPE_BYTES = 8 * 1024
#: Socket.io packet types a client may send (no binary; CONNECT_ERROR is server-only).
CLIENT_PACKETS = frozenset({packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK})
#: First characters of engine.io frames: open, close, ping, pong, message, upgrade, noop.
ENGINEIO_TYPES = frozenset("0123456")

#: python-socketio internals this module overrides, with the parameters it relies on.
_OVERRIDDEN = {
    "_engineio_server_class": ("self",),
    "_handle_eio_message": ("self", "eio_sid", "data"),
    "_handle_event": ("self", "eio_sid", "namespace", "id", "data"),
    "_send_packet": ("self", "eio_sid", "pkt"),
}


def message_limit(max_event_bytes: int) -> int:
    """engine.io's per-message bound: the largest event Lapak accepts, plus its envelope."""
    return max_event_bytes + ENVELOPE_BYTES


def check_compatible() -> None:
    """Fail loudly if python-socketio/engineio lack what :class:`SignalingServer` overrides."""
    problems = []
    for name, params in _OVERRIDDEN.items():
        method = getattr(socketio.AsyncServer, name, None)
        if method is None or not (inspect.iscoroutinefunction(method) or name == "_engineio_server_class"):
            problems.append(f"socketio.AsyncServer.{name} is missing")
        elif tuple(inspect.signature(method).parameters)[: len(params)] != params:
            problems.append(f"socketio.AsyncServer.{name} takes {tuple(inspect.signature(method).parameters)}")
    if not hasattr(eio_aiohttp, "WebSocket") or not callable(getattr(eio_aiohttp.WebSocket, "wait", None)):
        problems.append("engineio.async_drivers.aiohttp.WebSocket.wait is missing")
    close = getattr(eio_socket.AsyncSocket, "close", None)
    if close is None or "wait" not in inspect.signature(close).parameters:
        problems.append("engineio's AsyncSocket.close(wait=...) is missing")
    refuse_misfit("signaling.server.SignalingServer", problems)


class ClosedNamespace(socketio.AsyncNamespace):
    """The default namespace ``/``: it belongs to no role, so every connection is refused."""

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        raise socketio.exceptions.ConnectionRefusedError(
            "Connect to /kiosk, /agent, /officer or /supervisor with valid credentials.", {"code": "unauthorized"}
        )


class GuardedWebSocket(eio_aiohttp.WebSocket):
    """engine.io's aiohttp websocket, refusing oversized and undecodable frames.

    A refused frame is counted and ends the connection (``OSError`` is how
    engine.io's reader learns that the websocket is gone), so engine.io never
    decodes it and never logs a traceback for it. Binary frames go on to
    :meth:`SignalingServer._handle_eio_message`, which drops them (as it does
    binary messages sent by long-polling).
    """

    def __init__(self, handler, server, *, refusals: Refusals) -> None:
        super().__init__(handler, server)
        self.refusals = refusals

    async def wait(self):
        msg = await self._sock.receive()
        if msg.type == aiohttp.WSMsgType.TEXT:
            if not msg.data or msg.data[0] not in ENGINEIO_TYPES:
                self.refusals.record("undecodable", f"engine.io frame {msg.data[:40]!r}", self._peer())
                raise OSError("undecodable frame refused")
            return msg.data
        if msg.type == aiohttp.WSMsgType.BINARY:
            return msg.data
        if msg.type == aiohttp.WSMsgType.ERROR and getattr(msg.data, "code", None) == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
            self.refusals.record("too_large", str(msg.data), self._peer())
        raise OSError("websocket closed")

    def _peer(self) -> str | None:
        environ = getattr(self, "environ", None) or {}
        return environ.get("REMOTE_ADDR")


class EngineServer(engineio.AsyncServer):
    """engine.io's server, except that dropping a connection never waits for the client.

    engine.io's own ``disconnect`` waits until the client has read the CLOSE
    packet. A long-polling client that sends an oversized body and never polls
    again made the request that dropped it wait forever: 300 such requests from
    a stranger left 900 tasks and their sockets behind. Here the CLOSE packet is
    queued, the socket forgotten, and the websocket writer (if any) woken to
    close the websocket at once, even if the client goes on sending.
    """

    async def disconnect(self, sid=None):
        if sid is None:
            return await super().disconnect()
        socket = self.sockets.pop(sid, None)
        if socket is not None:
            await socket.close(wait=False)
            socket.queue.put_nowait(None)


class SignalingServer(socketio.AsyncServer):
    """``socketio.AsyncServer`` that refuses strangers, binary packets, garbage and reserved event names."""

    def __init__(self, *, max_event_bytes: int, refusals: Refusals | None = None, **options: Any) -> None:
        check_compatible()
        #: What the guards refused, per reason (read by the /metrics route).
        self.refusals = refusals or Refusals(logger)
        # This server's own engine.io logger (a child of "engineio.server", not registered
        # globally): long-polling bodies are decoded inside engine.io, and what fails there
        # is turned from a traceback into a counted refusal by a filter on it.
        eio_logger = logging.Logger("engineio.server", logging.INFO if options.pop("engineio_logger", False) else logging.ERROR)
        eio_logger.parent = logging.getLogger("engineio.server")
        eio_logger.addFilter(_PollingGarbage(self.refusals))
        options.setdefault("client_manager", IndexedManager())  # rooms indexed per socket (signaling.socket_rooms)
        super().__init__(max_http_buffer_size=message_limit(max_event_bytes), engineio_logger=eio_logger,
                         serializer=Packet, **options)
        if self.eio.handlers.get("message") != self._handle_eio_message:
            raise RuntimeError("python-socketio no longer routes engine.io messages through _handle_eio_message")
        if not isinstance(self.eio, EngineServer):
            raise RuntimeError("python-socketio no longer builds its engine.io server with _engineio_server_class")
        if not isinstance(getattr(self.eio, "_async", None), dict) or "websocket" not in self.eio._async:
            raise RuntimeError("python-engineio no longer selects its websocket driver through _async")
        self.eio._async = {**self.eio._async, "websocket": partial(GuardedWebSocket, refusals=self.refusals)}
        self.register_namespace(ClosedNamespace("/"))

    def _engineio_server_class(self):
        return EngineServer

    async def _drop(self, eio_sid: str, reason: str, detail: str) -> None:
        """Count and log a refused packet, and close its engine.io connection now."""
        self.refusals.record(reason, detail, self.environ.get(eio_sid, {}).get("REMOTE_ADDR"))
        await self.eio.disconnect(eio_sid)

    async def _handle_eio_message(self, eio_sid, data):
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.closed:
            return  # dropped already; whatever it still sends is ignored
        if isinstance(data, (bytes, bytearray)):
            await self._drop(eio_sid, "binary", f"a binary engine.io message of {len(data)} bytes")
            return
        if not isinstance(data, str):
            await self._drop(eio_sid, "undecodable", f"a socket.io packet that is {type(data).__name__}")
            return
        try:
            pkt = self.packet_class(encoded_packet=data)
        except Exception as exc:  # noqa: BLE001 - any decoding failure is the client's
            await self._drop(eio_sid, "undecodable", f"{type(exc).__name__} in {data[:40]!r}")
            return
        if pkt.packet_type in (packet.BINARY_EVENT, packet.BINARY_ACK) or pkt.attachment_count:
            await self._drop(eio_sid, "binary", f"a binary packet announcing {pkt.attachment_count} attachments")
            return
        if pkt.packet_type not in CLIENT_PACKETS:
            await self._drop(eio_sid, "undecodable", f"socket.io packet type {pkt.packet_type!r}")
            return
        await super()._handle_eio_message(eio_sid, data)

    async def _handle_event(self, eio_sid, namespace, id, data):  # noqa: A002 - python-socketio's name
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            return  # python-socketio ignores events of a namespace the client is not in
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            await self._refuse(eio_sid, sid, namespace, id, None, "invalid_payload",
                               'An event is a JSON array: ["event.name", {payload}].')
            return
        if data[0] in RESERVED:
            await self._refuse(eio_sid, sid, namespace, id, data[0], "unknown_event",
                               f"{data[0]!r} is not an event a client may send.")
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _refuse(self, eio_sid, sid, namespace, id, event, code: str, message: str) -> None:  # noqa: A002
        """Answer a refused event as the namespaces do: an ``error`` event, and a refused ack if asked."""
        error = {"code": code, "message": message}
        await self.emit("error", {**error, "event": event} if event else error, to=sid, namespace=namespace)
        if id is not None:
            await self._send_packet(
                eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=id, data=[{"ok": False, "error": error}])
            )


class _PollingGarbage(logging.Filter):
    """Turns engine.io's traceback for an undecodable long-polling body into a counted refusal."""

    MESSAGES = frozenset({"post request handler error", "Unknown receive error"})

    def __init__(self, refusals: Refusals) -> None:
        super().__init__()
        self.refusals = refusals

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.getMessage() in self.MESSAGES:
            exc = record.exc_info[1]
            self.refusals.record("undecodable", f"engine.io: {type(exc).__name__}: {str(exc)[:60]}")
            return False
        return True
