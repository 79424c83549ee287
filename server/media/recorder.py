"""Recording one member's digital interview into a WebM file, without re-encoding video.

A :class:`Recorder` taps exactly two parties: the member (their camera and
microphone) and their agent (microphone, and only while the agent is talking
to this member: what the agent says to others must not enter this member's
file). Video is the member's VP8 as it
arrives: RTP payloads are depacketised into frames and remuxed with PyAV,
never decoded. Audio is the member's and the agent's voices, decoded, mixed
with numpy and encoded once to Opus on the router's 20 ms clock. No other
source is ever attached, so another member's media cannot enter the file.
"""

from __future__ import annotations

import fractions
import logging
import struct
import time
from collections import deque
from pathlib import Path

import av
import numpy as np
from aiortc.codecs.vpx import vp8_depayload

from .audio import FRAME_SAMPLES, SAMPLE_RATE, OpusDecoder
from .vp8 import starts_keyframe

logger = logging.getLogger(__name__)

VIDEO_TB = fractions.Fraction(1, 90000)
AUDIO_TB = fractions.Fraction(1, SAMPLE_RATE)
#: Without a first keyframe by then, the file is written audio-only.
VIDEO_WAIT = 3.0


def keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe's header (RFC 6386, 9.1)."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width, height = struct.unpack_from("<HH", frame, 6)
    return width & 0x3FFF, height & 0x3FFF


class _VideoTap:
    """Reassembles the member's VP8 frames from RTP (a sink on their camera source)."""

    def __init__(self, recorder: "Recorder") -> None:
        self.recorder = recorder
        self.parts: list[bytes] = []
        self.expected: int | None = None
        self.broken = True  # wait for a keyframe's first packet

    def forward(self, payload: bytes, marker: int, seq: int, ts: int) -> None:
        if self.expected is not None and seq != self.expected:
            self.parts = []
            self.broken = True  # a lost packet: skip to the next keyframe
            self.recorder.want_keyframe()
        self.expected = (seq + 1) & 0xFFFF
        if self.broken:
            if not starts_keyframe(payload):
                return
            self.broken = False
        try:
            self.parts.append(vp8_depayload(payload))
        except ValueError:
            self.parts = []
            self.broken = True
            return
        if marker:
            frame = b"".join(self.parts)
            self.parts = []
            self.recorder.video_frame(frame, ts)


class Recorder:
    """One member's interview recording: their camera, their voice and their agent's."""

    def __init__(self, path: str | Path, member, agent=None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(self.path), "w", format="webm")
        self.audio = self.container.add_stream("libopus", rate=SAMPLE_RATE)
        self.audio.layout = "mono"
        self.audio.format = "s16"
        self.audio.bit_rate = 48000
        self.video = None
        self.started = time.monotonic()
        self.header_written = False
        self._pending_audio: list[av.Packet] = []
        self._audio_pts = 0
        self._first_video_ts: int | None = None
        self._video_offset = 0
        self._last_video_pts = -1
        self._queues: dict[str, deque] = {"member": deque(maxlen=10), "agent": deque(maxlen=10)}
        self._decoders = {"member": OpusDecoder(), "agent": OpusDecoder()}
        self._tap = _VideoTap(self)
        self.member = self.agent = None
        #: Set by the room: is the agent talking to this member right now?
        self.agent_audible = False
        self.frames = 0
        self.closed = False
        #: Spans of the file (seconds from its start) during which a supervisor was in the room.
        self.supervised_spans: list[list[float]] = []
        self.bind(member, agent)

    @property
    def supervised(self) -> bool:
        return bool(self.supervised_spans) and self.supervised_spans[-1][1] < 0

    @supervised.setter
    def supervised(self, present: bool) -> None:
        """Set by the room on every routing change: mark where a supervisor joined or left.

        A supervisor's voice is never tapped (a whisper never enters the
        file); only the span of their presence is noted.
        """
        now = round(self._audio_pts / SAMPLE_RATE, 2)
        if present and not self.supervised:
            self.supervised_spans.append([now, -1.0])
        elif not present and self.supervised:
            self.supervised_spans[-1][1] = now

    # -- wiring -------------------------------------------------------------

    def bind(self, member, agent) -> None:
        """Tap ``member`` (camera and microphone) and ``agent`` (microphone) only."""
        self.unbind()
        self.member, self.agent = member, agent
        if member is not None:
            if member.video_in is not None:
                member.video_in.attach(self._tap)
                member.video_in.request_keyframe()
                self._tap.broken = True
            if member.audio_in is not None:
                member.audio_in.pcm_sinks[self] = self._sink("member")
        if agent is not None and agent.audio_in is not None:
            agent.audio_in.pcm_sinks[self] = self._sink("agent")

    def unbind(self) -> None:
        for peer in (self.member, self.agent):
            if peer is None:
                continue
            for source in (peer.audio_in, peer.video_in):
                if source is not None:
                    source.detach(self._tap)
                    source.pcm_sinks.pop(self, None)

    def _sink(self, party: str):
        decoder, queue = self._decoders[party], self._queues[party]

        def sink(payload: bytes) -> None:
            if party == "agent" and not self.agent_audible:
                return
            pcm = decoder.decode(payload)
            if pcm is not None and pcm.shape[0] == FRAME_SAMPLES:
                queue.append(pcm)

        return sink

    def want_keyframe(self) -> None:
        if self.member is not None and self.member.video_in is not None:
            self.member.video_in.request_keyframe()

    # -- media ----------------------------------------------------------------

    def video_frame(self, frame: bytes, ts: int) -> None:
        if self.closed:
            return
        if self.video is None:
            size = keyframe_size(frame)
            if size is None or self.header_written:
                return
            self.video = self.container.add_stream("libvpx", rate=30)
            self.video.width, self.video.height = size
            self.video.pix_fmt = "yuv420p"
            self._first_video_ts = ts
            self._video_offset = int((time.monotonic() - self.started) * 90000)
            self._write_header()
        pts = self._video_offset + ((ts - (self._first_video_ts or 0)) & 0xFFFFFFFF)
        if pts <= self._last_video_pts:
            return
        self._last_video_pts = pts
        packet = av.Packet(frame)
        packet.stream = self.video
        packet.pts = packet.dts = pts
        packet.time_base = VIDEO_TB
        packet.is_keyframe = not (frame[0] & 0x01)
        self.container.mux(packet)
        self.frames += 1

    def tick(self) -> None:
        """Every 20 ms: one frame of the two voices, mixed and encoded once."""
        if self.closed:
            return
        mix = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        for queue in self._queues.values():
            if queue:
                mix += queue.popleft().astype(np.float32)
        frame = av.AudioFrame.from_ndarray(
            np.clip(mix, -32768, 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._audio_pts
        frame.time_base = AUDIO_TB
        self._audio_pts += FRAME_SAMPLES
        for packet in self.audio.encode(frame):
            self._mux_audio(packet)
        if not self.header_written and time.monotonic() - self.started > VIDEO_WAIT:
            self._write_header()  # no camera picture came: audio only

    def _mux_audio(self, packet: av.Packet) -> None:
        if self.header_written:
            self.container.mux(packet)
        else:
            self._pending_audio.append(packet)

    def _write_header(self) -> None:
        self.header_written = True
        for packet in self._pending_audio:
            self.container.mux(packet)
        self._pending_audio = []

    def stop(self) -> dict:
        """Finish the file; returns its path and length in seconds."""
        if self.closed:
            return {"path": str(self.path), "seconds": round(self._audio_pts / SAMPLE_RATE, 2)}
        self.supervised = False  # an open span ends with the file
        self.unbind()
        self.closed = True
        try:
            for packet in self.audio.encode(None):
                self._mux_audio(packet)
            if not self.header_written:
                self._write_header()
            self.container.close()
        except Exception:  # a half-written file is still reported; the log says why
            logger.exception("closing recording %s failed", self.path)
        return {
            "path": str(self.path),
            "seconds": round(self._audio_pts / SAMPLE_RATE, 2),
            "video_frames": self.frames,
            "supervised": [list(span) for span in self.supervised_spans],
        }
