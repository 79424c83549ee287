"""Synthetic devices and probes for headless clients.

A headless kiosk or agent has no camera or microphone: :class:`ToneTrack`
is a microphone that sends one sine tone (its frequency identifies the
sender), :class:`PatternTrack` a camera whose colour identifies the sender.
On the receiving side, :class:`AudioProbe` keeps the last seconds of what a
peer hears and measures tones by FFT, and :class:`VideoProbe` counts decoded
frames and recognises whose pattern they show. Tests use them to prove
privacy on the wire; ``lapak demo`` uses them as six simulated booths.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

SAMPLE_RATE = 48000
AUDIO_PTIME = 0.02
VIDEO_CLOCK = 90000

#: (U, V) chroma of pattern ``n``; far enough apart to survive VP8.
PALETTE: tuple[tuple[int, int], ...] = tuple(
    (60 + 68 * (n % 3), 60 + 68 * (n // 3)) for n in range(9)
)


class ToneTrack(MediaStreamTrack):
    """A microphone that sends a steady sine tone of ``frequency`` Hz."""

    kind = "audio"

    def __init__(self, frequency: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._samples = int(SAMPLE_RATE * AUDIO_PTIME)
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._pts / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(self._samples) + self._pts) / SAMPLE_RATE
        pcm = (self.amplitude * 32767 * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += self._samples
        return frame


class PatternTrack(MediaStreamTrack):
    """A camera showing pattern ``index``: a flat colour with a moving bar.

    ``scale_down`` (set from the server's quality requests) divides the
    resolution, the way a browser's encoder scales down for a thumbnail.
    """

    kind = "video"

    def __init__(self, index: int, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__()
        self.index = index
        self.width = width
        self.height = height
        self.fps = fps
        self.scale_down = 1
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._n / self.fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        # yuv420p wants even sizes; the chroma planes below need h % 4 == 0.
        w = max(16, (self.width // self.scale_down) // 4 * 4)
        h = max(16, (self.height // self.scale_down) // 4 * 4)
        u, v = PALETTE[self.index]
        y = np.full((h, w), 110, dtype=np.uint8)
        bar = (self._n * 4) % w
        y[:, bar : bar + max(2, w // 16)] = 200
        planes = np.concatenate(
            [y, np.full((h // 4, w), u, dtype=np.uint8), np.full((h // 4, w), v, dtype=np.uint8)]
        )
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = int(self._n * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._n += 1
        return frame


def identify_pattern(frame: av.VideoFrame) -> int:
    """Which :data:`PALETTE` entry a decoded frame shows (nearest chroma)."""
    arr = frame.to_ndarray(format="yuv420p")
    h = frame.height
    u = float(arr[h : h + h // 4].mean())
    v = float(arr[h + h // 4 :].mean())
    return int(np.argmin([(u - pu) ** 2 + (v - pv) ** 2 for pu, pv in PALETTE]))


class AudioProbe:
    """Keeps the last ``seconds`` of a received audio track, as mono PCM."""

    def __init__(self, seconds: float = 3.0) -> None:
        self._chunks: deque[tuple[float, np.ndarray]] = deque()
        self.seconds = seconds
        self.frames = 0

    def add(self, frame: av.AudioFrame) -> None:
        pcm = frame.to_ndarray()
        channels = len(frame.layout.channels)
        if frame.format.is_planar:
            mono = pcm.astype(np.float32).mean(axis=0)
        else:
            mono = pcm.reshape(-1, channels).astype(np.float32).mean(axis=1)
        now = time.monotonic()
        self._chunks.append((now, mono / 32768.0))
        self.frames += 1
        while self._chunks and self._chunks[0][0] < now - self.seconds:
            self._chunks.popleft()

    def clear(self) -> None:
        self._chunks.clear()

    def samples(self, seconds: float | None = None) -> np.ndarray:
        now = time.monotonic()
        keep = [c for t, c in self._chunks if seconds is None or t >= now - seconds]
        return np.concatenate(keep) if keep else np.zeros(0, dtype=np.float32)

    def levels(self, frequencies: list[float], seconds: float = 1.0) -> dict[float, float]:
        """Amplitude of each frequency (±4 Hz) in the last ``seconds``, by FFT."""
        return tone_levels(self.samples(seconds), frequencies)


def tone_levels(samples: np.ndarray, frequencies: list[float]) -> dict[float, float]:
    """Amplitude (0..1 of full scale) of each frequency in ``samples``."""
    if len(samples) < SAMPLE_RATE // 10:
        return {f: 0.0 for f in frequencies}
    window = np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(samples * window)) * 2 / window.sum()
    freqs = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    out = {}
    for f in frequencies:
        band = (freqs >= f - 4) & (freqs <= f + 4)
        out[f] = float(spectrum[band].max()) if band.any() else 0.0
    return out


class VideoProbe:
    """Counts decoded frames of a received video track and who they show."""

    def __init__(self) -> None:
        self.frames = 0
        self.last_pattern: int | None = None
        self.last_size: tuple[int, int] | None = None
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None

    def add(self, frame: av.VideoFrame) -> None:
        now = time.monotonic()
        if self.first_frame_at is None:
            self.first_frame_at = now
        self.last_frame_at = now
        self.frames += 1
        if self.frames % 3 == 1:
            self.last_pattern = identify_pattern(frame)
        self.last_size = (frame.width, frame.height)

    def reset(self) -> None:
        self.frames = 0
        self.last_pattern = None
        self.first_frame_at = None


async def consume(track: MediaStreamTrack, probe) -> None:
    """Read ``track`` until it ends, feeding every frame to ``probe``."""
    try:
        while True:
            frame = await track.recv()
            probe.add(frame)
    except (MediaStreamError, asyncio.CancelledError):
        pass
