"""The transcoding baseline: the same router, but every forwarded stream is
decoded and re-encoded.

Selected in the server process with
``--media-router bench.transcode:TranscodingRouter``. Routing, the matrix and
keyframe gating are the forwarding router's own; only the consumers differ:
a :class:`TranscodingConsumer` reassembles each incoming VP8 frame, decodes it
(libvpx) and encodes it again for its recipient with aiortc's own
``Vp8Encoder`` (CBR 1 Mbit/s, realtime, the settings aiortc uses when it
encodes), then packetizes it; audio is Opus-decoded and re-encoded packet by
packet with aiortc's ``OpusDecoder``/``OpusEncoder``. This is what an aiortc
server that relays tracks through ``recv()``/``addTrack()`` does, and what
DESIGN.md means by "transcoding cannot hold one room".
"""

from __future__ import annotations

import time

from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame

from server.media.peer import Peer
from server.media.streams import NACK_HISTORY, Consumer
from server.media.vp8 import starts_keyframe

from .instrumented import InstrumentedRouter

VIDEO_BITRATE = 1_000_000

#: Decode/encode counts of this worker process.
COUNTS = {"video_decoded": 0, "video_encoded": 0, "audio_decoded": 0, "audio_encoded": 0, "decode_errors": 0}


class TranscodingConsumer(Consumer):
    """A consumer that decodes what its source sends and encodes it again."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._out_seq = 0
        self._frame: list[bytes] = []
        self._decoder = None
        self._encoder = None
        self._force_keyframe = True

    def set_source(self, source) -> None:
        if source is not self.source:
            self._frame = []
            self._decoder = None  # a new source is a new bitstream
            self._force_keyframe = True
        super().set_source(source)

    def keyframe_requested(self) -> None:
        """Our own encoder answers the recipient's keyframe request."""
        self._force_keyframe = True

    def forward(self, payload: bytes, marker: int, seq: int, ts: int) -> None:
        if self._send is None and self._open() is None:
            return
        if self._waiting_keyframe:
            if not starts_keyframe(payload):
                self.dropped_waiting_keyframe += 1
                return
            self._waiting_keyframe = False
        if self._resync:
            self._sync(seq, ts, self._clock())
        out_ts = (ts + self._ts_offset) & 0xFFFFFFFF
        if self.kind == "audio":
            self._audio(payload, out_ts)
            return
        self._frame.append(payload)
        if not marker:
            return
        data = b"".join(vp8_depayload(p) for p in self._frame)
        self._frame = []
        if self._decoder is None:
            self._decoder = Vp8Decoder()
        try:
            frames = self._decoder.decode(JitterFrame(data, ts))
        except Exception:
            COUNTS["decode_errors"] += 1
            return
        for frame in frames:
            COUNTS["video_decoded"] += 1
            if self._encoder is None:
                self._encoder = Vp8Encoder()
                self._encoder.target_bitrate = VIDEO_BITRATE
            payloads, _ = self._encoder.encode(frame, force_keyframe=self._force_keyframe)
            self._force_keyframe = False
            COUNTS["video_encoded"] += 1
            last = len(payloads) - 1
            for i, out in enumerate(payloads):
                self._emit_out(out, out_ts, i == last)
            self.frames += 1

    def _audio(self, payload: bytes, out_ts: int) -> None:
        if self._decoder is None:
            self._decoder = OpusDecoder()
            self._encoder = OpusEncoder()
        try:
            frames = self._decoder.decode(JitterFrame(payload, out_ts))
        except Exception:
            COUNTS["decode_errors"] += 1
            return
        for frame in frames:
            COUNTS["audio_decoded"] += 1
            payloads, _ = self._encoder.encode(frame)
            for p in payloads:
                COUNTS["audio_encoded"] += 1
                self._emit_out(p, out_ts, False)

    def _emit_out(self, payload: bytes, out_ts: int, marker: bool) -> None:
        send = self._send
        if send is None:
            return
        seq = self._out_seq
        data = self.pack(int(marker), seq, out_ts, payload)
        self._last_seq = self._out_seq
        self._last_ts = out_ts
        self._out_seq = (self._out_seq + 1) & 0xFFFF
        self.packets += 1
        self.bytes += len(payload)
        if self.kind == "video":
            self._history[seq % NACK_HISTORY] = (seq, data)
        if self._switched_at is not None:
            if self.on_switched is not None:
                self.on_switched(self, time.monotonic() - self._switched_at)
            self._switched_at = None
        try:
            send(data)
        except Exception:
            self._send = None


class TranscodingPeer(Peer):
    """A peer whose outgoing streams are :class:`TranscodingConsumer` s."""

    consumer_class = TranscodingConsumer


class TranscodingRouter(InstrumentedRouter):
    """:class:`server.media.router.Router` with transcoding consumers (benchmark baseline only)."""

    peer_class = TranscodingPeer

    def extra_stats(self) -> dict:
        return dict(COUNTS)
