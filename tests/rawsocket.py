"""A socket.io client written by hand, for attacking the server from outside.

It speaks engine.io v4 and socket.io v5 frames over aiohttp's websocket
client, without python-socketio, so a test can send exactly the bytes an
attacker would: binary-event headers, undecodable packets, oversized
messages. It answers the server's pings, so a quiet test is not dropped for
silence.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


class RawSocket:
    """One engine.io connection over a websocket, frames sent and read by hand."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, handshake: dict) -> None:
        self.http = http
        self.ws = ws
        self.handshake = handshake
        #: Every frame received after the handshake, pings excluded.
        self.received: list[str | bytes] = []

    @classmethod
    async def open(cls, url: str) -> "RawSocket":
        """Open ``/socket.io/?EIO=4&transport=websocket`` and read the engine.io handshake."""
        http = aiohttp.ClientSession()
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        try:
            ws = await http.ws_connect(ws_url, max_msg_size=0)
            first = await ws.receive(timeout=5)
        except BaseException:
            await http.close()
            raise
        assert first.type == aiohttp.WSMsgType.TEXT and first.data.startswith("0"), first
        return cls(http, ws, json.loads(first.data[1:]))

    async def send(self, frame: str | bytes) -> bool:
        """Send one engine.io frame; False if the connection is already gone."""
        try:
            if isinstance(frame, bytes):
                await self.ws.send_bytes(frame)
            else:
                await self.ws.send_str(frame)
            return True
        except (ConnectionError, RuntimeError, aiohttp.ClientError):
            return False

    async def recv(self, timeout: float = 5.0) -> str | bytes | None:
        """The next frame that is not a ping (answered), or None once the connection is closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError("no frame from the server")
            msg = await self.ws.receive(timeout=left)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.ERROR):
                return None
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
                await self.send("3")
                continue
            self.received.append(msg.data)
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "1":  # engine.io CLOSE
                return None
            return msg.data

    async def wait_closed(self, timeout: float = 5.0) -> bool:
        """Read until the server closes the connection; False if it is still open after ``timeout``."""
        try:
            while await self.recv(timeout) is not None:
                pass
        except TimeoutError:
            return False
        return True

    async def wait_websocket_closed(self, timeout: float = 5.0) -> bool:
        """Like a client that ignores engine.io's CLOSE packet: read until the server closes the websocket itself."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            try:
                msg = await self.ws.receive(timeout=left)
            except asyncio.TimeoutError:
                return False
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.ERROR):
                return True
        return False

    async def connect(self, namespace: str = "/", auth: dict | None = None) -> tuple[str, Any]:
        """Send a socket.io CONNECT; answer ``("connected", {"sid"})`` or ``("refused", {...})``."""
        prefix = "" if namespace == "/" else namespace + ","
        await self.send("40" + prefix + (json.dumps(auth) if auth is not None else ""))
        while True:
            frame = await self.recv()
            if frame is None:
                return "closed", None
            if isinstance(frame, str) and frame.startswith("4" + "0" + prefix):
                return "connected", json.loads(frame[2 + len(prefix):])
            if isinstance(frame, str) and frame.startswith("44" + prefix):
                return "refused", json.loads(frame[2 + len(prefix):])

    async def call(self, namespace: str, body: str, ack_id: int) -> Any:
        """Send ``42<ns>,<id><body>`` (``body`` is the raw JSON text) and wait for ack ``ack_id``."""
        prefix = "" if namespace == "/" else namespace + ","
        await self.send(f"42{prefix}{ack_id}{body}")
        return await self.ack(namespace, ack_id)

    async def ack(self, namespace: str, ack_id: int, timeout: float = 5.0) -> Any:
        prefix = "" if namespace == "/" else namespace + ","
        head = f"43{prefix}{ack_id}"
        while True:
            frame = await self.recv(timeout)
            if frame is None:
                return None
            if isinstance(frame, str) and frame.startswith(head) and frame[len(head):len(head) + 1] == "[":
                return json.loads(frame[len(head):])

    def events(self, namespace: str, name: str) -> list[Any]:
        """Payloads of the ``name`` events received so far on ``namespace``."""
        prefix = "42" + ("" if namespace == "/" else namespace + ",")
        out = []
        for frame in self.received:
            if isinstance(frame, str) and frame.startswith(prefix):
                data = json.loads(frame[len(prefix):])
                if data and data[0] == name:
                    out.append(data[1] if len(data) > 1 else None)
        return out

    async def close(self) -> None:
        try:
            await self.ws.close()
        finally:
            await self.http.close()
