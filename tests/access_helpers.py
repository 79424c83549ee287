"""Helpers for the tests of access that ends: a socket that records everything, the admin API and CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import aiohttp
import socketio

from kiosk_client.client import until
from test_authorization import PASSWORD


class Spy:
    """A raw socket.io client on one namespace that records every event it receives, in order."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.disconnected = False
        self.refused: list = []
        self.sio.on("*", lambda event, data=None: self.events.append((event, data)), namespace=namespace)
        self.sio.on("disconnect", self._gone, namespace=namespace)
        self.sio.on("connect_error", lambda data: self.refused.append(data), namespace=namespace)

    def _gone(self, *args) -> None:
        self.disconnected = True

    @classmethod
    async def connect(cls, url: str, namespace: str, auth: Any) -> "Spy":
        spy = cls(namespace)
        await spy.sio.connect(url, namespaces=[namespace], auth=auth, transports=["websocket"], wait_timeout=5)
        return spy

    async def call(self, event: str, data: Any, timeout: float = 5.0) -> dict:
        return await self.sio.call(event, data, namespace=self.namespace, timeout=timeout)

    async def emit(self, event: str, data: Any) -> None:
        await self.sio.emit(event, data, namespace=self.namespace)

    def named(self, event: str) -> list:
        return [data for name, data in self.events if name == event]

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def refused(url: str, namespace: str, auth: Any) -> bool:
    """Whether a new connection with ``auth`` is refused as unauthorized."""
    spy = Spy(namespace)
    try:
        await spy.sio.connect(url, namespaces=[namespace], auth=auth, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        await until(lambda: spy.refused, 5, "the refusal")
        return spy.refused[0]["data"] == {"code": "unauthorized"}
    await spy.close()
    return False


async def supervisor(url: str, username: str = "boss") -> aiohttp.ClientSession:
    """An HTTP session signed in as a supervisor (the admin page's API)."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(url + "/api/login", json={"username": username, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
    return http


def staff(username: str) -> dict:
    return {"username": username, "password": PASSWORD}


async def lapak_admin(data_dir, *args: str) -> str:
    """Run ``lapak admin --data DIR ARGS`` in its own process, as an operator would, while the server runs."""
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.cli", "admin", "--data", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
