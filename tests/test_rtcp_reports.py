"""The router's own RTCP byte by byte: sender reports and keyframe requests.

A consumer's sender report counts what the consumer sent and maps its RTP
timestamps to NTP time with its source's latest mapping: the peer's own
sender report, rewritten by the consumer's timestamp offset and moved to the
time of the report; server-made audio maps to the server's clock.
"""

from __future__ import annotations

import struct

import pytest
from aiortc.rtp import RtcpByePacket, RtcpPacket, RtcpSdesPacket, RtcpSenderInfo, RtcpSourceInfo, RtcpSrPacket

from rtp_bytes import SSRC_OUT, Clock, Wire, consumer, receiver_source, vp8
from server.media import bridge
from server.media.audio import LoopSource
from server.media.rtcp import NTP_UNIX_OFFSET, ntp_from_unix, picture_loss, sender_report
from server.media.streams import Source

OPUS = b"\x78\x01\x02\x03"
N = 0xE8F1_2345_8000_0000  # a 64-bit NTP time: some second of 2023, and a half


def sr(ssrc: int, ntp: int, rtp_ts: int, packets: int, octets: int) -> bytes:
    return b"\x80\xc8\x00\x06" + struct.pack("!LQLLL", ssrc, ntp, rtp_ts & 0xFFFFFFFF, packets, octets)


def test_ntp_time_of_a_unix_time():
    assert ntp_from_unix(0.0) == NTP_UNIX_OFFSET << 32
    assert ntp_from_unix(1_700_000_000.25) == ((1_700_000_000 + NTP_UNIX_OFFSET) << 32) | (1 << 30)


def test_sender_report_and_picture_loss_layout():
    assert sender_report(0x01020304, 0x1122334455667788, 0x99AABBCC, 7, 1234) == bytes.fromhex(
        "80c80006" "01020304" "1122334455667788" "99aabbcc" "00000007" "000004d2"
    )
    assert picture_loss(0xA, 0xB) == bytes.fromhex("81ce0002" "0000000a" "0000000b")
    parsed = RtcpPacket.parse(sender_report(5, N, 6, 7, 8))[0]
    assert isinstance(parsed, RtcpSrPacket) and parsed.ssrc == 5
    assert (parsed.sender_info.ntp_timestamp, parsed.sender_info.rtp_timestamp) == (N, 6)
    assert (parsed.sender_info.packet_count, parsed.sender_info.octet_count) == (7, 8)


def test_a_forwarded_stream_reports_what_it_sent_on_its_sources_clock():
    wire, clock, plis = Wire(), Clock(100.0), []
    src = receiver_source("video", clock, plis)
    src.learn_ssrc(0xAB)
    out = consumer("video", wire, clock)
    out.set_source(src)
    src.receive(vp8(1, key=True), 1, 10, 5000)
    assert out.sender_report() is None  # the peer has not said which time goes with which timestamp
    src.note_sender_report(N, 4000, packets=1)  # at 100.0: NTP N was RTP 4000
    src.receive(vp8(2), 1, 11, 8000)
    clock.advance(0.5)
    assert out.sender_report() == sr(SSRC_OUT, N + (1 << 31), 4000 + 45_000, 2, 2 * len(vp8(1)))


def test_after_a_switch_the_report_uses_the_new_sources_mapping_moved_by_the_new_offset():
    wire, clock = Wire(), Clock(100.0)
    out = consumer("audio", wire, clock)
    a, b = Source("a", "audio"), Source("b", "audio")
    a.timing = (N, 1000, 100.0)
    b.timing = (N + (5 << 32), 7_000_000, 100.0)  # another peer, another clock
    out.set_source(a)
    a.emit(OPUS, 0, 1, 1000)
    out.set_source(b)
    assert out.sender_report() is None  # nothing of b sent yet: no offset to map b's times with
    clock.advance(1 / 4)
    b.emit(OPUS, 0, 50, 7_012_000)  # sent as 1000 + 12000 (250 ms later): offset 1000 + 12000 - 7012000
    clock.advance(1 / 4)
    offset = 1000 + 12_000 - 7_012_000
    assert out.sender_report() == sr(
        SSRC_OUT, N + (5 << 32) + (1 << 31), 7_000_000 + offset + 24_000, 2, 2 * len(OPUS)
    )


def test_no_report_while_a_gap_is_bridged_and_retransmissions_count():
    wire, clock, plis = Wire(), Clock(100.0), []
    src = receiver_source("video", clock, plis)
    src.learn_ssrc(0xAB)
    out = consumer("video", wire, clock)
    out.set_source(src)
    src.note_sender_report(N, 0, packets=3)
    src.receive(vp8(1, key=True), 1, 10, 0)
    src.receive(vp8(2), 1, 11, 3000)
    out.retransmit([10])
    sent = 3 * len(vp8(1))
    assert out.sender_report() == sr(SSRC_OUT, N, 0, 3, sent)
    src.receive(vp8(5), 1, 14, 12_000)  # a gap: dropped, the stream is not aligned again yet
    assert out.sender_report() is None
    src.receive(vp8(6, key=True), 1, 15, 15_000)
    assert out.sender_report() is not None


def test_a_report_sent_before_the_peers_first_packet_maps_nothing():
    clock, plis = Clock(), []
    src = receiver_source("audio", clock, plis)
    src.note_sender_report(0, 0, packets=0)  # aiortc's report before it sent anything
    assert src.timing is None and src.sender_reports == 0
    src.note_sender_report(N, 77, packets=4)
    assert src.timing == (N, 77, clock.now) and src.sender_reports == 1


def test_hold_audio_maps_to_the_servers_own_clock():
    wall, clock = Clock(1_700_000_000.0), Clock(100.0)
    hold = LoopSource("hold", [OPUS], wall=wall, clock=clock)
    wire = Wire()
    out = consumer("audio", wire, clock)
    out.set_source(hold)
    hold.tick()
    wall.advance(0.02)
    clock.advance(1 / 64)
    hold.tick()  # timestamp 960, made at wall time 1_700_000_000.02
    assert hold.timing == (ntp_from_unix(1_700_000_000.02), 960, clock.now)
    clock.advance(1 / 8)
    assert out.sender_report() == sr(SSRC_OUT, ntp_from_unix(1_700_000_000.02) + (1 << 29), 960 + 6000, 2, 8)


class FakeSender:
    """What :func:`bridge.own_sender_reports` needs of an ``RTCRtpSender``."""

    def __init__(self) -> None:
        self.passed: list = []

    async def _send_rtcp(self, packets) -> None:
        self.passed.append(packets)


async def test_the_senders_rtcp_carries_the_routers_report_and_keeps_its_sdes_and_bye():
    sender, sent = FakeSender(), []
    report = sender_report(SSRC_OUT, N, 1, 2, 3)
    answers = [report, None]
    bridge.own_sender_reports(sender, lambda: answers.pop(0), lambda data: sent.append(data) or True)
    aiortc_sr = RtcpSrPacket(ssrc=SSRC_OUT, sender_info=RtcpSenderInfo(ntp_timestamp=0, rtp_timestamp=0,
                                                                        packet_count=0, octet_count=0))
    sdes = RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=SSRC_OUT, items=[(1, b"cname")])])
    await sender._send_rtcp([aiortc_sr, sdes])
    assert sent == [report + bytes(sdes)]
    await sender._send_rtcp([aiortc_sr, sdes])  # nothing true to report: the round is skipped
    assert len(sent) == 1
    bye = [RtcpByePacket(sources=[SSRC_OUT])]
    await sender._send_rtcp(bye)
    assert sender.passed == [bye]


class FakeReceiver:
    def __init__(self) -> None:
        self.rtcp: list = []

    async def _handle_rtcp_packet(self, packet) -> None:
        self.rtcp.append(packet)


@pytest.mark.parametrize("ssrc, noted", [(0xAB, True), (0xCD, False)])
async def test_a_peers_sender_report_for_its_stream_is_noted_and_still_reaches_aiortc(ssrc, noted):
    clock, plis = Clock(), []
    src = receiver_source("video", clock, plis)
    src.learn_ssrc(0xAB)
    receiver = FakeReceiver()
    bridge.tap_receiver(receiver, src)
    packet = RtcpSrPacket(ssrc=ssrc, sender_info=RtcpSenderInfo(ntp_timestamp=N, rtp_timestamp=9,
                                                                 packet_count=5, octet_count=500))
    await receiver._handle_rtcp_packet(packet)
    assert receiver.rtcp == [packet]
    assert src.timing == ((N, 9, clock.now) if noted else None)


def test_the_bridge_finds_what_it_needs_in_aiortc_and_aioice(monkeypatch):
    bridge.check_compatibility()
    from aiortc.rtcrtpsender import RTCRtpSender

    monkeypatch.delattr(RTCRtpSender, "_send_rtcp")
    with pytest.raises(RuntimeError, match="RTCRtpSender._send_rtcp"):
        bridge.check_compatibility()
