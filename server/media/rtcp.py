"""The few RTCP packets the router writes itself, as bytes (RFC 3550, RFC 4585).

The router sends its own sender reports (aiortc's counters never see the
packets the router forwards) and its own keyframe requests. Both are built
here, from plain numbers, so that tests can compare them byte by byte.
"""

from __future__ import annotations

import struct

#: Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
NTP_UNIX_OFFSET = 2_208_988_800

RTCP_SR = 200
RTCP_PSFB = 206
PSFB_PLI = 1

_SR = struct.Struct("!BBHLQLLL")
_PLI = struct.Struct("!BBHLL")


def ntp_from_unix(seconds: float) -> int:
    """A Unix time as a 64-bit NTP timestamp (32.32 fixed point since 1900)."""
    whole = int(seconds)
    fraction = int((seconds - whole) * (1 << 32))
    return ((whole + NTP_UNIX_OFFSET) << 32 | fraction) & 0xFFFFFFFFFFFFFFFF


def sender_report(ssrc: int, ntp: int, rtp_timestamp: int, packets: int, octets: int) -> bytes:
    """An RTCP sender report with no reception report blocks (28 bytes)."""
    return _SR.pack(
        0x80,  # V=2, P=0, RC=0
        RTCP_SR,
        6,  # length in 32-bit words minus one
        ssrc,
        ntp & 0xFFFFFFFFFFFFFFFF,
        rtp_timestamp & 0xFFFFFFFF,
        packets & 0xFFFFFFFF,
        octets & 0xFFFFFFFF,
    )


def picture_loss(sender_ssrc: int, media_ssrc: int) -> bytes:
    """An RTCP picture loss indication asking ``media_ssrc`` for a keyframe (12 bytes)."""
    return _PLI.pack(0x80 | PSFB_PLI, RTCP_PSFB, 2, sender_ssrc, media_ssrc)
