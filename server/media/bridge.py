"""The one place where the router reaches into aiortc's and aioice's internals.

Everything the router's own code needs from a peer connection comes out of
here as a plain callable or a replaced handler:

- :func:`rtp_path`: a consumer's send path (the transport's SRTP session
  and the nominated ICE pair's socket, synchronously);
- :func:`rtcp_path`: the same for RTCP (keyframe requests, sender reports);
- :func:`tap_receiver` and :func:`fast_receive_path`: a peer's incoming
  packets, straight to its :class:`~server.media.receive.ReceiverSource`,
  and the peer's sender reports;
- :func:`own_sender_reports` and :func:`take_feedback`: the server-side
  ``RTCRtpSender``'s RTCP, which carries the router's own sender reports
  and hands the recipient's NACKs and keyframe requests to the consumer;
- :func:`guard_sockets`: the ICE sockets drop datagrams from strangers.

``pyproject.toml`` pins aiortc to 1.16.x for this module's sake, and
:func:`check_compatibility` (run when a router starts) fails early and
clearly if what it replaces is not there.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable

from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    HeaderExtensions,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
)

from .receive import ReceiverSource
from .streams import Connect, Consumer, Send

logger = logging.getLogger(__name__)

_SEQ_TS = struct.Struct("!HL")
_SSRC = struct.Struct("!L")
_EXT = struct.Struct("!HH")
_STUN_COOKIE = b"\x21\x12\xa4\x42"


#: (class, method) pairs this module replaces or calls on instances.
_NEEDED = (
    ("aiortc.rtcrtpsender:RTCRtpSender", ("_send_rtcp", "_handle_rtcp_packet", "_run_rtcp")),
    ("aiortc.rtcrtpreceiver:RTCRtpReceiver", ("_handle_rtp_packet", "_handle_rtcp_packet")),
    ("aiortc.rtcdtlstransport:RTCDtlsTransport", ("_handle_rtp_data", "_send_rtp")),
    ("aiortc.rtp:HeaderExtensionsMap", ("set", "configure")),
    ("aioice.ice:StunProtocol", ("datagram_received",)),
    ("aioice.ice:Connection", ("request_received", "check_incoming")),
)


def check_compatibility() -> None:
    """Raise ``RuntimeError`` naming what is missing if aiortc/aioice changed under the router."""
    import importlib

    missing = []
    for path, names in _NEEDED:
        module, _, name = path.partition(":")
        cls = getattr(importlib.import_module(module), name, None)
        missing += [f"{path}.{n}" for n in names if cls is None or not hasattr(cls, n)]
    if missing:
        raise RuntimeError(f"aiortc/aioice lack what the media router needs: {', '.join(missing)}")


# -- sending -----------------------------------------------------------------


def rtp_path(transport, mid: str | None) -> Connect:
    """A consumer's :data:`~server.media.streams.Connect` for the DTLS ``transport``.

    Once the transport is connected: a ``send`` that encrypts with the
    transport's SRTP session and writes to the nominated pair's socket, and
    the header-extension block carrying ``mid``.
    """

    def connect() -> tuple[Send, bytes] | None:
        srtp = getattr(transport, "_tx_srtp", None)
        if srtp is None or transport.state != "connected":
            return None
        pair = transport.transport._connection._nominated.get(1)
        if pair is None or pair.protocol.transport is None:
            return None
        extension = b""
        if mid:
            profile, value = transport._rtp_header_extensions_map.set(HeaderExtensions(mid=mid))
            if value:
                extension = _EXT.pack(profile, len(value) >> 2) + value
        protect = srtp.protect
        sendto = pair.protocol.transport.sendto
        address = pair.remote_addr

        def send(data: bytes) -> None:
            sendto(protect(data), address)

        return send, extension

    return connect


def rtcp_path(transport) -> Callable[[bytes], bool]:
    """Send one RTCP compound packet on ``transport`` now; ``False`` if it is not connected."""

    def send(data: bytes) -> bool:
        srtp = getattr(transport, "_tx_srtp", None)
        if srtp is None or transport.state != "connected":
            return False
        pair = transport.transport._connection._nominated.get(1)
        if pair is None or pair.protocol.transport is None:
            return False
        try:
            pair.protocol.transport.sendto(srtp.protect_rtcp(data), pair.remote_addr)
        except Exception:  # the socket is going away with its connection
            return False
        return True

    return send


def own_sender_reports(sender, report: Callable[[], bytes | None], send_rtcp: Callable[[bytes], bool]) -> None:
    """Make ``sender``'s RTCP loop send ``report()`` in place of aiortc's sender report.

    aiortc's loop keeps its timing (every 0.5 to 1.5 s), its SDES (CNAME)
    and its BYE at the end; only its sender report, whose counters never see
    the router's packets, is replaced. While ``report()`` has nothing true to
    say (``None``) the round is skipped.
    """
    original = sender._send_rtcp

    async def send(packets) -> None:
        if packets and isinstance(packets[0], RtcpSrPacket):
            sr = report()
            if sr is not None:
                send_rtcp(sr + b"".join(bytes(p) for p in packets[1:]))
            return
        await original(packets)

    sender._send_rtcp = send


def take_feedback(sender, consumer: Consumer) -> None:
    """The recipient's RTCP about ``consumer``'s stream: NACKs and keyframe requests."""

    async def handle(packet) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            consumer.retransmit(list(packet.lost))
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            consumer.keyframe_requested()

    sender._handle_rtcp_packet = handle


# -- receiving ---------------------------------------------------------------


def tap_receiver(receiver, source: ReceiverSource) -> None:
    """Route ``receiver``'s packets to ``source`` instead of aiortc's jitter buffer and decoder.

    The receiver's own RTCP handling stays (its receiver reports); its
    sender reports are also noted in the source.
    """

    async def on_rtp(packet: RtpPacket, arrival_time_ms: int) -> None:
        if packet.payload_type not in source.payload_types or not packet.payload:
            return  # RTX, padding-only or unknown payload
        if packet.extensions.audio_level is not None:
            source.level = packet.extensions.audio_level[1]
        source.learn_ssrc(packet.ssrc)
        source.receive(packet.payload, packet.marker, packet.sequence_number, packet.timestamp)

    original_rtcp = receiver._handle_rtcp_packet

    async def on_rtcp(packet) -> None:
        if isinstance(packet, RtcpSrPacket) and packet.ssrc == source.media_ssrc:
            info = packet.sender_info
            source.note_sender_report(info.ntp_timestamp, info.rtp_timestamp, info.packet_count)
        await original_rtcp(packet)

    receiver._handle_rtp_packet = on_rtp
    receiver._handle_rtcp_packet = on_rtcp


def fast_receive_path(transport, sources: dict[int, ReceiverSource]) -> None:
    """Replace the DTLS transport's RTP handler by one that skips ``RtpPacket``.

    Packets of a known media SSRC are cut into header fields and payload with
    ``struct`` and handed to their source; anything else (the first packets,
    RTX, unknown SSRCs) takes aiortc's own path, which teaches ``sources``
    the SSRC through :attr:`ReceiverSource.on_ssrc`.
    """
    slow = transport._handle_rtp_data
    ids = transport._rtp_header_extensions_map._HeaderExtensionsMap__ids

    async def handle(data: bytes, arrival_time_ms: int) -> None:
        if len(data) < 12:
            return
        source = sources.get(_SSRC.unpack_from(data, 8)[0])
        if source is None:
            await slow(data, arrival_time_ms)
            return
        second = data[1]
        if second & 0x7F not in source.payload_types:
            return
        first = data[0]
        offset = 12 + 4 * (first & 0x0F)
        if first & 0x10:
            if len(data) < offset + 4:
                return
            profile, words = _EXT.unpack_from(data, offset)
            if profile == 0xBEDE and source.kind == "audio" and ids.audio_level:
                _read_level(data, offset + 4, min(len(data), offset + 4 + 4 * words), ids.audio_level, source)
            offset += 4 + 4 * words
        end = len(data) - (data[-1] if first & 0x20 else 0)
        if end <= offset:
            return
        seq, ts = _SEQ_TS.unpack_from(data, 2)
        source.receive(data[offset:end], second >> 7, seq, ts)

    transport._handle_rtp_data = handle


def _read_level(data: bytes, i: int, end: int, level_id: int, source: ReceiverSource) -> None:
    """Find the one-byte audio-level extension (RFC 6464) and note the level."""
    while i < end:
        b = data[i]
        if b == 0:  # padding
            i += 1
            continue
        if b >> 4 == level_id:
            if i + 1 < end:
                source.level = data[i + 1] & 0x7F
            return
        i += 2 + (b & 0x0F)


# -- strangers ---------------------------------------------------------------


class Strangers:
    """Datagrams dropped at a connection's ICE sockets because no peer of it sent them."""

    def __init__(self) -> None:
        self.dropped = 0


def guard_sockets(transport) -> Strangers:
    """Drop, at the socket, every datagram that is not STUN from an address that is no remote candidate.

    aioice hands any non-STUN datagram, whoever sent it, to the DTLS
    transport (a queue, a DTLS or SRTP attempt each). Only the peer's
    candidates (from its offer, or learnt from a STUN check that carried
    the right credentials) may send DTLS, SRTP and SRTCP. STUN still goes to
    aioice, which checks the credentials itself (RFC 7983 tells them apart by
    the first byte). The peer's own packets cost one set lookup more.
    """
    connection = transport.transport._connection
    strangers = Strangers()
    known: set[tuple] = set()
    counted = -1

    def refresh() -> None:
        nonlocal known, counted
        candidates = connection._remote_candidates
        counted = len(candidates)
        known = {(c._network_host, c.port) for c in candidates} | {(c.host, c.port) for c in candidates}

    for protocol in connection._protocols:
        original = protocol.datagram_received

        def datagram_received(data, addr, original=original) -> None:
            if addr in known:
                original(data, addr)
                return
            if len(connection._remote_candidates) != counted:
                refresh()
                if (addr[0], addr[1]) in known:
                    original(data, addr)
                    return
            if len(data) >= 20 and data[0] < 4 and data[4:8] == _STUN_COOKIE:  # aioice authenticates STUN
                original(data, addr)
                return
            strangers.dropped += 1

        protocol.datagram_received = datagram_received
    return strangers
