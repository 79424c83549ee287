"""Server-made audio: Opus encoding and decoding helpers, the hold loop and the mixer.

Audio is the only media the router ever decodes, and only where it must:
when the agent talks to several members at once, their voices are decoded,
mixed with numpy and encoded once. Hold audio is encoded once at start-up and
looped as ready-made packets.

Both are sources the server makes itself, so their sender reports map RTP
timestamps to the server's own wall clock: each packet's timestamp is noted
with the time it was made (``wall``, ``clock``: injected for tests).
"""

from __future__ import annotations

import fractions
import time
from collections import deque
from collections.abc import Callable

import av
import numpy as np

from .rtcp import ntp_from_unix
from .streams import Source

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)

#: Notes of the hold melody (Hz): C5, E5, G5, E5, a calm arpeggio.
HOLD_NOTES = (523.25, 659.25, 783.99, 659.25)
HOLD_NOTE_SECONDS = 0.6


class OpusEncoder:
    """Encodes 20 ms frames of mono 48 kHz int16 PCM into Opus payloads."""

    def __init__(self, bitrate: int = 32000) -> None:
        self.codec = av.CodecContext.create("libopus", "w")
        self.codec.bit_rate = bitrate
        self.codec.format = "s16"
        self.codec.layout = "mono"
        self.codec.sample_rate = SAMPLE_RATE
        self.codec.time_base = TIME_BASE
        self.codec.options = {"application": "voip"}
        self._pts = 0

    def encode(self, pcm: np.ndarray) -> list[bytes]:
        frame = av.AudioFrame.from_ndarray(
            pcm.reshape(1, -1).astype(np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        self._pts += pcm.shape[-1]
        return [bytes(p) for p in self.codec.encode(frame)]


class OpusDecoder:
    """Decodes Opus payloads into mono 48 kHz int16 PCM."""

    def __init__(self) -> None:
        self.codec = av.CodecContext.create("libopus", "r")
        self.codec.format = "s16"
        self.codec.layout = "stereo"
        self.codec.sample_rate = SAMPLE_RATE

    def decode(self, payload: bytes) -> np.ndarray | None:
        try:
            frames = self.codec.decode(av.Packet(payload))
        except av.FFmpegError:
            return None
        if not frames:
            return None
        pcm = frames[0].to_ndarray()  # packed s16 stereo: shape (1, 2 * n)
        stereo = pcm.reshape(-1, 2).astype(np.int32)
        return ((stereo[:, 0] + stereo[:, 1]) // 2).astype(np.int16)


def hold_melody() -> np.ndarray:
    """The hold music's PCM: a soft arpeggio with gentle note envelopes."""
    n = int(HOLD_NOTE_SECONDS * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    envelope = np.sin(np.pi * np.arange(n) / n) ** 2
    notes = [0.25 * envelope * np.sin(2 * np.pi * f * t) for f in HOLD_NOTES]
    pcm = np.concatenate(notes)
    pad = (-len(pcm)) % FRAME_SAMPLES
    pcm = np.concatenate([pcm, np.zeros(pad)])
    return (pcm * 32767).astype(np.int16)


def encode_loop(pcm: np.ndarray) -> list[bytes]:
    """Encode PCM once into a list of 20 ms Opus payloads to be looped."""
    encoder = OpusEncoder(bitrate=24000)
    payloads: list[bytes] = []
    # Run the loop twice so the encoder's look-ahead settles, keep the second.
    frames = pcm.reshape(-1, FRAME_SAMPLES)
    for _ in range(2):
        payloads = []
        for frame in frames:
            payloads += encoder.encode(frame)
    return payloads


class ServerSource(Source):
    """An audio source the server makes, clocked by the server's own wall clock."""

    def __init__(
        self,
        name: str,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, "audio")
        self._wall = wall
        self._clock = clock
        self._seq = 0
        self._ts = 0

    def _emit_next(self, payload: bytes) -> None:
        """Emit the next packet, stamped now, and note the time that goes with its timestamp."""
        self.timing = (ntp_from_unix(self._wall()), self._ts, self._clock())
        self.emit(payload, 0, self._seq, self._ts)
        self._seq = (self._seq + 1) & 0xFFFF
        self._ts = (self._ts + FRAME_SAMPLES) & 0xFFFFFFFF


class LoopSource(ServerSource):
    """A server-made audio source that emits ready-made Opus payloads on each tick."""

    def __init__(self, name: str, payloads: list[bytes], **clocks) -> None:
        super().__init__(name, **clocks)
        self._payloads = payloads
        self._index = 0

    def tick(self) -> None:
        if not self.consumers:
            return
        payload = self._payloads[self._index]
        self._index = (self._index + 1) % len(self._payloads)
        self._emit_next(payload)


class Mixer(ServerSource):
    """Mixes the voices of several members into one stream for their agent.

    Inputs are attached by the router (``set_inputs``) with their gains; each
    input's Opus payloads are decoded as they arrive and queued; every tick
    takes one 20 ms frame from each input, sums them with numpy and encodes
    the sum once.
    """

    MAX_QUEUED = 6

    def __init__(self, name: str, **clocks) -> None:
        super().__init__(name, **clocks)
        self._inputs: dict[str, tuple[float, OpusDecoder, deque]] = {}
        self._encoder: OpusEncoder | None = None

    def set_inputs(self, gains: dict[str, float]) -> dict[str, "callable"]:
        """Replace the inputs; returns, per new input, the sink to feed payloads into."""
        sinks = {}
        kept = {}
        for name, gain in gains.items():
            if name in self._inputs:
                _, decoder, queue = self._inputs[name]
            else:
                decoder, queue = OpusDecoder(), deque(maxlen=self.MAX_QUEUED)
            kept[name] = (gain, decoder, queue)
            sinks[name] = self._make_sink(decoder, queue)
        self._inputs = kept
        return sinks

    @staticmethod
    def _make_sink(decoder: OpusDecoder, queue: deque):
        def sink(payload: bytes) -> None:
            pcm = decoder.decode(payload)
            if pcm is not None:
                queue.append(pcm)

        return sink

    def tick(self) -> None:
        if not self._inputs or not self.consumers:
            return
        mix = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        got = False
        for gain, _, queue in self._inputs.values():
            if queue:
                pcm = queue.popleft()
                if pcm.shape[0] == FRAME_SAMPLES:
                    mix += gain * pcm.astype(np.float32)
                    got = True
        if not got:
            return
        if self._encoder is None:
            self._encoder = OpusEncoder(bitrate=48000)
        pcm16 = np.clip(mix, -32768, 32767).astype(np.int16)
        for payload in self._encoder.encode(pcm16):
            self._emit_next(payload)
