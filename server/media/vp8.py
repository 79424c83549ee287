"""What the router needs to know about VP8 payloads (RFC 7741), and no more.

The router forwards VP8 without decoding it; the only thing it must see is
whether an RTP packet starts a keyframe, so that a recipient that starts
receiving a source is never handed a delta frame it cannot decode.
"""

from __future__ import annotations


def starts_keyframe(payload: bytes) -> bool:
    """True if this RTP payload is the first packet of a VP8 keyframe.

    The payload descriptor must have S=1 and partition id 0; the VP8 payload
    header that follows has its P bit (inverse keyframe flag) cleared on a
    keyframe.
    """
    n = len(payload)
    if n < 1:
        return False
    b0 = payload[0]
    if not (b0 & 0x10) or (b0 & 0x07):  # S bit, PID
        return False
    i = 1
    if b0 & 0x80:  # X: extended control bits present
        if n <= i:
            return False
        x = payload[i]
        i += 1
        if x & 0x80:  # I: picture id
            if n <= i:
                return False
            i += 2 if payload[i] & 0x80 else 1
        if x & 0x40:  # L: TL0PICIDX
            i += 1
        if x & 0x30:  # T or K: TID/KEYIDX byte
            i += 1
    if n <= i:
        return False
    return not (payload[i] & 0x01)
