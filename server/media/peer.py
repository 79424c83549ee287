"""One client's peer connection, terminated at the router.

:class:`Peer` answers a client's complete offer, checks that its media layout
is the one its role must use (see ``docs/protocol.md``), restricts codecs to
VP8 and Opus (the router forwards encoded media, so everyone must speak the
same codecs), and exposes the connection as router parts: a
:class:`~server.media.receive.ReceiverSource` per incoming stream and a
:class:`~server.media.streams.Consumer` per outgoing stream, wired to the
connection through :mod:`server.media.bridge`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy

from . import bridge
from .ice import use_host_addresses, use_network
from .network import MediaNetwork
from .quality import PeerMeter
from signaling.core.quality import Teller
from signaling.core.errors import OfferError
from signaling.core.matrix import MAX_KIOSKS
from .receive import ReceiverSource
from .rtcp import picture_loss
from .streams import Consumer

KIOSK = "kiosk"
AGENT = "agent"
SUPERVISOR = "supervisor"
GUEST = "guest"
ROLES = (KIOSK, AGENT, SUPERVISOR, GUEST)

#: The most video streams a role receives: a member the agent and their guest; a guest the agent and
#: their member; the agent the six tiles and each tile's guest; a supervisor the six tiles and the agent's camera.
MAX_VIDEO = {KIOSK: 2, GUEST: 2, AGENT: 2 * MAX_KIOSKS, SUPERVISOR: MAX_KIOSKS + 1}

MEDIA_CODECS = {"audio": "audio/opus", "video": "video/VP8"}


class ParkedTrack(MediaStreamTrack):
    """A track that never yields, so aiortc's own send loop stays asleep.

    The router writes RTP to the transport directly; the sender only needs a
    track so that it negotiates sending and runs its RTCP.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._never: asyncio.Future = asyncio.get_event_loop().create_future()

    async def recv(self):  # pragma: no cover - never returns
        return await self._never

    def stop(self) -> None:
        super().stop()
        if not self._never.done():
            self._never.cancel()


def _expected_layouts(role: str) -> list[list[tuple[str, str]]]:
    """The layouts a role may offer: (kind, direction as the client offers it) for each m-line.

    A booth may add a third m-line (``video recvonly``) to see a guest next
    to the agent; a guest's layout is that one (its camera, the agent, its
    member); a supervisor sends only audio and receives the six tiles and
    the agent's camera. An agent may add six more ``video recvonly``
    m-lines, one per tile, for that tile's member's guest (a console
    without them sees no guest, but hears them).
    """
    member = [("audio", "sendrecv"), ("video", "sendrecv")]
    if role == KIOSK:
        return [member, member + [("video", "recvonly")]]
    if role == GUEST:
        return [member + [("video", "recvonly")]]
    if role == SUPERVISOR:
        return [[("audio", "sendrecv")] + [("video", "recvonly")] * (MAX_KIOSKS + 1)]
    agent = [("audio", "sendrecv"), ("video", "sendonly")] + [("video", "recvonly")] * MAX_KIOSKS
    return [agent, agent + [("video", "recvonly")] * MAX_KIOSKS]


class Peer:
    """A client's single peer connection, as parts the router can wire.

    After :meth:`answer`, ``audio_in``/``video_in`` are the client's
    microphone and camera (``None`` where the client does not send), and
    ``audio_out``/``video_out`` the streams the router may send it (for an
    agent, ``video_out`` has one consumer per tile).
    """

    #: The class of the outgoing streams (a benchmark swaps in a transcoding one).
    consumer_class: type[Consumer] = Consumer

    def __init__(
        self,
        peer_id: str,
        role: str,
        on_state: Callable[["Peer", str], None],
        ice_addresses: list[str] | None = None,
        network: MediaNetwork | None = None,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        self.peer_id = peer_id
        self.role = role
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.audio_in: ReceiverSource | None = None
        self.video_in: ReceiverSource | None = None
        self.audio_out: Consumer | None = None
        self.video_out: list[Consumer] = []
        #: Datagrams from strangers dropped at this connection's sockets.
        self.strangers = bridge.Strangers()
        self.state = "new"
        self.ice_addresses = ice_addresses
        #: The port range and announced addresses of this peer's sockets (None: the process default).
        self.network = network
        self._on_state = on_state
        #: The client stopped answering ICE consent checks (RFC 7675): its network is gone.
        self.consent_lost = False
        #: This connection's network numbers, and when its quality is worth an event (the room samples).
        self.meter = PeerMeter()
        self.teller = Teller()

        @self.pc.on("connectionstatechange")
        def _changed() -> None:
            state = self.pc.connectionState
            if self.consent_lost and state == "closed":
                return  # already reported as "failed"
            self._report(state)

    def _report(self, state: str) -> None:
        self.state = state
        self._on_state(self, state)

    def _consent_lost(self) -> None:
        """aioice gave up on the client and closed the connection: that is a failure, not a close.

        aiortc would report it as ``closed`` (see :func:`server.media.bridge.on_consent_lost`),
        which the hub takes for a peer that left; ``failed`` starts a new media
        attempt for the same session (docs/protocol.md, "When a booth offers").
        """
        if not self.consent_lost:
            self.consent_lost = True
            self._report("failed")

    async def answer(self, offer_sdp: str) -> str:
        """Answer the client's complete offer; returns the complete answer SDP."""
        use_host_addresses(self.ice_addresses)  # for the ICE gathering below, in this task only
        use_network(self.network)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except Exception as exc:  # aiortc raises ValueError, OperationError, ...
            raise OfferError(f"the offer could not be used: {exc}") from exc
        transceivers = self.pc.getTransceivers()
        layout = [(t.kind, bridge.offer_direction(t)) for t in transceivers]
        layouts = _expected_layouts(self.role)
        if layout not in [[(k, _reverse(d)) for k, d in expected] for expected in layouts]:
            raise OfferError(
                f"a {self.role} offer must have the m-lines "
                + " or ".join(str([f"{k} {d}" for k, d in expected]) for expected in layouts)
            )
        for t in transceivers:
            self._keep_media_codec(t)
            # the offer's direction from our side: "sendonly" means the
            # client only receives on this m-line.
            offered = bridge.offer_direction(t)
            if offered in ("sendonly", "sendrecv"):
                t.sender.replaceTrack(ParkedTrack(t.kind))
                t.direction = "sendrecv" if offered == "sendrecv" else "sendonly"
            else:
                t.direction = "recvonly"
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        self._build_parts(transceivers)
        return self.pc.localDescription.sdp

    @staticmethod
    def _keep_media_codec(t) -> None:
        wanted = MEDIA_CODECS[t.kind]
        offered = bridge.codecs(t)
        media = [c for c in offered if c.mimeType.lower() == wanted.lower()]
        if not media:
            raise OfferError(f"the offer has no {wanted} for its {t.kind} m-line")
        pt = media[0].payloadType
        rtx = [
            c
            for c in offered
            if c.mimeType.lower().endswith("/rtx") and c.parameters.get("apt") == pt
        ]
        bridge.set_codecs(t, media[:1] + rtx[:1])

    def _build_parts(self, transceivers) -> None:
        by_ssrc: dict[int, ReceiverSource] = {}
        if not transceivers:
            return
        # max-bundle: one transport carries every m-line
        transport = transceivers[0].receiver.transport
        send_rtcp = bridge.rtcp_path(transport)
        for t in transceivers:
            pt = bridge.payload_type(t)
            offered = bridge.offer_direction(t)
            if offered in ("recvonly", "sendrecv"):
                rtcp_ssrc = bridge.sender_ssrc(t.sender)  # what aiortc's receiver signs its own RTCP with

                def send_pli(media_ssrc: int, rtcp_ssrc: int = rtcp_ssrc) -> None:
                    send_rtcp(picture_loss(rtcp_ssrc, media_ssrc))

                source = ReceiverSource(f"{self.peer_id}:{t.kind}", t.kind, {pt}, send_pli)
                source.on_ssrc = lambda ssrc, src: by_ssrc.__setitem__(ssrc, src)
                bridge.tap_receiver(t.receiver, source)
                if t.kind == "audio":
                    self.audio_in = source
                else:
                    self.video_in = source
            if offered in ("sendonly", "sendrecv"):
                consumer = self.consumer_class(
                    recipient=self.peer_id,
                    kind=t.kind,
                    ssrc=bridge.sender_ssrc(t.sender),
                    payload_type=pt,
                    connect=bridge.rtp_path(t.sender.transport, t.mid),
                )
                bridge.take_feedback(t.sender, consumer)
                bridge.own_sender_reports(t.sender, consumer.sender_report, send_rtcp)
                if t.kind == "audio":
                    self.audio_out = consumer
                else:
                    self.video_out.append(consumer)
        bridge.fast_receive_path(transport, by_ssrc)
        self.strangers = bridge.guard_sockets(transport)
        bridge.on_consent_lost(transport, self._consent_lost)

    def consumers(self) -> list[Consumer]:
        return ([self.audio_out] if self.audio_out else []) + self.video_out

    async def close(self) -> None:
        for consumer in self.consumers():
            consumer.close()
        for source in (self.audio_in, self.video_in):
            if source is not None:
                source.close()
        await self.pc.close()


def _reverse(direction: str) -> str:
    return {"sendonly": "recvonly", "recvonly": "sendonly"}.get(direction, direction)

