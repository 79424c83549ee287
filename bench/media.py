"""Pre-encoded media for the load generator, made once per run with PyAV.

The generator must cost little, so it never encodes while it runs: each clip
is encoded here once and cut into RTP payloads (VP8 payload descriptor +
data, RFC 7741; Opus frames). A sender then only stamps RTP headers onto
ready-made payloads and loops them. aiortc's own ``pack()`` path ignores
keyframe requests, so the video clip carries a keyframe every
:data:`KEYFRAME_INTERVAL` frames and the sender answers a PLI by jumping to
the next keyframe of the loop.
"""

from __future__ import annotations

import fractions
import pickle
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT, FPS = 640, 480, 30
KEYFRAME_INTERVAL = 60  # frames: one keyframe every 2 s
VIDEO_SECONDS = 4
VIDEO_BITRATE = 1_000_000
PACKET_MAX = 1200  # bytes of VP8 payload per RTP packet (aiortc's value)
SAMPLE_RATE = 48000
AUDIO_FRAME = 960  # 20 ms
AUDIO_SECONDS = 2

#: Tone of the agent (index 0) and of kiosks 1..6; multiples of 50 Hz, so each
#: falls on one bin of a 20 ms DFT, and away from the hold melody's notes.
TONES = (400.0, 600.0, 750.0, 900.0, 1050.0, 1200.0, 1350.0)


@dataclass
class VideoClip:
    """A looped VP8 clip: for each frame, its RTP payloads; ``keyframes`` are frame indices."""

    frames: list[list[bytes]]
    keyframes: list[int]
    fps: int = FPS

    @property
    def bitrate(self) -> float:
        return sum(len(p) for f in self.frames for p in f) * 8 * self.fps / len(self.frames)

    @property
    def packets_per_second(self) -> float:
        return sum(len(f) for f in self.frames) * self.fps / len(self.frames)


@dataclass
class Clips:
    video: list[VideoClip]  # one per pattern (0: agent, 1..6: kiosks)
    audio: list[list[bytes]]  # one Opus loop per tone in TONES


def vp8_packetize(buffer: bytes, picture_id: int) -> list[bytes]:
    """RFC 7741 payloads of one encoded frame (X=1, I=1 with a 15-bit picture id)."""
    out = []
    pos = 0
    first = True
    while pos < len(buffer):
        descriptor = bytes([0x90 if first else 0x80, 0x80, 0x80 | (picture_id >> 8) & 0x7F, picture_id & 0xFF])
        size = min(len(buffer) - pos, PACKET_MAX - len(descriptor))
        out.append(descriptor + buffer[pos : pos + size])
        pos += size
        first = False
    return out


def _texture(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 220, size=(HEIGHT // 8 + 2, WIDTH // 8 + 2), dtype=np.uint8)
    return np.kron(small, np.ones((8, 8), dtype=np.uint8))


def encode_video(pattern: int, seconds: int = VIDEO_SECONDS) -> VideoClip:
    """A moving textured scene of ``pattern``'s colour, encoded like a browser would (CBR, realtime)."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = WIDTH, HEIGHT
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, FPS)
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.bit_rate = VIDEO_BITRATE
    codec.gop_size = KEYFRAME_INTERVAL
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": str(VIDEO_BITRATE),
        "maxrate": str(VIDEO_BITRATE),
        "bufsize": str(VIDEO_BITRATE),
        "keyint_min": str(KEYFRAME_INTERVAL),
    }
    from kiosk_client.synthetic import PALETTE

    u, v = PALETTE[pattern % len(PALETTE)]
    texture = _texture(pattern)
    frames: list[list[bytes]] = []
    keyframes: list[int] = []
    n = seconds * FPS
    packets: list[av.Packet] = []
    for i in range(n):
        dx, dy = (i * 3) % 8, (i * 2) % 8
        y = texture[dy : dy + HEIGHT, dx : dx + WIDTH].copy()
        bar = (i * 8) % WIDTH
        y[:, bar : bar + 40] = 235
        planes = np.concatenate(
            [y, np.full((HEIGHT // 4, WIDTH), u, np.uint8), np.full((HEIGHT // 4, WIDTH), v, np.uint8)]
        )
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = i
        frame.time_base = codec.time_base
        if i % KEYFRAME_INTERVAL == 0:
            frame.pict_type = av.video.frame.PictureType.I
        packets += list(codec.encode(frame))
    packets += list(codec.encode(None))
    for index, packet in enumerate(packets[:n]):
        data = bytes(packet)
        if packet.is_keyframe:
            keyframes.append(index)
        frames.append(vp8_packetize(data, index & 0x7FFF))
    if not keyframes or keyframes[0] != 0:
        raise RuntimeError("the clip must start with a keyframe")
    return VideoClip(frames, keyframes)


def encode_tone(frequency: float, seconds: int = AUDIO_SECONDS) -> list[bytes]:
    """A steady tone as 20 ms Opus payloads (encoded twice round, the second kept, so it loops cleanly)."""
    codec = av.CodecContext.create("libopus", "w")
    codec.bit_rate = 32000
    codec.format = "s16"
    codec.layout = "mono"
    codec.sample_rate = SAMPLE_RATE
    codec.time_base = fractions.Fraction(1, SAMPLE_RATE)
    n = seconds * SAMPLE_RATE // AUDIO_FRAME
    t = np.arange(n * AUDIO_FRAME) / SAMPLE_RATE
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)
    payloads: list[bytes] = []
    pts = 0
    for _ in range(2):
        payloads = []
        for k in range(n):
            frame = av.AudioFrame.from_ndarray(pcm[k * AUDIO_FRAME : (k + 1) * AUDIO_FRAME].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = pts
            frame.time_base = codec.time_base
            pts += AUDIO_FRAME
            payloads += [bytes(p) for p in codec.encode(frame)]
    return payloads[:n]


def make_clips(path: Path, patterns: int = 7, seconds: int = VIDEO_SECONDS) -> Clips:
    """Encode every clip once and store them in ``path`` (a pickle) for the generator processes."""
    clips = Clips(
        video=[encode_video(p, seconds) for p in range(patterns)],
        audio=[encode_tone(f) for f in TONES[:patterns]],
    )
    path.write_bytes(pickle.dumps(clips))
    return clips


def load_clips(path: Path) -> Clips:
    return pickle.loads(Path(path).read_bytes())


class Vp8FrameDecoder:
    """Decodes a VP8 frame from its RTP payloads (a sample, to prove what arrives is valid)."""

    def __init__(self) -> None:
        self.codec = av.CodecContext.create("libvpx", "r")
        self.decoded = 0
        self.errors = 0

    def decode(self, payloads: list[bytes]) -> av.VideoFrame | None:
        data = b"".join(_vp8_depayload(p) for p in payloads)
        try:
            frames = self.codec.decode(av.Packet(data))
        except av.FFmpegError:
            self.errors += 1
            return None
        if frames:
            self.decoded += 1
            return frames[0]
        return None


def _vp8_depayload(payload: bytes) -> bytes:
    b0 = payload[0]
    i = 1
    if b0 & 0x80:
        x = payload[1]
        i = 2
        if x & 0x80:
            i += 2 if payload[i] & 0x80 else 1
        if x & 0x40:
            i += 1
        if x & 0x30:
            i += 1
    return payload[i:]
