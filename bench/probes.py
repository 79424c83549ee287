"""The load generator's latency probes: which member's tone is loudest, and a tile's first decoded frame.

Both run only on samples (while a probe is armed), never on every packet.
"""

from __future__ import annotations

from collections.abc import Callable

import av
import numpy as np

from server.media.vp8 import starts_keyframe

from .media import AUDIO_FRAME, SAMPLE_RATE, TONES, Vp8FrameDecoder


class ToneDetector:
    """Is tone ``f`` the loudest of the known tones in one 20 ms Opus frame?"""

    def __init__(self) -> None:
        self.decoder = av.CodecContext.create("libopus", "r")
        n = np.arange(AUDIO_FRAME)
        self.basis = {f: np.exp(-2j * np.pi * f * n / SAMPLE_RATE) for f in TONES}

    def levels(self, payload: bytes) -> dict[float, float]:
        try:
            frames = self.decoder.decode(av.Packet(payload))
        except av.FFmpegError:
            return {}
        if not frames:
            return {}
        frame = frames[0]
        pcm = frame.to_ndarray().astype(np.float32)
        channels = len(frame.layout.channels)
        if frame.format.is_planar:
            pcm = pcm.mean(axis=0)
        else:
            pcm = pcm.reshape(-1, channels).mean(axis=1)
        if frame.format.name.startswith("s16"):
            pcm = pcm / 32768.0
        pcm = pcm[:AUDIO_FRAME]
        if len(pcm) < AUDIO_FRAME:
            return {}
        return {f: float(abs(pcm @ b)) * 2 / AUDIO_FRAME for f, b in self.basis.items()}


class FirstFrame:
    """Collects one frame from its keyframe start to its marker and decodes it."""

    def __init__(self, on_frame: Callable[[object], None]) -> None:
        self.on_frame = on_frame
        self.payloads: list[bytes] | None = None
        self.active = False
        self.decoder = Vp8FrameDecoder()

    def arm(self) -> None:
        self.active = True
        self.payloads = None

    def feed(self, payload: bytes, marker: bool) -> None:
        if not self.active:
            return
        if self.payloads is None:
            if not starts_keyframe(payload):
                return
            self.payloads = []
        self.payloads.append(payload)
        if marker:
            frame = self.decoder.decode(self.payloads)
            self.payloads = None
            if frame is not None:
                self.active = False
                self.on_frame(frame)
