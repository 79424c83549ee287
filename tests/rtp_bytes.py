"""Crafted RTP for the router's byte-level tests: VP8 payloads, expected packets, a fake wire and clock.

Nothing here touches a socket or a peer connection: a consumer's send path
is :class:`Wire` (it keeps every datagram handed to it, unencrypted), its
clock is :class:`Clock` (moved by hand).
"""

from __future__ import annotations

import struct

from server.media.receive import ReceiverSource
from server.media.streams import Consumer, Source

#: The header-extension block a consumer writes for mid "1" (one-byte profile, id 1).
MID_EXT = b"\xbe\xde\x00\x01" + b"\x10" + b"1" + b"\x00\x00"
SSRC_OUT = 0x11223344
PT_OUT = 96


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Wire:
    """A consumer's send path: ``up`` says whether the recipient's connection is there yet."""

    def __init__(self, up: bool = True, extension: bytes = MID_EXT) -> None:
        self.up = up
        self.extension = extension
        self.sent: list[bytes] = []
        self.opened = 0

    def connect(self):
        if not self.up:
            return None
        self.opened += 1
        return self.send, self.extension

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def take(self) -> list[bytes]:
        sent, self.sent = self.sent, []
        return sent


class CountingSource(Source):
    """A source that counts the keyframe requests it gets."""

    def __init__(self, name: str = "src", kind: str = "video") -> None:
        super().__init__(name, kind)
        self.keyframe_requests = 0

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1


def consumer(kind: str, wire: Wire, clock: Clock) -> Consumer:
    return Consumer("recipient", kind, SSRC_OUT, PT_OUT, wire.connect, clock=clock)


def receiver_source(kind: str, clock: Clock, plis: list[int], timers: list | None = None) -> ReceiverSource:
    """A peer's stream whose PLIs go to ``plis`` and whose deferred requests wait in ``timers``."""
    timers = [] if timers is None else timers

    def call_later(delay, callback):
        timers.append((delay, callback))
        return _Handle()

    return ReceiverSource(f"peer:{kind}", kind, {100}, plis.append, clock=clock, call_later=call_later)


class _Handle:
    def cancel(self) -> None:
        pass


def rtp(seq: int, ts: int, payload: bytes, marker: int = 0, ssrc: int = SSRC_OUT, pt: int = PT_OUT,
        extension: bytes = MID_EXT) -> bytes:
    """The exact packet a consumer must write."""
    first = 0x90 if extension else 0x80
    return struct.pack("!BBHLL", first, (marker << 7) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + extension + payload


def vp8(picture_id: int, *, start: bool = True, key: bool = False, body: bytes = b"frame") -> bytes:
    """A VP8 RTP payload (RFC 7741) with a 15-bit picture id: a frame's first packet or a later one."""
    descriptor = bytes([0x80 | (0x10 if start else 0), 0x80]) + struct.pack("!H", 0x8000 | picture_id)
    if not start:
        return descriptor + body
    # VP8 payload header: bit 0 is the inverse keyframe flag (P).
    header = (b"\x10" if key else b"\x11") + b"\x02\x00"
    return descriptor + header + body
