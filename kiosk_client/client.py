"""A headless kiosk: a booth without a browser, speaking Lapak's protocol in Python.

Used by kiosk boxes that run no browser, by tests (to prove privacy on the
wire) and by ``lapak demo``. It sends a synthetic camera and microphone
(:mod:`kiosk_client.synthetic`) and records what it receives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import socketio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcconfiguration import RTCBundlePolicy

from server.media import bridge
from server.media.ice import use_host_addresses
from signaling.tasks import Tasks

from . import ice
from .external_media import ExternalMedia, parked
from .synthetic import AudioProbe, PatternTrack, ToneTrack, VideoProbe, consume
from .video_starts import VideoStarts, watch

logger = logging.getLogger(__name__)

#: Kiosk states in which the booth has, or is getting, a peer connection to its agent.
MEDIA_STATES = ("connecting", "talking", "on_hold")


async def until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Wait until ``predicate()`` is true, or raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def new_peer_connection(configuration: RTCConfiguration | None = None) -> RTCPeerConnection:
    """A peer connection laid out as the server wants it (max-bundle), with ``configuration``'s ICE servers."""
    return RTCPeerConnection(configuration or RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


class SignalingClient:
    """What every headless client shares: one socket.io namespace and acknowledged calls."""

    namespace = ""
    #: Seconds to wait for the namespace to connect, and for an acknowledgement (a loaded
    #: benchmark machine raises them).
    connect_timeout: float = 10.0
    call_timeout: float = 20.0
    #: Extra HTTP headers of the socket's request (a load balancer's stickiness cookie, in tests).
    headers: dict[str, str] | None = None

    async def connect_socket(self) -> None:
        await self.sio.connect(
            self.server_url,
            namespaces=[self.namespace],
            auth={"token": self.token},
            transports=["websocket"],
            wait_timeout=self.connect_timeout,
            **({"headers": self.headers} if self.headers else {}),
        )

    async def call(self, event: str, data: Any = None, timeout: float | None = None) -> dict:
        """Emit ``event`` and return the server's acknowledgement."""
        timeout = self.call_timeout if timeout is None else timeout
        if data is None:
            return await self.sio.call(event, namespace=self.namespace, timeout=timeout)
        return await self.sio.call(event, data, namespace=self.namespace, timeout=timeout)

    async def close(self) -> None:
        """Stop the client's own tasks, close its peer connection, leave the socket."""
        await self.tasks.close()
        if self.pc is not None:
            await self.pc.close()
        if self.sio.connected:
            await self.sio.disconnect()


class HeadlessKiosk(SignalingClient):
    """One simulated booth: a socket to ``/kiosk`` and one peer connection.

    With ``auto_media`` (the default) it offers the way the kiosk page does
    (docs/protocol.md, "When a booth offers"): exactly once for each media
    attempt the server announces, and once after its own socket reconnects.
    With ``media`` (:mod:`kiosk_client.external_media`) the same m-lines are
    negotiated but sending and receiving are left to it (the benchmark).
    """

    namespace = "/kiosk"

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        tone_hz: float = 600.0,
        tone_amplitude: float = 0.3,
        pattern: int = 1,
        width: int = 320,
        height: int = 240,
        fps: int = 15,
        auto_media: bool = True,
        ice_addresses: list[str] | None = ("127.0.0.1",),  # type: ignore[assignment]
        media: ExternalMedia | None = None,
        guest_video: bool = False,
        relay_only: bool = False,
    ) -> None:
        self.server_url = server_url
        self.token = token
        self.media = media
        #: Offer the third m-line (video recvonly) on which a guest's camera arrives (issue 14).
        self.guest_video = guest_video
        self.guest = VideoProbe()
        #: Media only through the TURN servers the server hands out (``--relay-only``).
        self.relay_only = relay_only
        self.tone_hz = tone_hz
        self.tone_amplitude = tone_amplitude
        self.pattern = pattern
        self.width, self.height, self.fps = width, height, fps
        self.auto_media = auto_media
        self.ice_addresses = list(ice_addresses) if ice_addresses else None
        self.sio = socketio.AsyncClient(reconnection=False)
        self.pc: RTCPeerConnection | None = None
        self.session_id: str | None = None
        self.state: str | None = None
        self.states: list[dict] = []
        self.quality: dict | None = None
        #: The booth's network quality as the server last told it (``media.network``).
        self.network: dict | None = None
        self.errors: list[dict] = []
        self.audio = AudioProbe()
        self.video = VideoProbe()
        self.camera: PatternTrack | None = None
        #: Every fresh start of the agent's video we received, and whether it was a keyframe.
        self.video_starts = VideoStarts()
        self.help_answered = 0
        #: ``time.monotonic()`` of the latest ``session.request`` (the benchmark's session-start latency).
        self.requested_at = 0.0
        self.tasks = Tasks("headless kiosk")
        self._media_lock = asyncio.Lock()
        #: (session, attempt) the current peer connection answers; None after a reconnect.
        self._offered: tuple[str, int] | None = None
        #: (session, attempt) of every ``media.offer`` sent, in order (tests count them).
        self.offers: list[tuple[str, int]] = []
        self._register()

    def _register(self) -> None:
        ns = "/kiosk"

        @self.sio.on("session.state", namespace=ns)
        async def on_state(data: dict) -> None:
            self.states.append(data)
            self.state = data.get("state")
            if data.get("session_id"):
                self.session_id = data["session_id"]
            if self.auto_media and self.state in MEDIA_STATES and data.get("agent"):
                self._want_media(data["session_id"], data.get("attempt", 0))

        @self.sio.on("media.restart", namespace=ns)
        async def on_restart(data: dict) -> None:
            # The same attempt as the session.state before it: whichever comes first makes the offer.
            if self.auto_media and data.get("session_id") == self.session_id and "attempt" in data:
                self._want_media(data["session_id"], data["attempt"])

        @self.sio.on("help.answered", namespace=ns)
        async def on_help(data: dict) -> None:
            self.help_answered += 1

        @self.sio.on("media.quality", namespace=ns)
        async def on_quality(data: dict) -> None:
            self.quality = data
            if self.camera is not None:
                self.camera.scale_down = max(1, int(data.get("scale_resolution_down_by", 1)))

        @self.sio.on("media.network", namespace=ns)
        async def on_network(data: dict) -> None:
            if data.get("session_id") == self.session_id:
                self.network = data

        @self.sio.on("error", namespace=ns)
        async def on_error(data: dict) -> None:
            self.errors.append(data)

    # -- signaling --------------------------------------------------------

    async def connect(self) -> None:
        await self.connect_socket()

    async def request(self, service: str = "jht", language: str = "id") -> str:
        self.requested_at = time.monotonic()
        ack = await self.call("session.request", {"service": service, "language": language})
        if not ack.get("ok"):
            raise RuntimeError(f"session.request refused: {ack}")
        self.session_id = ack["session_id"]
        return self.session_id

    async def leave(self) -> dict:
        return await self.call("session.leave", {"session_id": self.session_id})

    # -- media --------------------------------------------------------------

    def _want_media(self, session_id: str, attempt: int) -> None:
        """Offer once for this media attempt (a repeat of the one already answered is ignored)."""
        target = (session_id, attempt)
        if target == self._offered:
            return
        self._offered = target
        self.tasks.spawn(self._start_media_or_retry(target), "kiosk media start")

    async def _start_media_or_retry(self, target: tuple[str, int]) -> None:
        """Offer media; if that fails, note why and try again while it is still wanted."""
        # The state a connecting socket is sent arrives before its namespace is connected.
        await until(lambda: self.namespace in self.sio.namespaces or not self.sio.connected, 10, "the /kiosk namespace")
        for attempt in range(5):
            try:
                await self.start_media(target)
                return
            except Exception as exc:  # refused, or the socket dropped mid-way
                self.errors.append({"code": "media_start_failed", "message": repr(exc)})
                logger.warning("kiosk media start failed (attempt %d): %r", attempt + 1, exc)
            await asyncio.sleep(0.5 * (attempt + 1))
            if self._offered != target or not self.sio.connected:
                return

    async def start_media(self, target: tuple[str, int] | None = None) -> None:
        """Make a new peer connection for the current session and offer it.

        ``target`` is the (session, attempt) it answers; an attempt already
        superseded by a newer one while this waited for its turn is skipped.
        """
        async with self._media_lock:
            if target is not None and target != self._offered:
                return
            target = target or self._offered or (self.session_id or "", 0)
            use_host_addresses(self.ice_addresses)
            configuration = await ice.fetch(self.call, self.relay_only)  # fresh TURN credentials each time
            old, self.pc = self.pc, new_peer_connection(configuration)
            if old is not None:
                await old.close()
            pc = self.pc
            # A media path that fails while the socket stays up is not rebuilt from here:
            # the server sees it fail too and announces a new attempt (docs/protocol.md).
            if self.media is None:
                self.camera = PatternTrack(self.pattern, self.width, self.height, self.fps)
                pc.addTransceiver(ToneTrack(self.tone_hz, self.tone_amplitude), direction="sendrecv")
                pc.addTransceiver(self.camera, direction="sendrecv")
                if self.guest_video:
                    pc.addTransceiver("video", direction="recvonly")
                transceivers = pc.getTransceivers()

                @pc.on("track")
                def on_track(track) -> None:
                    probe = self.audio if track.kind == "audio" else self.video
                    if len(transceivers) > 2 and transceivers[2].receiver.track is track:
                        probe = self.guest
                    self.tasks.spawn(consume(track, probe), f"kiosk {track.kind} probe")
            else:
                pc.addTransceiver(parked("audio"), direction="sendrecv")
                pc.addTransceiver(parked("video"), direction="sendrecv")

            await pc.setLocalDescription(await pc.createOffer())
            ice.check_relayed(pc.localDescription.sdp, self.relay_only)  # NoRelay: retried, fresh credentials
            if self.media is None:
                watch(pc.getTransceivers()[1].receiver, self.video_starts)
            self.offers.append(target)
            ack = await self.call("media.offer", {"session_id": target[0], "sdp": pc.localDescription.sdp})
            if not ack.get("ok"):
                raise RuntimeError(f"media.offer refused: {ack}")
            await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))
            if self.media is not None:
                self.media.attach(pc)

    async def reconnect(self) -> None:
        """Come back after a drop: a new socket, then a new peer connection for the same session.

        The attempt answered before is forgotten, so the state the server sends
        on connect leads to exactly one offer.
        """
        self._offered = None
        self.sio = socketio.AsyncClient(reconnection=False)
        self._register()
        await self.connect()

    async def vanish(self) -> None:
        """Disappear without goodbye: drop the peer connection's transport and the socket."""
        if self.pc is not None:
            for t in self.pc.getTransceivers():
                bridge.abort_ice(t.receiver.transport)  # max-bundle: one transport for all
                break
        if self.sio.eio.ws is not None:
            await self.sio.eio.ws.close()
        await asyncio.sleep(0)

    async def wait_state(self, state: str, timeout: float = 15.0) -> None:
        try:
            await until(lambda: self.state == state, timeout, f"kiosk state {state!r}")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; now {self.state!r}, errors {self.errors[-3:]}") from None
