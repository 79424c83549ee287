"""A headless agent console: serves up to six members from Python.

Used by tests, by ``lapak agent`` (which prints what it receives) and by load
generation. It speaks the agent protocol of ``docs/protocol.md``: one peer
connection laid out as audio, camera, six tile m-lines and, with
``guest_video``, six more: each tile's member's guest.
"""

from __future__ import annotations

import asyncio
import logging

import socketio
from aiortc import RTCSessionDescription

from kiosk_client import ice
from kiosk_client.client import SignalingClient, new_peer_connection, until
from kiosk_client.external_media import ExternalMedia, parked
from kiosk_client.synthetic import AudioProbe, PatternTrack, ToneTrack, VideoProbe, consume
from kiosk_client.video_starts import VideoStarts, watch
from server.media.ice import use_host_addresses
from signaling.core.matrix import MAX_KIOSKS
from signaling.tasks import Tasks

logger = logging.getLogger(__name__)


class HeadlessAgent(SignalingClient):
    """One simulated agent: a socket to ``/agent`` and one peer connection.

    With ``media`` (:mod:`kiosk_client.external_media`) the same m-lines are
    negotiated but sending and receiving are left to it (the benchmark).
    """

    namespace = "/agent"

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        tone_hz: float = 450.0,
        pattern: int = 0,
        width: int = 320,
        height: int = 240,
        fps: int = 15,
        ice_addresses: list[str] | None = ("127.0.0.1",),  # type: ignore[assignment]
        media: ExternalMedia | None = None,
        relay_only: bool = False,
        guest_video: bool = False,
    ) -> None:
        self.server_url = server_url
        self.token = token
        self.media = media
        #: Media only through the TURN servers the server hands out (``--relay-only``).
        self.relay_only = relay_only
        self.tone_hz = tone_hz
        self.pattern = pattern
        self.width, self.height, self.fps = width, height, fps
        self.ice_addresses = list(ice_addresses) if ice_addresses else None
        self.sio = socketio.AsyncClient(reconnection=False)
        self.pc = None
        self.room: dict | None = None
        self.rooms: list[dict] = []
        self.errors: list[dict] = []
        #: Latest speaking level per session (0..1), from ``room.levels``.
        self.levels: dict[str, float] = {}
        self.audio = AudioProbe()
        self.tiles = [VideoProbe() for _ in range(MAX_KIOSKS)]
        #: Per tile: every fresh start of its video, and whether it was a keyframe.
        self.tile_starts = [VideoStarts() for _ in range(MAX_KIOSKS)]
        #: Offer the six optional guest m-lines (issue 14): tile n's member's guest arrives on the n-th.
        self.guest_video = guest_video
        self.guests = [VideoProbe() for _ in range(MAX_KIOSKS)]
        self.guest_starts = [VideoStarts() for _ in range(MAX_KIOSKS)]
        self.tasks = Tasks("headless agent")
        #: One offer at a time: a ``media.restart`` arriving while a (re)connect's offer waits for its
        #: answer would otherwise close the peer connection that answer is for.
        self._media_lock = asyncio.Lock()
        self._register()

    def _register(self) -> None:
        ns = "/agent"

        @self.sio.on("room.state", namespace=ns)
        async def on_room(data: dict) -> None:
            self.room = data
            self.rooms.append(data)

        @self.sio.on("error", namespace=ns)
        async def on_error(data: dict) -> None:
            self.errors.append(data)

        @self.sio.on("media.restart", namespace=ns)
        async def on_restart(data: dict) -> None:
            self.tasks.spawn(self.start_media(), "agent media restart")

        @self.sio.on("room.levels", namespace=ns)
        async def on_levels(data: dict) -> None:
            self.levels = data.get("levels", {})

    async def connect(self, media: bool = True) -> None:
        """Sign in; with ``media``, offer a new peer connection (as the console does on every connect)."""
        await self.connect_socket()
        if media:
            await self.start_media()

    async def drop(self) -> None:
        """Lose the socket (a network drop, a closed laptop); the peer connection is left as it is."""
        if self.sio.connected:
            await self.sio.disconnect()

    async def reconnect(self, media: bool = True) -> None:
        """Come back after a drop: a new socket, then a new peer connection."""
        self.sio = socketio.AsyncClient(reconnection=False)
        self._register()
        await self.connect(media)

    async def start_media(self) -> None:
        """A new peer connection, offered and answered (after any offer already under way)."""
        async with self._media_lock:
            await self._start_media()

    async def _start_media(self) -> None:
        use_host_addresses(self.ice_addresses)
        configuration = await ice.fetch(self.call, self.relay_only)  # fresh TURN credentials each time
        if self.pc is not None:
            await self.pc.close()
        pc = self.pc = new_peer_connection(configuration)
        external = self.media is not None
        pc.addTransceiver(parked("audio") if external else ToneTrack(self.tone_hz), direction="sendrecv")
        camera = parked("video") if external else PatternTrack(self.pattern, self.width, self.height, self.fps)
        pc.addTransceiver(camera, direction="sendonly")
        for _ in range(MAX_KIOSKS * (2 if self.guest_video else 1)):
            pc.addTransceiver("video", direction="recvonly")
        transceivers = pc.getTransceivers()
        if not external:
            for t, starts in zip(transceivers[2:], self.tile_starts + self.guest_starts):
                watch(t.receiver, starts)

            @pc.on("track")
            def on_track(track) -> None:
                if track.kind == "audio":
                    probe = self.audio
                else:
                    index = next(i for i, t in enumerate(transceivers) if t.receiver.track is track)
                    probe = (self.tiles + self.guests)[index - 2]
                self.tasks.spawn(consume(track, probe), f"agent {track.kind} probe")

        await pc.setLocalDescription(await pc.createOffer())
        ack = await self.call("media.offer", {"sdp": pc.localDescription.sdp})
        if not ack.get("ok"):
            raise RuntimeError(f"media.offer refused: {ack}")
        await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))
        if self.media is not None:
            self.media.attach(pc)

    # -- what an agent does -------------------------------------------------

    def sessions(self) -> list[str]:
        """Session ids on the tiles, in tile order."""
        if not self.room:
            return []
        return [t["session_id"] for t in self.room["tiles"] if t]

    def tile_of(self, session_id: str) -> int:
        """Zero-based tile index of ``session_id``."""
        for t in (self.room or {}).get("tiles", []):
            if t and t["session_id"] == session_id:
                return t["tile"] - 1
        raise KeyError(session_id)

    async def focus(self, session_ids: list[str]) -> dict:
        return await self.call("focus.set", {"session_ids": session_ids})

    async def focus_all(self) -> dict:
        return await self.call("focus.all", {})

    async def talk(self, session_id: str) -> dict:
        return await self.call("session.talk", {"session_id": session_id})

    async def hold(self, session_id: str) -> dict:
        return await self.call("session.hold", {"session_id": session_id})

    async def transfer_targets(self) -> list[dict]:
        """The colleagues a session can be transferred to now (``transfer.targets``)."""
        ack = await self.call("transfer.targets", {})
        return ack["colleagues"] if ack.get("ok") else []

    async def end(self, session_id: str, outcome: str = "resolved", note: str = "") -> dict:
        return await self.call("session.end", {"session_id": session_id, "outcome": outcome, "note": note})

    async def wait_sessions(self, n: int, timeout: float = 20.0) -> None:
        await until(lambda: len(self.sessions()) >= n, timeout, f"{n} sessions on the agent's tiles")

    def report(self) -> str:
        """One line per tile: frames received and whose pattern they show."""
        lines = []
        room_tiles = (self.room or {}).get("tiles") or [None] * MAX_KIOSKS
        for i, probe in enumerate(self.tiles):
            info = room_tiles[i]
            who = f"{info['kiosk_id']} ({info['state']})" if info else "free"
            lines.append(f"tile {i + 1}: {who:<28} frames={probe.frames:<6} pattern={probe.last_pattern}")
        return "\n".join(lines)
