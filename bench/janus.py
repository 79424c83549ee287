"""Janus (VideoRoom plugin, HTTP transport) as a side-by-side peer.

Janus 1.1.2 gathers no loopback ICE candidates, so it runs inside a network
namespace made for the run (``ip netns add`` + a veth pair, addresses in
:data:`SUBNET`); the load generator stays in the root namespace and offers the
host end of the veth as its only ICE candidate. No traffic leaves the machine:
every address involved is 127.0.0.0/8 or inside the namespace pair we create.
The config directory (``janus.jcfg``, ``janus.transport.http.jcfg``,
``janus.plugin.videoroom.jcfg``) is written at run time; the plugin and
transport folders hold symlinks to the VideoRoom plugin and the HTTP transport
only.

The same rooms as Lapak's: every member and the agent publish audio+video; the
agent subscribes to its six members' video and to the focused member's audio;
the focused member subscribes to the agent's audio and video, each held
member to the agent's audio (standing in for Lapak's server-made hold audio,
so both servers forward the same streams: 7 video + 7 audio per room).
Focus does not move in Janus rooms (switching costs nothing measurable over a
window).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import subprocess
import time
from pathlib import Path

import aiohttp

from server.lifeline import child_options

from .netns import Namespace
from .netns import unavailable as netns_unavailable

JANUS = shutil.which("janus") or "/usr/bin/janus"
LIBDIR = Path("/usr/lib/x86_64-linux-gnu/janus")
SUBNET = "10.231.77"
HOST_ADDR = f"{SUBNET}.1"
NS_ADDR = f"{SUBNET}.2"
HTTP_PORT = 8088


def janus_available() -> str | None:
    """``None`` if Janus can run here, else why not."""
    if not shutil.which("janus"):
        return "Janus is not installed (Debian package 'janus'); skipping the Janus peer"
    if not (LIBDIR / "plugins" / "libjanus_videoroom.so").exists():
        return "Janus's VideoRoom plugin is missing; skipping the Janus peer"
    if not (LIBDIR / "transports" / "libjanus_http.so").exists():
        return "Janus's HTTP transport is missing; skipping the Janus peer"
    why = netns_unavailable()
    if why:
        return f"Janus needs a network namespace ({why}); skipping the Janus peer"
    return None


class JanusServer:
    """Janus in a fresh network namespace, with a config written for this run."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir / "janus"
        self.net = Namespace("bench", SUBNET)
        self.ns = self.net.ns
        self.veth_ns = self.net.veth_ns
        self.url = f"http://{NS_ADDR}:{HTTP_PORT}/janus"
        self.proc: subprocess.Popen | None = None

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def room_args(self, r: int) -> dict:
        return {"mode": "janus", "server": self.url, "room": r}

    def _config(self) -> Path:
        d = self.workdir
        for sub in ("plugins", "transports", "events", "loggers"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            (d / "plugins" / "libjanus_videoroom.so").symlink_to(LIBDIR / "plugins" / "libjanus_videoroom.so")
        with contextlib.suppress(FileExistsError):
            (d / "transports" / "libjanus_http.so").symlink_to(LIBDIR / "transports" / "libjanus_http.so")
        (d / "janus.jcfg").write_text(
            "general: {\n"
            f'  configs_folder = "{d}"\n  plugins_folder = "{d}/plugins"\n'
            f'  transports_folder = "{d}/transports"\n  events_folder = "{d}/events"\n'
            f'  loggers_folder = "{d}/loggers"\n'
            "  debug_level = 3\n  session_timeout = 0\n  hide_dependencies = true\n"
            "}\n"
            "media: {\n  ipv6 = false\n  rtp_port_range = \"20000-40000\"\n}\n"
            f'nat: {{\n  ice_enforce_list = "{self.veth_ns}"\n  ignore_mdns = true\n}}\n'
            "plugins: {\n}\ntransports: {\n}\nevents: {\n  broadcast = false\n}\n"
        )
        (d / "janus.transport.http.jcfg").write_text(
            "general: {\n  json = \"compact\"\n  base_path = \"/janus\"\n  http = true\n"
            f'  port = {HTTP_PORT}\n  ip = "{NS_ADDR}"\n  https = false\n}}\n'
            "admin: {\n  admin_http = false\n  admin_https = false\n}\ncors: {\n}\n"
        )
        (d / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
        return d

    async def start(self) -> None:
        self.net.create()
        d = self._config()
        self.log = open(d / "janus.log", "wb")
        self.proc = subprocess.Popen(
            self.net.command(JANUS, "-C", str(d / "janus.jcfg"), "-F", str(d)),
            stdout=self.log, stderr=subprocess.STDOUT, **child_options(),
        )
        deadline = time.monotonic() + 20
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"janus exited: see {d / 'janus.log'}")
                with contextlib.suppress(Exception):
                    async with http.get(self.url + "/info", timeout=aiohttp.ClientTimeout(total=1)) as r:
                        if r.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise RuntimeError("janus did not start")
                await asyncio.sleep(0.2)

    def router_stats(self) -> list[dict]:
        return []

    async def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, self.proc.wait), 10)
            except asyncio.TimeoutError:
                self.proc.kill()
        if getattr(self, "log", None):
            self.log.close()
        self.net.delete()


# -- the client side (runs in the load generator) -----------------------------------------


class JanusSession:
    """One Janus session over HTTP, with its long-poll loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession()
        self.session_id: int | None = None
        self._waiters: dict[str, asyncio.Future] = {}
        self._poll: asyncio.Task | None = None

    @staticmethod
    def _tx() -> str:
        return "%016x" % random.getrandbits(64)

    async def _post(self, path: str, body: dict) -> dict:
        async with self.http.post(path, json=body) as r:
            return await r.json(content_type=None)

    async def create(self) -> None:
        reply = await self._post(self.url, {"janus": "create", "transaction": self._tx()})
        self.session_id = reply["data"]["id"]
        self._poll = asyncio.create_task(self._long_poll(), name="janus long poll")

    async def _long_poll(self) -> None:
        while True:
            try:
                async with self.http.get(f"{self.url}/{self.session_id}?maxev=20") as r:
                    events = await r.json(content_type=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.2)
                continue
            if isinstance(events, dict):
                events = [events]
            for ev in events:
                fut = self._waiters.pop(ev.get("transaction"), None)
                if fut is not None and not fut.done() and ev.get("janus") in ("event", "success", "error"):
                    fut.set_result(ev)

    async def attach(self) -> int:
        reply = await self._post(
            f"{self.url}/{self.session_id}",
            {"janus": "attach", "plugin": "janus.plugin.videoroom", "transaction": self._tx()},
        )
        return reply["data"]["id"]

    async def message(self, handle: int, body: dict, jsep: dict | None = None, timeout: float = 30) -> dict:
        tx = self._tx()
        msg = {"janus": "message", "body": body, "transaction": tx}
        if jsep is not None:
            msg["jsep"] = jsep
        fut = asyncio.get_running_loop().create_future()
        self._waiters[tx] = fut
        reply = await self._post(f"{self.url}/{self.session_id}/{handle}", msg)
        if reply.get("janus") != "ack":
            self._waiters.pop(tx, None)
            if reply.get("janus") == "error":
                raise RuntimeError(f"janus: {reply}")
            return reply
        ev = await asyncio.wait_for(fut, timeout)
        data = ev.get("plugindata", {}).get("data", {})
        if ev.get("janus") == "error" or "error" in data:
            raise RuntimeError(f"janus: {ev}")
        return ev

    async def trickle_done(self, handle: int) -> None:
        await self._post(
            f"{self.url}/{self.session_id}/{handle}",
            {"janus": "trickle", "candidate": {"completed": True}, "transaction": self._tx()},
        )

    async def close(self) -> None:
        if self._poll:
            self._poll.cancel()
            await asyncio.gather(self._poll, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._post(f"{self.url}/{self.session_id}", {"janus": "destroy", "transaction": self._tx()})
        await self.http.close()
