"""Network quality's numbers and levels, on an injected clock: thresholds, when to tell, loss, jitter, round trip."""

from __future__ import annotations

from server.media.quality import PeerMeter, Reception
from server.media.receive import ReceiverSource
from server.media.rtcp import ntp_from_unix
from signaling.core.quality import THRESHOLDS, Teller, classify


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def numbers(**given) -> dict:
    return {"loss_up": None, "loss_down": None, "jitter_up_ms": None, "jitter_down_ms": None, "rtt_ms": None, **given}


def test_the_level_is_the_worst_number_and_the_thresholds_are_the_documented_ones():
    assert (THRESHOLDS.fair_loss, THRESHOLDS.poor_loss) == (0.03, 0.10)
    assert (THRESHOLDS.fair_jitter_ms, THRESHOLDS.poor_jitter_ms) == (30.0, 60.0)
    assert (THRESHOLDS.fair_rtt_ms, THRESHOLDS.poor_rtt_ms) == (300.0, 600.0)
    assert classify(numbers()) is None
    assert classify(numbers(loss_up=0.0, rtt_ms=5.0, jitter_up_ms=4.0)) == "good"
    assert classify(numbers(loss_up=0.029)) == "good"
    assert classify(numbers(loss_up=0.03)) == "fair"
    assert classify(numbers(loss_down=0.10)) == "poor"
    assert classify(numbers(jitter_down_ms=30.0)) == "fair"
    assert classify(numbers(jitter_up_ms=60.0, loss_up=0.0)) == "poor"
    assert classify(numbers(rtt_ms=299.9)) == "good"
    assert classify(numbers(rtt_ms=300.0)) == "fair"
    assert classify(numbers(rtt_ms=600.0, loss_up=0.0, loss_down=0.0)) == "poor"
    assert classify(numbers(loss_up=0.05, rtt_ms=700.0)) == "poor", "the worst number decides"


def test_worse_is_told_at_once_better_after_two_samples_numbers_every_ten_seconds():
    teller = Teller()
    good, poor = numbers(loss_up=0.0, rtt_ms=5.0), numbers(loss_up=0.2, rtt_ms=5.0)
    assert teller.take(good, 0.0) == {"level": "good", **good}
    assert teller.take(good, 2.0) is None, "nothing new"
    assert teller.take(poor, 4.0)["level"] == "poor", "worse: at once"
    assert teller.take(good, 6.0) is None, "one good sample is not a recovery"
    assert teller.take(poor, 8.0) is None, "still poor: nothing new"
    assert teller.take(good, 10.0) is None
    assert teller.take(good, 12.0)["level"] == "good", "good twice in a row"
    slightly = numbers(loss_up=0.01, rtt_ms=6.0)
    assert teller.take(slightly, 14.0) is None, "the numbers alone: not before ten seconds"
    assert teller.take(slightly, 22.0) == {"level": "good", **slightly}
    assert teller.take(numbers(loss_up=0.01, rtt_ms=6.0, loss_down=0.0), 24.0) is not None, "a number newly known"


def test_loss_and_jitter_of_what_a_peer_sends_come_from_its_sequence_numbers_and_arrival_times():
    clock = Clock()
    source = ReceiverSource("k:audio", "audio", {111}, lambda ssrc: None, clock=clock)
    seq, ts = 100, 0
    for i in range(100):
        clock.now += 0.020 + (0.010 if i % 2 else 0.0)  # arrivals 20 and 30 ms apart: 10 ms swings
        ts += 960
        seq += 1
        if i % 10 == 3:
            continue  # every tenth packet lost on the way
        source.receive(b"x", 0, seq & 0xFFFF, ts)
    assert (source.expected, source.received) == (100, 90)
    assert 0.003 < source.jitter < 0.006, source.jitter  # |D| alternates 0 and 10 ms: RFC 3550's estimate ~5 ms


def test_the_round_trip_is_the_time_since_the_sender_report_named_by_lsr_minus_dlsr():
    clock = Clock()
    reception = Reception(48000, clock)
    ntp = ntp_from_unix(1_764_000_000.25)
    reception.sent_report(ntp)
    clock.now += 0.180
    lsr = (ntp >> 16) & 0xFFFFFFFF
    reception.report(fraction_lost=64, jitter=960, lsr=lsr, dlsr=int(0.030 * 65536))
    lost, jitter, rtt, _ = reception.latest
    assert (lost, jitter) == (0.25, 0.02)
    assert abs(rtt - 0.150) < 0.001
    reception.report(fraction_lost=0, jitter=0, lsr=12345, dlsr=0)
    assert reception.latest[2] is None, "an LSR the server never sent gives no round trip"


class FakePeer:
    def __init__(self, audio, consumers=()) -> None:
        self.audio_in, self.video_in, self._consumers = audio, None, list(consumers)

    def consumers(self):
        return self._consumers


def test_a_peer_whose_packets_stop_is_all_loss_and_poor():
    clock = Clock()
    source = ReceiverSource("k:audio", "audio", {111}, lambda ssrc: None, clock=clock)
    source.first_packet_at = clock.now
    for seq in range(50):
        clock.now += 0.02
        source.receive(b"x", 0, seq, seq * 960)
    meter = PeerMeter(clock)
    assert meter.sample(FakePeer(source))["loss_up"] == 0.0
    clock.now += 2.0  # nothing arrived in a whole sample
    stalled = meter.sample(FakePeer(source))
    assert stalled["loss_up"] == 1.0 and classify(stalled) == "poor"
