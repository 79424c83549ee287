"""Where a received VP8 stream starts afresh, and whether it starts at a keyframe.

A recipient can only decode from a keyframe on: after it connects, after the
router switched its stream to another source, and after the router bridged
packets lost before it. The router keeps sequence numbers continuous across
all three, so a recipient tells them by the VP8 picture id (RFC 7741), which
the router does not rewrite: every encoder numbers its frames one by one, so a
picture id that does not follow the previous one means frames were skipped or
another encoder's stream began. :class:`VideoStarts` records every such start
and whether its packet begins a keyframe, and every packet that begins a new
picture in the middle of a frame ("torn").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.media import bridge
from server.media.vp8 import starts_keyframe


def picture_id(payload: bytes) -> int | None:
    """The VP8 payload descriptor's picture id, or ``None`` without one."""
    if len(payload) < 3 or not payload[0] & 0x80 or not payload[1] & 0x80:
        return None
    if payload[2] & 0x80:
        return ((payload[2] & 0x7F) << 8) | payload[3] if len(payload) > 3 else None
    return payload[2]


@dataclass
class VideoStarts:
    """Every fresh start of one received video stream, over all its connections."""

    #: ("connection" | "jump", starts a keyframe) for every fresh start, in order.
    starts: list[tuple[str, bool]] = field(default_factory=list)
    #: Packets that began a new picture without the S bit (a frame's middle).
    torn: int = 0
    #: Packets lost between router and recipient (no judgement across them).
    unjudged: int = 0
    _seq: int | None = None
    _picture: int | None = None

    def new_connection(self) -> None:
        self._seq = None
        self._picture = None

    def packet(self, seq: int, payload: bytes) -> None:
        """Judge one received packet (in arrival order; retransmissions included)."""
        if not payload:
            return
        pid = picture_id(payload)
        if self._seq is None:
            self.starts.append(("connection", starts_keyframe(payload)))
        else:
            step = (seq - self._seq) & 0xFFFF
            if step == 0 or step >= 0x8000:
                return  # a duplicate or a late packet (a NACK answered): not a start
            if step > 1:
                self.unjudged += 1  # lost on the last hop: the picture ids cannot tell
            elif pid is not None and self._picture is not None and pid != self._picture:
                if pid != (self._picture + 1) & 0x7FFF:
                    self.starts.append(("jump", starts_keyframe(payload)))
                elif not payload[0] & 0x10:
                    self.torn += 1
        self._seq = seq
        self._picture = pid

    @property
    def bad(self) -> list[int]:
        """Indexes of starts that were not at a keyframe."""
        return [i for i, (_, key) in enumerate(self.starts) if not key]


def watch(receiver, starts: VideoStarts) -> None:
    """Feed every packet an aiortc ``RTCRtpReceiver`` gets to ``starts`` (a new connection)."""
    starts.new_connection()
    bridge.watch_rtp(receiver, lambda packet: starts.packet(packet.sequence_number, packet.payload))
