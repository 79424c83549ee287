"""The router's packet path byte by byte: crafted RTP in, exact RTP out, no peer connection.

Like LiveKit's ``rtpmunger_test.go``: each test feeds a consumer (and, for
gaps and keyframe requests, a receiver source) hand-made packets on a
hand-moved clock and compares every datagram it writes with the bytes it
must write.
"""

from __future__ import annotations

import pytest

from rtp_bytes import Clock, CountingSource, Wire, consumer, receiver_source, rtp, vp8
from server.media.streams import KEYFRAME_REQUEST_INTERVAL, KEYFRAME_RETRY, NACK_HISTORY, Source
from server.media.vp8 import starts_keyframe

OPUS = b"\x78\x01\x02\x03"


# -- rewriting: SSRC, payload type, sequence numbers, timestamps ------------------


def test_first_packets_get_the_consumers_ssrc_payload_type_and_mid_and_keep_their_numbers():
    wire, clock = Wire(), Clock()
    out = consumer("audio", wire, clock)
    src = Source("a", "audio")
    out.set_source(src)
    src.emit(OPUS, 1, 4000, 160_000)
    clock.advance(1 / 64)
    src.emit(OPUS + b"\x04", 0, 4001, 160_960)
    assert wire.take() == [rtp(4000, 160_000, OPUS, marker=1), rtp(4001, 160_960, OPUS + b"\x04")]
    assert (out.packets, out.bytes) == (2, 2 * len(OPUS) + 1)


def test_a_source_switch_continues_the_sequence_and_the_timestamps_by_the_time_elapsed():
    wire, clock = Wire(), Clock()
    out = consumer("audio", wire, clock)
    a, b = Source("a", "audio"), Source("b", "audio")
    out.set_source(a)
    a.emit(OPUS, 0, 100, 1000)
    clock.advance(1 / 64)
    a.emit(OPUS, 0, 101, 1960)
    out.set_source(b)
    clock.advance(1 / 16)  # b's first packet 62.5 ms later: 3000 ticks at 48 kHz
    b.emit(OPUS, 0, 7000, 9_000_000)
    clock.advance(1 / 64)
    b.emit(OPUS, 0, 7001, 9_000_960)
    a.emit(OPUS, 0, 102, 2920)  # the old source reaches this recipient no more
    assert wire.take() == [
        rtp(100, 1000, OPUS),
        rtp(101, 1960, OPUS),
        rtp(102, 1960 + 3000, OPUS),
        rtp(103, 1960 + 3000 + 960, OPUS),
    ]


def test_sequence_numbers_and_timestamps_wrap_around_across_a_switch():
    wire, clock = Wire(), Clock()
    out = consumer("audio", wire, clock)
    a, b = Source("a", "audio"), Source("b", "audio")
    out.set_source(a)
    a.emit(OPUS, 0, 65535, 0xFFFFFF00)
    out.set_source(b)
    clock.advance(1 / 64)  # 750 ticks
    b.emit(OPUS, 0, 5, 10)
    b.emit(OPUS, 0, 6, 970)
    assert wire.take() == [
        rtp(65535, 0xFFFFFF00, OPUS),
        rtp(0, 0xFFFFFF00 + 750, OPUS),  # both wrap: 0x000001EE
        rtp(1, 0xFFFFFF00 + 750 + 960, OPUS),
    ]


def test_a_gap_before_the_router_is_bridged_without_a_hole_in_the_numbering():
    """Audio lost upstream (seq 12..14): the recipient sees 10, 11 and then 12 for the next packet."""
    wire, clock, plis = Wire(), Clock(), []
    src = receiver_source("audio", clock, plis)
    out = consumer("audio", wire, clock)
    out.set_source(src)
    src.receive(OPUS, 0, 10, 48_000)
    clock.advance(1 / 64)
    src.receive(OPUS, 0, 11, 48_960)
    clock.advance(1 / 16)  # three packets lost, the fourth arrives 62.5 ms later: 3000 ticks
    src.receive(OPUS, 0, 15, 48_960 + 4 * 960)
    clock.advance(1 / 64)
    src.receive(OPUS, 0, 16, 48_960 + 5 * 960)
    assert wire.take() == [
        rtp(10, 48_000, OPUS),
        rtp(11, 48_960, OPUS),
        rtp(12, 48_960 + 3000, OPUS),
        rtp(13, 48_960 + 3000 + 960, OPUS),
    ]
    assert src.upstream_gaps == 1
    assert plis == []  # audio needs no keyframe


def test_a_late_reordered_packet_is_not_a_gap():
    wire, clock, plis = Wire(), Clock(), []
    src = receiver_source("audio", clock, plis)
    out = consumer("audio", wire, clock)
    out.set_source(src)
    for seq in (20, 22, 21, 23):
        src.receive(OPUS, 0, seq, seq * 960)
    assert src.upstream_gaps == 1  # 21 missing when 22 came; 21 itself moves nothing
    assert len(wire.take()) == 4


# -- keyframe gating --------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, key",
    [
        (vp8(5, key=True), True),
        (vp8(5, key=False), False),
        (vp8(5, start=False), False),
        (b"\x10\x10\x02\x00", True),  # no X byte: S=1, PID=0, keyframe
        (b"\x11\x10\x02\x00", False),  # PID=1: not the frame's first partition
        (b"\x90\x80\x05\x10", True),  # 7-bit picture id
        (b"\x90\xe0\x85\x05\x07\x10", False),  # I (15-bit), L, T: too short for the VP8 header
        (b"\x90\xf0\x85\x05\x07\x20\x10\x02", True),  # I (15-bit), L, T/K byte, then the header
        (b"\x90", False),
        (b"", False),
    ],
)
def test_vp8_keyframe_detection(payload, key):
    assert starts_keyframe(payload) is key


def test_a_switch_forwards_nothing_until_the_new_sources_keyframe_and_asks_for_one():
    wire, clock = Wire(), Clock()
    out = consumer("video", wire, clock)
    a, b = CountingSource("a"), CountingSource("b")
    out.set_source(a)
    a.emit(vp8(1, key=True), 1, 500, 90_000)
    assert a.keyframe_requests == 1
    clock.advance(1 / 8)
    a.emit(vp8(2), 1, 501, 101_250)
    out.set_source(b)
    assert b.keyframe_requests == 1
    clock.advance(1 / 32)
    b.emit(vp8(800), 0, 3000, 7_000_000)  # a delta frame's first packet
    b.emit(vp8(800, start=False), 1, 3001, 7_000_000)
    clock.advance(3 / 32)
    b.emit(vp8(801, key=True), 0, 3002, 7_009_000)
    b.emit(vp8(801, start=False), 1, 3003, 7_009_000)
    assert wire.take() == [
        rtp(500, 90_000, vp8(1, key=True), marker=1),
        rtp(501, 101_250, vp8(2), marker=1),
        rtp(502, 101_250 + 11_250, vp8(801, key=True)),  # 125 ms after 501
        rtp(503, 101_250 + 11_250, vp8(801, start=False), marker=1),
    ]
    assert out.dropped_waiting_keyframe == 2


def test_a_gap_before_the_router_holds_video_until_the_next_keyframe_and_asks_for_it():
    wire, clock, plis = Wire(), Clock(), []
    src = receiver_source("video", clock, plis)
    src.learn_ssrc(0xCAFE)
    out = consumer("video", wire, clock)
    out.set_source(src)
    assert plis == [0xCAFE]
    src.receive(vp8(10, key=True), 1, 100, 0)
    clock.advance(1 / 8)
    src.receive(vp8(11), 1, 101, 11_250)
    clock.advance(1 / 4)
    src.receive(vp8(14), 1, 104, 33_750)  # 102, 103 lost upstream: delta frames cannot be decoded now
    clock.advance(1 / 8)
    src.receive(vp8(15), 1, 105, 45_000)
    clock.advance(1 / 8)
    src.receive(vp8(16, key=True), 1, 106, 56_250)
    assert wire.take() == [
        rtp(100, 0, vp8(10, key=True), marker=1),
        rtp(101, 11_250, vp8(11), marker=1),
        rtp(102, 11_250 + 45_000, vp8(16, key=True), marker=1),  # no hole; 500 ms of timestamps
    ]
    assert plis == [0xCAFE, 0xCAFE]  # asked again at the gap
    assert src.upstream_gaps == 1


def test_a_new_connection_starts_at_a_keyframe_that_arrives_after_it_is_up():
    """The keyframe that went by while the recipient's connection was not up must not open the gate."""
    wire, clock = Wire(up=False), Clock()
    out = consumer("video", wire, clock)
    src = CountingSource("camera")
    out.set_source(src)
    assert src.keyframe_requests == 1
    src.emit(vp8(1, key=True), 1, 10, 0)  # the asked-for keyframe: the connection is not up yet
    clock.advance(1 / 8)
    wire.up = True
    src.emit(vp8(2), 1, 11, 9000)  # the connection is up now: a delta frame is no start
    assert src.keyframe_requests == 2  # asked again as soon as the path opened
    clock.advance(1 / 8)
    src.emit(vp8(3, key=True), 1, 12, 18_000)
    src.emit(vp8(4), 1, 13, 27_000)
    assert wire.take() == [rtp(12, 18_000, vp8(3, key=True), marker=1), rtp(13, 27_000, vp8(4), marker=1)]
    assert (out.dropped_not_connected, out.dropped_waiting_keyframe) == (1, 1)


def test_a_path_that_failed_and_opens_again_restarts_at_a_keyframe_without_a_hole():
    wire, clock = Wire(), Clock()
    out = consumer("video", wire, clock)
    src = CountingSource("camera")
    out.set_source(src)
    src.emit(vp8(1, key=True), 1, 10, 0)

    def broken(data: bytes) -> None:
        raise OSError("socket closed")

    out._send = broken  # the socket went away under the consumer
    clock.advance(1 / 8)
    src.emit(vp8(2), 1, 11, 9000)  # sent as 11, lost in the failed send (a NACK can fetch it)
    clock.advance(1 / 8)
    src.emit(vp8(3), 1, 12, 18_000)  # the path opens again: no keyframe yet
    clock.advance(1 / 8)
    src.emit(vp8(4, key=True), 1, 13, 27_000)
    assert wire.take() == [rtp(10, 0, vp8(1, key=True), marker=1), rtp(12, 9000 + 22_500, vp8(4, key=True), marker=1)]
    assert wire.opened == 2 and src.keyframe_requests == 2


def test_a_consumer_still_waiting_asks_again_after_the_retry_interval():
    wire, clock = Wire(), Clock()
    out = consumer("video", wire, clock)
    src = CountingSource("camera")
    out.set_source(src)
    src.emit(vp8(1), 1, 1, 0)
    assert src.keyframe_requests == 1
    clock.advance(KEYFRAME_RETRY / 2)
    src.emit(vp8(2), 1, 2, 0)
    assert src.keyframe_requests == 1
    clock.advance(KEYFRAME_RETRY)
    src.emit(vp8(3), 1, 3, 0)
    assert src.keyframe_requests == 2
    assert wire.take() == []


def test_keyframe_requests_to_a_peer_are_rate_limited_and_none_is_lost():
    clock, plis, timers = Clock(), [], []
    src = receiver_source("video", clock, plis, timers)
    src.request_keyframe()  # before the SSRC is known: kept for later
    assert plis == []
    src.learn_ssrc(0xBEEF)
    assert plis == [0xBEEF]
    clock.advance(1 / 8)
    src.request_keyframe()
    src.request_keyframe()
    assert plis == [0xBEEF]  # within the interval: one deferred request, not two
    assert [d for d, _ in timers] == [KEYFRAME_REQUEST_INTERVAL - 1 / 8]
    clock.advance(KEYFRAME_REQUEST_INTERVAL - 1 / 8)
    timers.pop()[1]()  # the timer fires
    assert plis == [0xBEEF, 0xBEEF]
    clock.advance(KEYFRAME_REQUEST_INTERVAL)
    src.request_keyframe()
    assert plis == [0xBEEF] * 3 and timers == []
    assert src.keyframe_requests == 3


def test_audio_switch_is_heard_at_once_from_the_newest_packet():
    wire, clock, plis = Wire(), Clock(), []
    src = receiver_source("audio", clock, plis)
    src.receive(OPUS, 0, 50, 9600)
    clock.advance(1 / 128)
    out = consumer("audio", wire, clock)
    out.set_source(src)
    assert wire.take() == [rtp(50, 9600, OPUS)]


# -- NACKs ------------------------------------------------------------------------


def test_nacks_are_answered_from_history_with_the_rewritten_packets():
    wire, clock = Wire(), Clock()
    out = consumer("video", wire, clock)
    a, b = CountingSource("a"), CountingSource("b")
    out.set_source(a)
    a.emit(vp8(1, key=True), 1, 1000, 0)
    a.emit(vp8(2), 1, 1001, 3000)
    out.set_source(b)
    clock.advance(1 / 8)
    b.emit(vp8(90, key=True), 1, 40, 500)
    b.emit(vp8(91), 1, 41, 3500)
    sent = wire.take()
    assert sent[2] == rtp(1002, 3000 + 11_250, vp8(90, key=True), marker=1)
    out.retransmit([1002, 1000, 41, 5000])  # 41 and 5000 are no sequence numbers this recipient got
    assert wire.take() == [sent[2], sent[0]]
    assert (out.retransmitted, out.retransmitted_bytes) == (2, len(vp8(90, key=True)) + len(vp8(1, key=True)))


def test_nacks_for_packets_older_than_the_history_are_not_answered():
    wire, clock = Wire(), Clock()
    out = consumer("video", wire, clock)
    src = CountingSource()
    out.set_source(src)
    src.emit(vp8(0, key=True), 1, 0, 0)
    for seq in range(1, NACK_HISTORY + 1):
        src.emit(vp8(seq), 1, seq, seq * 3000)
    sent = wire.take()
    out.retransmit([0, 1, NACK_HISTORY])
    assert wire.take() == [sent[1], sent[NACK_HISTORY]]


def test_nothing_is_retransmitted_before_the_path_is_open():
    wire, clock = Wire(up=False), Clock()
    out = consumer("video", wire, clock)
    out.retransmit([1, 2])
    assert wire.sent == [] and wire.opened == 0
