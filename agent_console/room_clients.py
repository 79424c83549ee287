"""Headless clients for the other people in an agent's room: a supervisor and a guest (issue 14).

They speak ``docs/protocol.md`` ("Supervisors and guests") from Python, with
one peer connection each, a synthetic tone (and, for the guest, a camera
pattern), and probes on what they receive: tests prove privacy on the wire
with them.
"""

from __future__ import annotations

import socketio
from aiortc import RTCSessionDescription

from kiosk_client.client import SignalingClient, new_peer_connection, until
from kiosk_client.synthetic import AudioProbe, PatternTrack, ToneTrack, VideoProbe, consume
from server.media.ice import use_host_addresses
from signaling.core.matrix import MAX_KIOSKS
from signaling.tasks import Tasks


class _RoomClient(SignalingClient):
    """A socket, one peer connection, and probes on each received stream."""

    def __init__(self, server_url: str, *, tone_hz: float, amplitude: float = 0.15, ice_addresses=("127.0.0.1",)) -> None:
        self.server_url = server_url
        self.tone_hz = tone_hz
        self.amplitude = amplitude
        self.ice_addresses = list(ice_addresses) if ice_addresses else None
        self.sio = socketio.AsyncClient(reconnection=False)
        self.pc = None
        self.audio = AudioProbe()
        self.errors: list[dict] = []
        self.events: list[tuple[str, dict]] = []
        self.tasks = Tasks(f"headless {self.namespace}")

        @self.sio.on("error", namespace=self.namespace)
        async def on_error(data: dict) -> None:
            self.errors.append(data)

    def _on(self, event: str) -> None:
        @self.sio.on(event, namespace=self.namespace)
        async def handler(data: dict) -> None:
            self.events.append((event, data))

    def _peer(self, layout: list[tuple[object, str]], video: list[VideoProbe], first_video: int):
        use_host_addresses(self.ice_addresses)
        pc = self.pc = new_peer_connection()
        for track, direction in layout:
            pc.addTransceiver(track, direction=direction)
        transceivers = pc.getTransceivers()

        @pc.on("track")
        def on_track(track) -> None:
            if track.kind == "audio":
                probe = self.audio
            else:
                index = next(i for i, t in enumerate(transceivers) if t.receiver.track is track)
                probe = video[index - first_video]
            self.tasks.spawn(consume(track, probe), f"{self.namespace} {track.kind} probe")

        return pc

    async def _offer(self, event: str, payload: dict) -> dict:
        pc = self.pc
        await pc.setLocalDescription(await pc.createOffer())
        ack = await self.call(event, {**payload, "sdp": pc.localDescription.sdp})
        if ack.get("ok"):
            await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))
            await until(lambda: pc.connectionState in ("connected", "failed"), 10, f"{self.namespace} media connected")
        return ack


class HeadlessSupervisor(_RoomClient):
    """A supervisor: signs in to ``/supervisor``, opens an agent's room, changes mode, leaves.

    Receives the six tiles (``tiles``) and the agent's camera (``agent_video``).
    """

    namespace = "/supervisor"

    def __init__(self, server_url: str, username: str, password: str, *, tone_hz: float) -> None:
        super().__init__(server_url, tone_hz=tone_hz)
        self.username, self.password = username, password
        self.tiles = [VideoProbe() for _ in range(MAX_KIOSKS)]
        self.agent_video = VideoProbe()
        self.monitor: dict | None = None

        @self.sio.on("monitor.state", namespace=self.namespace)
        async def on_monitor(data: dict) -> None:
            self.monitor = data
            self.events.append(("monitor.state", data))

    async def connect(self) -> None:
        await self.sio.connect(self.server_url, namespaces=[self.namespace], transports=["websocket"],
                               auth={"username": self.username, "password": self.password},
                               wait_timeout=self.connect_timeout)

    async def join(self, agent_id: str, mode: str) -> dict:
        """``monitor.join`` with a new peer connection (microphone; six tiles and the agent's camera)."""
        if self.pc is not None:
            await self.pc.close()
        layout = [(ToneTrack(self.tone_hz, self.amplitude), "sendrecv")] + [("video", "recvonly")] * (MAX_KIOSKS + 1)
        self._peer(layout, self.tiles + [self.agent_video], 1)
        return await self._offer("monitor.join", {"agent_id": agent_id, "mode": mode})

    async def mode(self, mode: str) -> dict:
        return await self.call("monitor.mode", {"mode": mode})

    async def leave(self) -> dict:
        return await self.call("monitor.leave", {})


class HeadlessGuest(_RoomClient):
    """A guest with a one-time link: connects to ``/guest`` with its token and offers media."""

    namespace = "/guest"

    def __init__(self, server_url: str, token: str, *, tone_hz: float, pattern: int, size=(160, 120, 10)) -> None:
        super().__init__(server_url, tone_hz=tone_hz)
        self.token = token
        self.pattern = pattern
        self.size = size
        self.agent_video = VideoProbe()
        self.member_video = VideoProbe()
        for event in ("guest.state",):
            self._on(event)

    async def connect(self) -> None:
        await self.connect_socket()

    async def start_media(self) -> dict:
        width, height, fps = self.size
        layout = [(ToneTrack(self.tone_hz, self.amplitude), "sendrecv"), (PatternTrack(self.pattern, width, height, fps), "sendrecv"),
                  ("video", "recvonly")]
        self._peer(layout, [self.agent_video, self.member_video], 1)
        return await self._offer("media.offer", {})
