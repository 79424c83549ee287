"""A peer's microphone or camera as a router source.

A :class:`ReceiverSource` gets the peer's RTP packets already cut into
payload and header fields (by :mod:`server.media.bridge`, which taps the
aiortc receiver and transport), notices packets lost on the way to the
router, notes the sender's reports, and sends keyframe requests through a
plain ``send_pli(media_ssrc)`` callable, rate-limited.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Awaitable, Callable

from .streams import KEYFRAME_REQUEST_INTERVAL, Consumer, Source

_SEQ_TS = struct.Struct("!HL")
#: Opus's RTP clock (RFC 7587): an audio timestamp in seconds, for the jitter.
AUDIO_CLOCK_RATE = 48000
_SSRC = struct.Struct("!L")
_EXT = struct.Struct("!HH")

#: Schedules ``callback`` after ``delay`` seconds; returns something with ``cancel()``.
CallLater = Callable[[float, Callable[[], None]], asyncio.TimerHandle]


class ReceiverSource(Source):
    """One stream a peer sends to the router.

    ``pcm_sinks`` also receive every payload (audio only: the mixer and
    recorders decode what they need).
    """

    def __init__(
        self,
        name: str,
        kind: str,
        payload_types: set[int],
        send_pli: Callable[[int], None],
        clock: Callable[[], float] = time.monotonic,
        call_later: CallLater | None = None,
    ) -> None:
        super().__init__(name, kind)
        self.payload_types = payload_types
        self.media_ssrc: int | None = None
        self.pcm_sinks: dict[object, Callable[[bytes], None]] = {}
        self.first_packet_at: float | None = None
        self._send_pli = send_pli
        self._clock = clock
        self._call_later = call_later
        self._last_keyframe_request: float | None = None
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
        #: Sender reports received from the peer for this stream.
        self.sender_reports = 0
        #: Packets received, and packets the sequence numbers say were sent (the network quality's loss).
        self.received = 0
        self.expected = 0
        #: RFC 3550 interarrival jitter of an audio stream, in seconds (:mod:`server.media.quality`).
        self.jitter = 0.0
        self._transit: float | None = None

    #: Told of the media SSRC once it is known (the peer's fast receive path routes by it).
    on_ssrc: Callable[[int, "ReceiverSource"], None] | None = None

    def learn_ssrc(self, ssrc: int) -> None:
        """The stream's media SSRC (from its first packets, on aiortc's slow path)."""
        if self.media_ssrc == ssrc:
            return
        self.media_ssrc = ssrc
        if self.first_packet_at is None:
            self.first_packet_at = self._clock()
        if self.on_ssrc is not None:
            self.on_ssrc(ssrc, self)
        if self._pending_keyframe_request:
            self._pending_keyframe_request = False
            self.request_keyframe()

    def receive(self, payload: bytes, marker: int, seq: int, ts: int) -> None:
        """One media packet from the peer: to the PCM taps, then to every consumer."""
        last = self._last_seq
        self.received += 1
        if last is None:
            self._last_seq = seq
            self.expected += 1
        else:
            gap = (seq - last - 1) & 0xFFFF
            if gap < 0x8000:  # in order (a late, reordered packet does not move the mark)
                self._last_seq = seq
                self.expected += gap + 1
                if gap:
                    self._gap()
        if self.kind == "audio":
            self._latest = (payload, marker, seq, ts)
            now = self._latest_at = self._clock()
            transit = now - ts / AUDIO_CLOCK_RATE
            if self._transit is not None:
                d = abs(transit - self._transit)
                if d < 10.0:  # not a timestamp jump (a new sender, a wrap)
                    self.jitter += (d - self.jitter) / 16
            self._transit = transit
        if self.pcm_sinks:
            for sink in list(self.pcm_sinks.values()):
                sink(payload)
        self.emit(payload, marker, seq, ts)

    def note_sender_report(self, ntp: int, rtp_timestamp: int, packets: int) -> None:
        """The peer's RTCP sender report for this stream: its wall clock at one of its timestamps.

        A report sent before the sender's first packet (aiortc sends those,
        with an NTP time of zero) maps nothing and is ignored.
        """
        if not packets or not ntp:
            return
        self.sender_reports += 1
        self.timing = (ntp, rtp_timestamp, self._clock())

    def _gap(self) -> None:
        self.upstream_gaps += 1
        for consumer in self.consumers:
            if isinstance(consumer, Consumer):
                consumer.bridge_gap()
        self.request_keyframe()

    def latest(self) -> tuple[bytes, int, int, int] | None:
        if self._latest is not None and self._clock() - self._latest_at < 0.02:
            return self._latest
        return None

    def _deferred(self) -> None:
        self._deferred_request = None
        self.request_keyframe()

    def request_keyframe(self) -> None:
        """Send a PLI to the peer, at most once per :data:`KEYFRAME_REQUEST_INTERVAL`.

        A request within the interval is not lost: one more PLI goes when the
        interval is over (the keyframe asked for earlier may have gone by
        before the consumer that asks now was attached).
        """
        if self.kind != "video":
            return
        if self.media_ssrc is None:
            self._pending_keyframe_request = True
            return
        now = self._clock()
        if self._last_keyframe_request is not None:
            wait = self._last_keyframe_request + KEYFRAME_REQUEST_INTERVAL - now
            if wait > 0:
                if self._deferred_request is None:
                    call_later = self._call_later or asyncio.get_event_loop().call_later
                    self._deferred_request = call_later(wait, self._deferred)
                return
        self._last_keyframe_request = now
        self.keyframe_requests += 1
        self._send_pli(self.media_ssrc)

    def close(self) -> None:
        if self._deferred_request is not None:
            self._deferred_request.cancel()
            self._deferred_request = None
        self.pcm_sinks.clear()


RtpHandler = Callable[[bytes, int], Awaitable[None]]


def fast_rtp_handler(
    slow: RtpHandler, sources: dict[int, ReceiverSource], level_id: Callable[[], int | None]
) -> RtpHandler:
    """A decrypted-RTP handler that cuts packets of a known SSRC with ``struct``, for its source.

    Anything of an unknown SSRC goes to ``slow`` (aiortc's own handler);
    ``level_id()`` is the negotiated id of the audio-level extension (RFC 6464),
    asked per packet that carries extensions: the handler is installed before
    the transport has negotiated its extensions (aiortc configures them once
    DTLS is up). Installed by :func:`server.media.bridge.fast_receive_path`.
    """

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
            if profile == 0xBEDE and source.kind == "audio":
                level = level_id()
                if level:
                    _read_level(data, offset + 4, min(len(data), offset + 4 + 4 * words), level, source)
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
