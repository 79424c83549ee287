"""Producers and consumers: the mechanics of moving RTP through the router.

A :class:`Source` is one stream coming into the router (mediasoup calls it a
producer): a peer's microphone or camera, the hold-audio loop, or an agent's
mix. A :class:`Consumer` is one stream leaving the router towards one
recipient, bound to an aiortc ``RTCRtpSender`` whose SSRC, payload type and
sequence space it owns. The router attaches consumers to sources as the
routing matrix says; packets then flow source → consumers with no decoding,
no jitter buffer and no re-packetisation: the consumer only rewrites SSRC,
payload type, sequence number and timestamp so that a recipient sees one
continuous stream even when its source changes.

Keyframe gating: a video consumer that gets a new source forwards nothing
until the first packet of a keyframe arrives, and asks the source for one
(RTCP PLI). A recipient never sees a frame it cannot decode.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiortc.rtp import RtpPacket

from .vp8 import starts_keyframe

if TYPE_CHECKING:  # pragma: no cover
    from aiortc.rtcdtlstransport import RTCDtlsTransport

CLOCK_RATE = {"audio": 48000, "video": 90000}

#: How many sent video packets a consumer keeps to answer NACKs.
NACK_HISTORY = 512

#: Shortest interval between two keyframe requests to one source.
KEYFRAME_REQUEST_INTERVAL = 0.25
#: A consumer still waiting for a keyframe after this long asks again (a PLI can be lost).
KEYFRAME_RETRY = 1.0


class Source:
    """A stream of RTP packets entering the router (a producer)."""

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        self.consumers: list[Consumer] = []
        self.packets = 0
        self.frames = 0
        self.bytes = 0

    def attach(self, consumer: "Consumer") -> None:
        if consumer not in self.consumers:
            self.consumers.append(consumer)

    def detach(self, consumer: "Consumer") -> None:
        if consumer in self.consumers:
            self.consumers.remove(consumer)

    def request_keyframe(self) -> None:
        """Ask whoever produces this stream for a keyframe (no-op by default)."""

    async def emit(self, packet: RtpPacket) -> None:
        """Hand one packet to every consumer of this source."""
        self.packets += 1
        self.bytes += len(packet.payload)
        if packet.marker and self.kind == "video":
            self.frames += 1
        seq = packet.sequence_number
        ts = packet.timestamp
        for consumer in self.consumers:
            await consumer.forward(packet, seq, ts)


class Consumer:
    """One outbound stream to a recipient, bound to one ``RTCRtpSender``.

    ``send_rtp`` is the transport's send function (encrypts and sends one
    serialised RTP or RTCP packet); ``mid`` the m-line id the packets belong
    to. ``payload_type`` is the recipient's negotiated payload type.
    """

    def __init__(
        self,
        recipient: str,
        kind: str,
        ssrc: int,
        payload_type: int,
        mid: str | None,
        transport: "RTCDtlsTransport",
    ) -> None:
        self.recipient = recipient
        self.kind = kind
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.mid = mid
        self.transport = transport
        self.source: Source | None = None
        self.clock_rate = CLOCK_RATE[kind]
        self._waiting_keyframe = False
        self._keyframe_asked = 0.0
        self._resync = True
        self._seq_offset = 0
        self._ts_offset = 0
        self._last_seq: int | None = None
        self._last_ts = 0
        self._last_time = 0.0
        self._history: dict[int, tuple[int, bytes]] = {}
        self.packets = 0
        self.frames = 0
        self.bytes = 0
        self.dropped_waiting_keyframe = 0
        #: Called with the time of the first packet sent after a source change.
        self.on_switched: Callable[["Consumer", float], None] | None = None
        self._switched_at: float | None = None

    # -- control -------------------------------------------------------

    def set_source(self, source: Source | None) -> None:
        """Make ``source`` the stream this recipient gets (``None``: nothing)."""
        if source is self.source:
            return
        if self.source is not None:
            self.source.detach(self)
        self.source = source
        self._resync = True
        self._switched_at = time.monotonic()
        if source is not None:
            if self.kind == "video":
                self._waiting_keyframe = True
                self._keyframe_asked = time.monotonic()
                source.request_keyframe()
            source.attach(self)

    def close(self) -> None:
        self.set_source(None)

    # -- data path ------------------------------------------------------

    async def forward(self, packet: RtpPacket, seq: int, ts: int) -> None:
        """Rewrite ``packet`` into this consumer's stream and send it.

        ``seq`` and ``ts`` are the packet's original sequence number and
        timestamp (the packet object is shared by all consumers of a source
        and rewritten in place before each send).
        """
        if self._waiting_keyframe:
            if not starts_keyframe(packet.payload):
                self.dropped_waiting_keyframe += 1
                if self.source is not None and time.monotonic() - self._keyframe_asked > KEYFRAME_RETRY:
                    self._keyframe_asked = time.monotonic()
                    self.source.request_keyframe()
                return
            self._waiting_keyframe = False
        if self._resync:
            self._sync(seq, ts)
        out_seq = (seq + self._seq_offset) & 0xFFFF
        out_ts = (ts + self._ts_offset) & 0xFFFFFFFF
        packet.ssrc = self.ssrc
        packet.payload_type = self.payload_type
        packet.sequence_number = out_seq
        packet.timestamp = out_ts
        packet.extensions.mid = self.mid
        data = packet.serialize(self.transport._rtp_header_extensions_map)
        self._last_seq = out_seq
        self._last_ts = out_ts
        self.packets += 1
        self.bytes += len(packet.payload)
        if self.kind == "video":
            self._history[out_seq % NACK_HISTORY] = (out_seq, data)
            if packet.marker:
                self.frames += 1
        if self._switched_at is not None:
            if self.on_switched is not None:
                self.on_switched(self, time.monotonic() - self._switched_at)
            self._switched_at = None
        try:
            await self.transport._send_rtp(data)
        except ConnectionError:
            pass

    def _sync(self, seq: int, ts: int) -> None:
        """Align a new source's numbering to continue this stream seamlessly."""
        now = time.monotonic()
        if self._last_seq is None:
            self._seq_offset = 0
            self._ts_offset = 0
        else:
            self._seq_offset = (self._last_seq + 1 - seq) & 0xFFFF
            elapsed = max(1, int((now - self._last_time) * self.clock_rate))
            self._ts_offset = (self._last_ts + elapsed - ts) & 0xFFFFFFFF
        self._last_time = now
        self._resync = False

    async def retransmit(self, seqs: list[int]) -> None:
        """Answer a NACK from the recipient with packets we still hold."""
        for seq in seqs:
            entry = self._history.get(seq % NACK_HISTORY)
            if entry is not None and entry[0] == seq:
                try:
                    await self.transport._send_rtp(entry[1])
                except ConnectionError:
                    return

    def note_time(self) -> None:
        """Record wall time of the last packet (used to continue timestamps)."""
        self._last_time = time.monotonic()


class ReceiverSource(Source):
    """A peer's microphone or camera, tapped from an aiortc ``RTCRtpReceiver``.

    The receiver's own packet handler (jitter buffer, decoder thread, REMB
    estimator) is replaced: packets go straight to the consumers.
    ``pcm_sink``, when set, also receives every audio payload (for mixing).
    """

    def __init__(
        self,
        name: str,
        kind: str,
        receiver,
        payload_types: set[int],
    ) -> None:
        super().__init__(name, kind)
        self.receiver = receiver
        self.payload_types = payload_types
        self.media_ssrc: int | None = None
        self.pcm_sink: Callable[[bytes], None] | None = None
        self.first_packet_at: float | None = None
        self._last_keyframe_request = 0.0
        self._pending_keyframe_request = False
        self._deferred_request: asyncio.TimerHandle | None = None
        self.keyframe_requests = 0
        receiver._handle_rtp_packet = self._on_rtp  # type: ignore[method-assign]

    async def _on_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        if packet.payload_type not in self.payload_types or not packet.payload:
            return  # RTX, padding-only or unknown payload
        if self.media_ssrc != packet.ssrc:
            self.media_ssrc = packet.ssrc
            if self.first_packet_at is None:
                self.first_packet_at = time.monotonic()
            if self._pending_keyframe_request:
                self._pending_keyframe_request = False
                self.request_keyframe()
        if self.pcm_sink is not None:
            self.pcm_sink(packet.payload)
        await self.emit(packet)

    def _deferred(self) -> None:
        self._deferred_request = None
        self.request_keyframe()

    def request_keyframe(self) -> None:
        if self.kind != "video":
            return
        if self.media_ssrc is None:
            self._pending_keyframe_request = True
            return
        now = time.monotonic()
        wait = self._last_keyframe_request + KEYFRAME_REQUEST_INTERVAL - now
        if wait > 0:
            # Asked very recently: the keyframe may already have gone by before
            # this new consumer attached, so ask once more when allowed.
            if self._deferred_request is None:
                self._deferred_request = asyncio.get_event_loop().call_later(wait, self._deferred)
            return
        self._last_keyframe_request = now
        self.keyframe_requests += 1
        asyncio.ensure_future(self.receiver._send_rtcp_pli(self.media_ssrc))


SendFunc = Callable[[bytes], Awaitable[None]]
