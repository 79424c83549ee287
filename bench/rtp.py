"""The load generator's media plane: a cheap RTP pump and RTP-level counters.

The generator shares the machine with the server, so it does as little as
possible per packet. Senders loop ready-made payloads (:mod:`bench.media`),
stamp a pre-serialised RTP header (SSRC, payload type and the ``mid``
extension are fixed per stream; only marker, sequence number and timestamp
change), protect with the DTLS transport's SRTP context and hand the datagram
straight to the socket of the nominated ICE pair — the same bytes aiortc would
send, without its per-packet coroutines. Receivers replace the DTLS
transport's RTP handler: they read the header by hand, count packets, frames
(marker bits) and bytes per stream, and decode only samples.

This is the benchmark's one module that touches aiortc's private internals
(the nominated ICE pair, the SRTP context, the RTP and RTCP handlers, a
transceiver's negotiated codec and a sender's SSRC); the rest of ``bench/``
calls the functions here. (The routers under test, :mod:`bench.transcode`,
use aiortc's codecs as the server's media package does.)
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import struct
import time
from collections.abc import Callable

from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket, RtpPacket

from server.media import bridge

from .media import AUDIO_FRAME, VideoClip

_SEQ_TS = struct.Struct("!HI")
_SSRC = struct.Struct("!I")


def payload_type(transceiver) -> int | None:
    """The payload type ``transceiver`` negotiated (its first codec), or ``None`` before negotiation."""
    return bridge.payload_type(transceiver)


def sender_ssrc(transceiver) -> int:
    """The SSRC aiortc chose for ``transceiver``'s sender (the pump sends with it)."""
    return bridge.sender_ssrc(transceiver.sender)


def on_keyframe_request(transceiver, request: Callable[[], None]) -> None:
    """Call ``request`` when the server asks ``transceiver``'s sender for a keyframe (PLI or FIR).

    The request is consumed here (aiortc's own sender sends nothing); any other
    RTCP still goes to aiortc.
    """

    def take(packet) -> bool:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            request()
            return True
        return False

    bridge.intercept_sender_rtcp(transceiver.sender, take)


def _direct_send(dtls) -> Callable[[bytes], None]:
    """A synchronous send of one protected datagram on the nominated ICE pair (``dtls`` is connected)."""
    path = bridge.rtp_path(dtls, None)()
    if path is None:
        raise RuntimeError("the DTLS transport is not connected")
    return path[0]


class Stream:
    """One outgoing stream (audio or video) of one simulated client."""

    def __init__(self, name: str, kind: str, dtls, ssrc: int, payload_type: int, mid: str | None, clip) -> None:
        self.name = name
        self.kind = kind
        self.dtls = dtls
        self.clip = clip
        packet = RtpPacket(payload_type=payload_type, ssrc=ssrc)
        packet.extensions.mid = mid
        self._header = packet.serialize(bridge.header_extensions(dtls))
        self._send: Callable[[bytes], None] | None = None
        self.seq = 0
        self.ts = 0
        self.index = 0
        self.packets = 0
        self.frames = 0
        self.bytes = 0
        #: Packets sent while the matrix routes this stream somewhere (kiosk audio: while focused).
        self.routed_packets = 0
        self.routed = True
        self.keyframe_requests = 0
        self._jump = False
        self.next_at = 0.0
        self.period = 1 / clip.fps if kind == "video" else AUDIO_FRAME / 48000
        self.closed = False

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        self._jump = True

    def _emit(self, payload: bytes, marker: bool) -> None:
        header = bytearray(self._header)
        if marker:
            header[1] |= 0x80
        _SEQ_TS.pack_into(header, 2, self.seq, self.ts)
        self.seq = (self.seq + 1) & 0xFFFF
        if self._send is None:
            self._send = _direct_send(self.dtls)
        self._send(bytes(header) + payload)
        self.packets += 1
        self.bytes += len(payload)
        if self.routed:
            self.routed_packets += 1

    def send_due(self) -> None:
        """Send one frame (video: all its packets) or one 20 ms audio packet."""
        if self.kind == "audio":
            payloads = self.clip
            self._emit(payloads[self.index], False)
            self.index = (self.index + 1) % len(payloads)
            self.ts = (self.ts + AUDIO_FRAME) & 0xFFFFFFFF
            return
        clip: VideoClip = self.clip
        if self._jump:
            self._jump = False
            later = [k for k in clip.keyframes if k > self.index]
            self.index = later[0] if later else clip.keyframes[0]
        frame = clip.frames[self.index]
        last = len(frame) - 1
        for i, payload in enumerate(frame):
            self._emit(payload, i == last)
        self.frames += 1
        self.index = (self.index + 1) % len(clip.frames)
        self.ts = (self.ts + 90000 // clip.fps) & 0xFFFFFFFF


class Pump:
    """Sends every stream of this process on time, from one task (a heap of due times)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Stream]] = []
        self._counter = 0
        self.paused = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.errors = 0

    def add(self, stream: Stream, phase: float = 0.0) -> None:
        stream.next_at = time.monotonic() + phase
        self._counter += 1
        heapq.heappush(self._heap, (stream.next_at, self._counter, stream))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="rtp pump")
        self._wake.set()

    def pause(self) -> None:
        self.paused = True

    async def close(self) -> None:
        """Stop sending: cancel the pump's task and wait for it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def resume(self) -> None:
        if not self.paused:
            return
        self.paused = False
        now = time.monotonic()
        self._heap = [(max(t, now), c, s) for t, c, s in self._heap]
        heapq.heapify(self._heap)
        self._wake.set()

    async def _run(self) -> None:
        heap = self._heap
        while True:
            heap = self._heap
            if self.paused or not heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = time.monotonic()
            due, _, _ = heap[0]
            if due > now:
                await asyncio.sleep(due - now)
                continue
            while heap and heap[0][0] <= now and not self.paused:
                due, c, stream = heapq.heappop(heap)
                if stream.closed:
                    continue
                try:
                    stream.send_due()
                except Exception:  # a closed transport: drop the stream
                    self.errors += 1
                    stream.closed = True
                    continue
                nxt = due + stream.period
                if nxt < now - 0.2:  # fell far behind: skip, do not burst
                    nxt = now + stream.period
                heapq.heappush(heap, (nxt, c, stream))


class Counter:
    """What one receiving m-line got: packets, frames (marker bits), bytes."""

    __slots__ = ("name", "kind", "packets", "frames", "bytes", "payload_types", "on_packet", "other")

    def __init__(self, name: str, kind: str, payload_types: set[int] | None = None) -> None:
        self.name = name
        self.kind = kind
        self.packets = 0
        self.frames = 0
        self.bytes = 0
        self.other = 0
        self.payload_types = payload_types
        #: Optional hook: called with (payload, marker) for each media packet.
        self.on_packet: Callable[[bytes, bool], None] | None = None


def tap_receive(dtls, counters_by_mid: dict[str, Counter]) -> None:
    """Replace ``dtls``'s RTP handler by RTP-level counting into ``counters_by_mid``.

    The first packet of each SSRC is parsed fully to learn its m-line from the
    ``mid`` header extension; later packets of that SSRC are only read by hand.
    """
    by_ssrc: dict[int, Counter | None] = {}
    ext_map = bridge.header_extensions(dtls)

    async def handle(data: bytes, arrival_time_ms: int = 0) -> None:
        ssrc = _SSRC.unpack_from(data, 8)[0]
        counter = by_ssrc.get(ssrc, False)
        if counter is False:
            try:
                packet = RtpPacket.parse(data, ext_map)
            except ValueError:
                return
            if packet.extensions.mid is None:
                return  # not yet known (e.g. padding-only probe without mid): ask again next time
            counter = by_ssrc[ssrc] = counters_by_mid.get(packet.extensions.mid)
        if counter is None:
            return
        b0 = data[0]
        b1 = data[1]
        if counter.payload_types is not None and (b1 & 0x7F) not in counter.payload_types:
            counter.other += 1
            return
        pos = 12 + 4 * (b0 & 0x0F)
        if b0 & 0x10:
            pos += 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])
        end = len(data)
        if b0 & 0x20:  # padding
            end -= data[-1]
        if end <= pos:
            return  # padding only
        marker = b1 & 0x80
        counter.packets += 1
        counter.bytes += end - pos
        if marker:
            counter.frames += 1
        if counter.on_packet is not None:
            counter.on_packet(data[pos:end], bool(marker))

    bridge.replace_rtp_handler(dtls, handle)
