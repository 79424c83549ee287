"""The one place where Lapak reaches into aiortc's and aioice's internals.

The router, the headless clients and the benchmark touch nothing private of
aiortc or aioice anywhere else. The router's parts come out of here as plain
callables or replaced handlers:

- :func:`rtp_path`: a consumer's send path (the transport's SRTP session
  and the nominated ICE pair's socket, synchronously);
- :func:`rtcp_path`: the same for RTCP (keyframe requests, sender reports);
- :func:`tap_receiver` and :func:`fast_receive_path`: a peer's incoming
  packets, straight to its :class:`~server.media.receive.ReceiverSource`,
  and the peer's sender reports;
- :func:`own_sender_reports` and :func:`take_feedback`: the server-side
  ``RTCRtpSender``'s RTCP, which carries the router's own sender reports
  and hands the recipient's NACKs and keyframe requests to the consumer;
- :func:`guard_sockets`: the ICE sockets drop datagrams from strangers;
- :func:`replace_candidate_gathering`, :func:`set_consent_timing` and
  :func:`on_consent_lost` (:mod:`server.media.bridge_ice`, the bridge's ICE
  half): a fixed port range, announced addresses, the consent timeout and
  its expiry;
- small accessors (:func:`offer_direction`, :func:`codecs`,
  :func:`sender_ssrc`, ...) and the clients' hooks (:func:`abort_ice`,
  :func:`watch_rtp`, :func:`intercept_sender_rtcp`, :func:`replace_rtp_handler`).

``pyproject.toml`` pins aiortc to 1.16.x for this module's sake, and
:func:`check_compatibility` (run when a media worker or in-process router
starts) fails early, naming what is missing, if what it uses is not there.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    HeaderExtensions,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
)

from . import bridge_ice
from .bridge_ice import on_consent_lost, replace_candidate_gathering, selected_pair, set_consent_timing  # noqa: F401
from .receive import ReceiverSource, fast_rtp_handler
from .streams import Connect, Consumer, Send

_EXT = struct.Struct("!HH")
_STUN_COOKIE = b"\x21\x12\xa4\x42"


#: What this module replaces or calls, found on the class (``module:Class``) or the module.
_NEEDED = (
    ("aiortc.rtcrtpsender:RTCRtpSender", ("_send_rtcp", "_handle_rtcp_packet", "_run_rtcp")),
    ("aiortc.rtcrtpreceiver:RTCRtpReceiver", ("_handle_rtp_packet", "_handle_rtcp_packet")),
    ("aiortc.rtcdtlstransport:RTCDtlsTransport", ("_handle_rtp_data", "_send_rtp")),
    ("aiortc.rtp:HeaderExtensionsMap", ("set", "configure")),
    ("aioice.ice:StunProtocol", ("datagram_received",)),
    ("aioice.ice:Connection", ("request_received", "check_incoming")),
    ("aioice.ice", ("get_host_addresses",)),
    *bridge_ice.NEEDED,
)

#: What it reads on instances (set in ``__init__``), found on a probe connection's audio transceiver.
_INSTANCE_NEEDED = (
    ("RTCRtpTransceiver", "", ("_offerDirection", "_codecs")),
    ("RTCRtpSender", "sender", ("_ssrc",)),
    ("RTCDtlsTransport", "sender.transport", ("_tx_srtp", "_rtp_header_extensions_map")),
    ("HeaderExtensionsMap", "sender.transport._rtp_header_extensions_map", ("_HeaderExtensionsMap__ids",)),
    ("RTCIceTransport", "sender.transport.transport", ("_connection",)),
    ("aioice.Connection", "sender.transport.transport._connection", ("_nominated", "_protocols", "_remote_candidates")),
)


def check_compatibility() -> None:
    """Raise ``RuntimeError`` naming what is missing if aiortc/aioice changed under the router.

    Run when a router starts (in a media worker, before it takes a command).
    """
    import importlib

    missing = []
    for path, names in _NEEDED:
        module, _, name = path.partition(":")
        owner = importlib.import_module(module)
        owner = getattr(owner, name, None) if name else owner
        missing += [f"{path}.{n}" for n in names if owner is None or not hasattr(owner, n)]
    try:
        asyncio.get_running_loop()
        missing += _probe_instances()
    except RuntimeError:  # no loop: aiortc's constructors want one
        loop = asyncio.new_event_loop()
        try:
            missing += loop.run_until_complete(_probe_async())
        finally:
            loop.close()
    if missing:
        raise RuntimeError(
            f"aiortc/aioice lack what the media router needs: {', '.join(missing)}. "
            "Install the versions pinned in pyproject.toml (server/media/bridge.py lists what it uses)."
        )


async def _probe_async() -> list[str]:
    return _probe_instances()


def _probe_instances() -> list[str]:
    """Build an unconnected peer connection and look for the instance attributes this module reads."""
    from aioice.candidate import Candidate
    from aiortc import RTCPeerConnection

    try:
        transceiver = RTCPeerConnection().addTransceiver("audio")  # no socket, no task until negotiated
    except Exception as exc:  # the constructors themselves changed
        return [f"a peer connection to probe ({type(exc).__name__}: {exc})"]
    missing = []
    for label, path, names in _INSTANCE_NEEDED:
        owner = transceiver
        for part in filter(None, path.split(".")):
            owner = getattr(owner, part, None)
        missing += [f"{label}.{n}" for n in names if owner is None or not hasattr(owner, n)]
    if not hasattr(Candidate("1", 1, "udp", 1, "127.0.0.1", 9, "host"), "_network_host"):
        missing.append("aioice.Candidate._network_host")
    return missing


# -- peer connection details ---------------------------------------------------


def offer_direction(transceiver) -> str | None:
    """The direction the remote offer gave this m-line, from our side (``"sendonly"``: we only send)."""
    return transceiver._offerDirection


def codecs(transceiver) -> list:
    """The transceiver's negotiable codecs (``RTCRtpCodecParameters``), preferred first."""
    return transceiver._codecs


def set_codecs(transceiver, chosen: list) -> None:
    """Answer with exactly ``chosen`` (before ``createAnswer``)."""
    transceiver._codecs = list(chosen)


def payload_type(transceiver) -> int | None:
    """The payload type of the transceiver's negotiated media codec (``None`` before negotiation)."""
    found = transceiver._codecs
    return found[0].payloadType if found else None


def sender_ssrc(sender) -> int:
    """The SSRC ``sender`` sends with, and signs its (and its receiver's) RTCP with."""
    return sender._ssrc


def replace_host_addresses(lookup: Callable[[bool, bool], list[str]]) -> Callable[[bool, bool], list[str]]:
    """Make aioice gather host candidates from ``lookup(use_ipv4, use_ipv6)``; returns aioice's own."""
    import aioice.ice

    original = aioice.ice.get_host_addresses
    aioice.ice.get_host_addresses = lookup
    return original


def abort_ice(transport) -> None:
    """Close the ICE sockets under DTLS ``transport`` at once, as if the network vanished."""
    for protocol in list(transport.transport._connection._protocols):
        if protocol.transport is not None:
            protocol.transport.abort()


def watch_rtp(receiver, seen: Callable[[RtpPacket], None]) -> None:
    """Show every RTP packet ``receiver`` gets to ``seen`` before aiortc handles it as usual."""
    original = receiver._handle_rtp_packet

    async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
        seen(packet)
        await original(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle


def intercept_sender_rtcp(sender, take: Callable[[object], bool]) -> None:
    """Offer each RTCP packet about ``sender``'s stream to ``take``; aiortc handles what it does not take."""
    original = sender._handle_rtcp_packet

    async def handle(packet) -> None:
        if not take(packet):
            await original(packet)

    sender._handle_rtcp_packet = handle


def replace_rtp_handler(transport, handle: Callable) -> None:
    """Hand every RTP datagram DTLS ``transport`` decrypts to ``handle(data, arrival_time_ms)`` instead."""
    transport._handle_rtp_data = handle


def header_extensions(transport):
    """DTLS ``transport``'s negotiated RTP header-extension map (for ``RtpPacket.parse``)."""
    return transport._rtp_header_extensions_map


# -- sending -----------------------------------------------------------------


def _wire(transport) -> tuple | None:
    """(SRTP session, ``sendto``, remote address) of a connected DTLS ``transport``; ``None`` before."""
    srtp = getattr(transport, "_tx_srtp", None)
    if srtp is None or transport.state != "connected":
        return None
    pair = transport.transport._connection._nominated.get(1)
    if pair is None or pair.protocol.transport is None:
        return None
    return srtp, pair.protocol.transport.sendto, pair.remote_addr


def rtp_path(transport, mid: str | None) -> Connect:
    """A consumer's :data:`~server.media.streams.Connect` for the DTLS ``transport``.

    Once the transport is connected: a ``send`` that encrypts with the
    transport's SRTP session and writes to the nominated pair's socket, and
    the header-extension block carrying ``mid``.
    """

    def connect() -> tuple[Send, bytes] | None:
        wire = _wire(transport)
        if wire is None:
            return None
        srtp, sendto, address = wire
        extension = b""
        if mid:
            profile, value = transport._rtp_header_extensions_map.set(HeaderExtensions(mid=mid))
            if value:
                extension = _EXT.pack(profile, len(value) >> 2) + value
        protect = srtp.protect

        def send(data: bytes) -> None:
            sendto(protect(data), address)

        return send, extension

    return connect


def rtcp_path(transport) -> Callable[[bytes], bool]:
    """Send one RTCP compound packet on ``transport`` now; ``False`` if it is not connected."""

    def send(data: bytes) -> bool:
        wire = _wire(transport)
        if wire is None:
            return False
        srtp, sendto, address = wire
        try:
            sendto(srtp.protect_rtcp(data), address)
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
    """The recipient's RTCP about ``consumer``'s stream: NACKs, keyframe requests and reception reports."""

    async def handle(packet) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            consumer.retransmit(list(packet.lost))
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            consumer.keyframe_requested()
        elif isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for block in packet.reports:
                if block.ssrc == consumer.ssrc:
                    consumer.reception.report(block.fraction_lost, block.jitter, block.lsr, block.dlsr)

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
    """Replace the DTLS transport's RTP handler by :func:`~server.media.receive.fast_rtp_handler`.

    Packets of a known media SSRC skip ``RtpPacket``; anything else (the
    first packets, RTX, unknown SSRCs) takes aiortc's own path, which teaches
    ``sources`` the SSRC through :attr:`ReceiverSource.on_ssrc`.
    """
    ids = transport._rtp_header_extensions_map._HeaderExtensionsMap__ids  # filled in once DTLS is up

    def level_id() -> int | None:
        return ids.audio_level

    transport._handle_rtp_data = fast_rtp_handler(transport._handle_rtp_data, sources, level_id)


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
            # IPv4 gives (host, port); IPv6 (host, port, flowinfo, scope_id)
            if addr in known or (addr[0], addr[1]) in known:
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
