"""Producers and consumers: the mechanics of moving RTP through the router.

A :class:`Source` is one stream coming into the router (mediasoup calls it a
producer): a peer's microphone or camera (:mod:`server.media.receive`), the
hold-audio loop, or an agent's mix. A :class:`Consumer` is one stream leaving
the router towards one recipient, with the SSRC, payload type and sequence
space of one of the recipient's m-lines. The router attaches consumers to
sources as the routing matrix says; packets then flow source → consumers
with no decoding, no jitter buffer and no re-packetisation: the consumer only
rewrites SSRC, payload type, sequence number and timestamp so that a
recipient sees one continuous stream even when its source changes.

This is the product's hot path. A consumer knows nothing of aiortc: it packs
the 12-byte RTP header (plus the recipient's constant header-extension block)
itself and hands the datagram to a plain ``send(bytes)`` callable, which
:mod:`server.media.bridge` makes from the recipient's SRTP session and ICE
socket. One packet in costs one ``sendto`` per recipient and no coroutine
switches. Because everything comes in as callables (the send path, the
clock), the rewriting is tested byte by byte without a peer connection
(``tests/test_rtp_rewrite.py``).

Keyframe gating: a video consumer forwards nothing until the first packet of
a keyframe arrives, and asks its source for one (RTCP PLI), whenever its
stream starts afresh: a new source, a gap bridged upstream, and a send path
that has just (re)opened, that is a new peer connection coming up. A
recipient never sees a frame it cannot decode.

Sender reports: a consumer reports what it sent (packets, payload octets) and
maps its own RTP timestamps to wall-clock (NTP) time with its source's
mapping (:attr:`Source.timing`), shifted by its timestamp offset.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Protocol

from .quality import Reception
from .rtcp import sender_report
from .vp8 import starts_keyframe

CLOCK_RATE = {"audio": 48000, "video": 90000}

#: How many sent video packets a consumer keeps to answer NACKs.
NACK_HISTORY = 512

#: Shortest interval between two keyframe requests to one source.
KEYFRAME_REQUEST_INTERVAL = 0.25
#: A consumer still waiting for a keyframe after this long asks again (a PLI can be lost).
KEYFRAME_RETRY = 1.0

_HEADER = struct.Struct("!BBHLL")

Send = Callable[[bytes], None]
#: Opens a consumer's send path: ``(send, header extension block)`` once the
#: recipient's transport can carry media, else ``None``.
Connect = Callable[[], "tuple[Send, bytes] | None"]
#: (64-bit NTP time, RTP timestamp, local clock reading) that belong together.
Timing = tuple[int, int, float]


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
        #: Which wall-clock time goes with which of this source's RTP
        #: timestamps, and when (local clock) that was learnt: from the
        #: sender's RTCP sender reports, or the server's clock for server-made audio.
        self.timing: Timing | None = None

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
    """One outbound stream to a recipient: one SSRC, one payload type, one sequence space.

    ``connect`` opens the send path (see :data:`Connect`); it is called on
    the first packet and again after a send failed. ``clock`` is the
    monotonic clock (seconds) that timestamps gaps and sender reports.
    """

    def __init__(
        self,
        recipient: str,
        kind: str,
        ssrc: int,
        payload_type: int,
        connect: Connect,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recipient = recipient
        self.kind = kind
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.source: Source | None = None
        self.clock_rate = CLOCK_RATE[kind]
        self._connect = connect
        self._clock = clock
        self._send: Send | None = None
        #: A packet was lost because the path was not open (or a send failed).
        self._missed = False
        self._first_byte = 0x80
        self._extension = b""
        self._waiting_keyframe = kind == "video"
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
        self.retransmitted = 0
        self.retransmitted_bytes = 0
        self.dropped_waiting_keyframe = 0
        self.dropped_not_connected = 0
        #: What the recipient reports about this stream (loss, jitter, round trip).
        self.reception = Reception(self.clock_rate, clock)
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
        self._switched_at = self._clock()
        if source is not None:
            if self.kind == "video":
                self._close_gate()
            source.attach(self)
            if self.kind == "audio":
                latest = source.latest()
                if latest is not None:  # the switch is heard now, not at the next packet
                    self.forward(*latest)

    def close(self) -> None:
        self.set_source(None)
        self._send = None
        self._connect = lambda: None

    def bridge_gap(self) -> None:
        """Packets were lost before they reached the router: start cleanly after the gap.

        The recipient sees no hole in the numbering (a receiver that cannot
        get the lost packets back would stall on it): audio simply continues,
        video waits for the keyframe the source is asked for.
        """
        self._resync = True
        if self.kind == "video":
            self._waiting_keyframe = True
            self._keyframe_asked = self._clock()

    def _close_gate(self) -> None:
        """Forward no video until a keyframe starts, and ask the source for one."""
        self._waiting_keyframe = True
        self._keyframe_asked = self._clock()
        if self.source is not None:
            self.source.request_keyframe()

    def _open(self) -> Send | None:
        """Try to open the send path; a (re)opened video stream starts at a keyframe.

        A keyframe that went by while the path was not open never reached the
        recipient, so the gate closes again and, if any packet was missed, the
        source is asked for a new keyframe.
        """
        opened = self._connect()
        if opened is None:
            return None
        self._send, self._extension = opened
        self._first_byte = 0x90 if self._extension else 0x80
        self._resync = True
        if self.kind == "video":
            if self._missed:
                self._close_gate()
            else:
                self._waiting_keyframe = True
        self._missed = False
        return self._send

    # -- data path ------------------------------------------------------

    def forward(self, payload: bytes, marker: int, seq: int, ts: int) -> None:
        """Rewrite one packet of the source into this consumer's stream and send it."""
        send = self._send
        if send is None:
            send = self._open()
            if send is None:
                self.dropped_not_connected += 1
                self._missed = True
                return
        if self._waiting_keyframe:
            if not starts_keyframe(payload):
                self.dropped_waiting_keyframe += 1
                now = self._clock()
                if self.source is not None and now - self._keyframe_asked > KEYFRAME_RETRY:
                    self._keyframe_asked = now
                    self.source.request_keyframe()
                return
            self._waiting_keyframe = False
        now = self._clock()
        if self._resync:
            self._sync(seq, ts, now)
        out_seq = (seq + self._seq_offset) & 0xFFFF
        out_ts = (ts + self._ts_offset) & 0xFFFFFFFF
        data = (
            _HEADER.pack(self._first_byte, (marker << 7) | self.payload_type, out_seq, out_ts, self.ssrc)
            + self._extension
            + payload
        )
        self._last_seq = out_seq
        self._last_ts = out_ts
        self._last_time = now
        self.packets += 1
        self.bytes += len(payload)
        if self.kind == "video":
            self._history[out_seq % NACK_HISTORY] = (out_seq, data)
            if marker:
                self.frames += 1
        if self._switched_at is not None:
            if self.on_switched is not None:
                self.on_switched(self, now - self._switched_at)
            self._switched_at = None
        try:
            send(data)
        except Exception:  # socket gone, transport closed: open the path again next time
            self._send = None
            self._missed = True

    def pack(self, marker: int, seq: int, ts: int, payload: bytes) -> bytes:
        """One RTP packet of this stream, as :meth:`forward` writes it (for other consumers)."""
        header = _HEADER.pack(self._first_byte, (marker << 7) | self.payload_type, seq, ts, self.ssrc)
        return header + self._extension + payload

    def _sync(self, seq: int, ts: int, now: float) -> None:
        """Align a new source's numbering to continue this stream seamlessly."""
        if self._last_seq is None:
            self._seq_offset = 0
            self._ts_offset = 0
        else:
            self._seq_offset = (self._last_seq + 1 - seq) & 0xFFFF
            elapsed = max(1, int((now - self._last_time) * self.clock_rate))
            self._ts_offset = (self._last_ts + elapsed - ts) & 0xFFFFFFFF
        self._resync = False

    def keyframe_requested(self) -> None:
        """The recipient asked for a keyframe (PLI/FIR): pass it on to the source."""
        if self.source is not None:
            self.source.request_keyframe()

    def retransmit(self, seqs: list[int]) -> None:
        """Answer a NACK from the recipient with packets we still hold, as they were sent."""
        send = self._send
        if send is None:
            return
        header = 12 + len(self._extension)
        for seq in seqs:
            entry = self._history.get(seq % NACK_HISTORY)
            if entry is not None and entry[0] == seq:
                self.retransmitted += 1
                self.retransmitted_bytes += len(entry[1]) - header
                try:
                    send(entry[1])
                except Exception:
                    self._send = None
                    return

    # -- RTCP -------------------------------------------------------------

    def sender_report(self) -> bytes | None:
        """This stream's RTCP sender report now, or ``None`` while there is nothing true to say.

        Counts are what this consumer sent on its SSRC (retransmissions
        included); the NTP/RTP pair is the source's latest mapping, moved to
        now by the local clock and into this stream's timestamps by the
        current offset. Nothing is reported before the first packet, without
        a source, while a new source or a gap is not yet aligned, or while
        the source's own mapping is unknown (no sender report from it yet).
        """
        source = self.source
        if source is None or self._resync or self.packets == 0 or source.timing is None:
            return None
        ntp, rtp, at = source.timing
        elapsed = self._clock() - at
        ntp += int(elapsed * (1 << 32))
        self.reception.sent_report(ntp)  # the recipient's LSR names it: the round trip
        return sender_report(
            self.ssrc,
            ntp,
            rtp + self._ts_offset + round(elapsed * self.clock_rate),
            self.packets + self.retransmitted,
            self.bytes + self.retransmitted_bytes,
        )
