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

This is the product's hot path, so it stays below aiortc's objects where
that pays: a consumer packs the 12-byte RTP header (plus its constant ``mid``
extension) itself, encrypts with the transport's SRTP session and hands the
datagram straight to the nominated ICE pair's socket, synchronously. One
packet in costs one ``sendto`` per recipient and no coroutine switches.

Keyframe gating: a video consumer that gets a new source forwards nothing
until the first packet of a keyframe arrives, and asks the source for one
(RTCP PLI). A recipient never sees a frame it cannot decode.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from aiortc.rtp import HeaderExtensions, RtpPacket

from .vp8 import starts_keyframe

if TYPE_CHECKING:  # pragma: no cover
    from aiortc.rtcdtlstransport import RTCDtlsTransport

logger = logging.getLogger(__name__)

CLOCK_RATE = {"audio": 48000, "video": 90000}

#: How many sent video packets a consumer keeps to answer NACKs.
NACK_HISTORY = 512

#: Shortest interval between two keyframe requests to one source.
KEYFRAME_REQUEST_INTERVAL = 0.25
#: A consumer still waiting for a keyframe after this long asks again (a PLI can be lost).
KEYFRAME_RETRY = 1.0

_HEADER = struct.Struct("!BBHLL")


class Sink(Protocol):
    """Anything a source can feed: a consumer, or a recorder's tap."""

    def forward(self, payload: bytes, marker: int, seq: int, ts: int) -> None: ...


class Source:
    """A stream of RTP payloads entering the router (a producer)."""

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        self.consumers: list[Sink] = []
        self.packets = 0
        self.frames = 0
        self.bytes = 0

    def attach(self, consumer: Sink) -> None:
        if consumer not in self.consumers:
            self.consumers.append(consumer)

    def detach(self, consumer: Sink) -> None:
        if consumer in self.consumers:
            self.consumers.remove(consumer)

    def request_keyframe(self) -> None:
        """Ask whoever produces this stream for a keyframe (no-op by default)."""

    def latest(self) -> tuple[bytes, int, int, int] | None:
        """The newest audio packet, if less than one frame old (to start a new recipient at once)."""
        return None

    def emit(self, payload: bytes, marker: int, seq: int, ts: int) -> None:
        """Hand one packet to every consumer of this source."""
        self.packets += 1
        self.bytes += len(payload)
        if marker and self.kind == "video":
            self.frames += 1
        for consumer in self.consumers:
            consumer.forward(payload, marker, seq, ts)


class Consumer:
    """One outbound stream to a recipient, bound to one ``RTCRtpSender``.

    ``transport`` is the recipient's DTLS transport; ``mid`` the m-line the
    packets belong to; ``payload_type`` the recipient's negotiated one.
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
        # Send path, resolved once the transport is connected (see _ready).
        self._first_byte = 0x80
        self._extension = b""
        self._protect: Callable[[bytes], bytes] | None = None
        self._sendto: Callable[[bytes, tuple], None] | None = None
        self._address: tuple | None = None
        self.packets = 0
        self.frames = 0
        self.bytes = 0
        self.dropped_waiting_keyframe = 0
        self.dropped_not_connected = 0
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
            if self.kind == "audio":
                latest = source.latest()
                if latest is not None:  # the switch is heard now, not at the next packet
                    self.forward(*latest)

    def close(self) -> None:
        self.set_source(None)
        self._sendto = None

    def bridge_gap(self) -> None:
        """Packets were lost before they reached the router: start cleanly after the gap.

        The recipient sees no hole in the numbering (a receiver that cannot
        get the lost packets back would stall on it): audio simply continues,
        video waits for the keyframe the source is asked for.
        """
        self._resync = True
        if self.kind == "video":
            self._waiting_keyframe = True
            self._keyframe_asked = time.monotonic()

    # -- data path ------------------------------------------------------

    def forward(self, payload: bytes, marker: int, seq: int, ts: int) -> None:
        """Rewrite one packet of the source into this consumer's stream and send it."""
        if self._waiting_keyframe:
            if not starts_keyframe(payload):
                self.dropped_waiting_keyframe += 1
                now = time.monotonic()
                if self.source is not None and now - self._keyframe_asked > KEYFRAME_RETRY:
                    self._keyframe_asked = now
                    self.source.request_keyframe()
                return
            self._waiting_keyframe = False
        if self._sendto is None and not self._ready():
            self.dropped_not_connected += 1
            return
        if self._resync:
            self._sync(seq, ts)
        out_seq = (seq + self._seq_offset) & 0xFFFF
        out_ts = (ts + self._ts_offset) & 0xFFFFFFFF
        data = (
            _HEADER.pack(self._first_byte, (marker << 7) | self.payload_type, out_seq, out_ts, self.ssrc)
            + self._extension
            + payload
        )
        self._last_seq = out_seq
        self._last_ts = out_ts
        self._last_time = time.monotonic()
        self.packets += 1
        self.bytes += len(payload)
        if self.kind == "video":
            self._history[out_seq % NACK_HISTORY] = (out_seq, data)
            if marker:
                self.frames += 1
        if self._switched_at is not None:
            if self.on_switched is not None:
                self.on_switched(self, self._last_time - self._switched_at)
            self._switched_at = None
        self._send(data)

    def _send(self, data: bytes) -> None:
        try:
            self._sendto(self._protect(data), self._address)  # type: ignore[misc]
        except Exception:  # socket gone, transport closed: find the path again next time
            self._sendto = None

    def _ready(self) -> bool:
        """Resolve the send path: SRTP session and the nominated ICE pair's socket."""
        transport = self.transport
        srtp = getattr(transport, "_tx_srtp", None)
        if srtp is None or transport.state != "connected":
            return False
        pair = transport.transport._connection._nominated.get(1)
        if pair is None or pair.protocol.transport is None:
            return False
        if self.mid:
            profile, value = transport._rtp_header_extensions_map.set(HeaderExtensions(mid=self.mid))
        else:
            profile, value = 0, b""
        self._first_byte = 0x90 if value else 0x80
        self._extension = struct.pack("!HH", profile, len(value) >> 2) + value if value else b""
        self._protect = srtp.protect
        self._sendto = pair.protocol.transport.sendto
        self._address = pair.remote_addr
        return True

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
        self._resync = False

    def retransmit(self, seqs: list[int]) -> None:
        """Answer a NACK from the recipient with packets we still hold."""
        if self._sendto is None and not self._ready():
            return
        for seq in seqs:
            entry = self._history.get(seq % NACK_HISTORY)
            if entry is not None and entry[0] == seq:
                self._send(entry[1])


class ReceiverSource(Source):
    """A peer's microphone or camera, tapped from an aiortc ``RTCRtpReceiver``.

    The receiver's own packet handler (jitter buffer, decoder thread, REMB
    estimator) is replaced: packets go straight to the consumers.
    ``pcm_sinks`` also receive every payload (audio only: the mixer and
    recorders decode what they need).
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
        self.pcm_sinks: dict[object, Callable[[bytes], None]] = {}
        self.first_packet_at: float | None = None
        self._last_keyframe_request = 0.0
        self._pending_keyframe_request = False
        self._deferred_request: asyncio.TimerHandle | None = None
        self.keyframe_requests = 0
        #: Last audio level the sender reported (RFC 6464 -dBov: 0 loud, 127 silent).
        self.level = 127
        self._latest: tuple[bytes, int, int, int] | None = None
        self._latest_at = 0.0
        self._last_seq: int | None = None
        #: Times packets went missing between the sender and the router.
        self.upstream_gaps = 0
        receiver._handle_rtp_packet = self._on_rtp  # type: ignore[method-assign]

    #: Told of the media SSRC once it is known (the peer's fast receive path routes by it).
    on_ssrc: Callable[[int, "ReceiverSource"], None] | None = None

    async def _on_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        """aiortc's receive path (first packets, before the SSRC is known)."""
        if packet.payload_type not in self.payload_types or not packet.payload:
            return  # RTX, padding-only or unknown payload
        if packet.extensions.audio_level is not None:
            self.level = packet.extensions.audio_level[1]
        if self.media_ssrc != packet.ssrc:
            self.media_ssrc = packet.ssrc
            if self.first_packet_at is None:
                self.first_packet_at = time.monotonic()
            if self.on_ssrc is not None:
                self.on_ssrc(packet.ssrc, self)
            if self._pending_keyframe_request:
                self._pending_keyframe_request = False
                self.request_keyframe()
        self.receive(packet.payload, packet.marker, packet.sequence_number, packet.timestamp)

    def receive(self, payload: bytes, marker: int, seq: int, ts: int) -> None:
        """One media packet from the peer: to the PCM taps, then to every consumer."""
        last = self._last_seq
        if last is None:
            self._last_seq = seq
        else:
            gap = (seq - last - 1) & 0xFFFF
            if gap < 0x8000:  # in order (a late, reordered packet does not move the mark)
                self._last_seq = seq
                if gap:
                    self._gap()
        if self.kind == "audio":
            self._latest = (payload, marker, seq, ts)
            self._latest_at = time.monotonic()
        if self.pcm_sinks:
            for sink in list(self.pcm_sinks.values()):
                sink(payload)
        self.emit(payload, marker, seq, ts)

    def _gap(self) -> None:
        self.upstream_gaps += 1
        for consumer in self.consumers:
            if isinstance(consumer, Consumer):
                consumer.bridge_gap()
        self.request_keyframe()

    def latest(self) -> tuple[bytes, int, int, int] | None:
        if self._latest is not None and time.monotonic() - self._latest_at < 0.02:
            return self._latest
        return None

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

    def close(self) -> None:
        if self._deferred_request is not None:
            self._deferred_request.cancel()
            self._deferred_request = None
        self.pcm_sinks.clear()


_SEQ_TS = struct.Struct("!HL")
_SSRC = struct.Struct("!L")
_EXT = struct.Struct("!HH")


def fast_receive_path(transport, sources: dict[int, ReceiverSource]):
    """A replacement for the DTLS transport's RTP handler that skips ``RtpPacket``.

    Packets of a known media SSRC are cut into header fields and payload with
    ``struct`` and handed to their source; anything else (the first packets,
    RTX, unknown SSRCs) takes aiortc's own path, which teaches ``sources``
    the SSRC through :attr:`ReceiverSource.on_ssrc`.
    """
    slow = transport._handle_rtp_data
    ids = transport._rtp_header_extensions_map._HeaderExtensionsMap__ids

    async def handle(data: bytes, arrival_time_ms: int) -> None:
        if len(data) < 12:
            return
        source = sources.get(_SSRC.unpack_from(data, 8)[0])
        if source is None:
            await slow(data, arrival_time_ms)
            return
        second = data[1]
        if second & 0x7F not in source.payload_types:
            return
        first = data[0]
        offset = 12 + 4 * (first & 0x0F)
        if first & 0x10:
            if len(data) < offset + 4:
                return
            profile, words = _EXT.unpack_from(data, offset)
            if profile == 0xBEDE and source.kind == "audio" and ids.audio_level:
                _read_level(data, offset + 4, min(len(data), offset + 4 + 4 * words), ids.audio_level, source)
            offset += 4 + 4 * words
        end = len(data) - (data[-1] if first & 0x20 else 0)
        if end <= offset:
            return
        seq, ts = _SEQ_TS.unpack_from(data, 2)
        source.receive(data[offset:end], second >> 7, seq, ts)

    return handle


def _read_level(data: bytes, i: int, end: int, level_id: int, source: ReceiverSource) -> None:
    """Find the one-byte audio-level extension (RFC 6464) and note the level."""
    while i < end:
        b = data[i]
        if b == 0:  # padding
            i += 1
            continue
        if b >> 4 == level_id:
            if i + 1 < end:
                source.level = data[i + 1] & 0x7F
            return
        i += 2 + (b & 0x0F)
