"""Measuring a peer connection's network in both directions, for :mod:`signaling.core.quality`.

Upstream (what the peer sends the server) the server measures itself: each
:class:`~server.media.receive.ReceiverSource` counts packets received and
expected (sequence numbers) and the audio's interarrival jitter. Downstream
(what the server sends the peer) the peer tells: its RTCP receiver reports
about each :class:`~server.media.streams.Consumer`'s SSRC carry the fraction
lost and the jitter it saw, and LSR/DLSR, which against the time the server
sent that sender report give the round trip (RFC 3550 6.4.1).
:class:`Reception` keeps that per consumer; :class:`PeerMeter` turns both
into one peer's numbers every few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

#: A receiver report older than this (seconds) says nothing about now.
REPORT_FRESH = 6.0
#: Sender reports remembered to match LSRs against (aiortc and browsers report about the latest).
SENT_KEPT = 8


class Reception:
    """What one recipient reports about one of the server's streams to it."""

    def __init__(self, clock_rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock_rate = clock_rate
        self._clock = clock
        self._sent: dict[int, float] = {}
        #: The latest report: (fraction lost 0..1, jitter seconds, round trip seconds or None, local time).
        self.latest: tuple[float, float, float | None, float] | None = None
        self.reports = 0

    def sent_report(self, ntp: int) -> None:
        """The server sent a sender report with NTP time ``ntp`` (64-bit) now."""
        self._sent[(ntp >> 16) & 0xFFFFFFFF] = self._clock()
        if len(self._sent) > SENT_KEPT:
            self._sent.pop(next(iter(self._sent)))

    def report(self, fraction_lost: int, jitter: int, lsr: int, dlsr: int) -> None:
        """One reception report block about this stream (RFC 3550 6.4.1 fields, as sent)."""
        now = self._clock()
        rtt = None
        sent_at = self._sent.get(lsr) if lsr else None
        if sent_at is not None:
            rtt = max(0.0, now - sent_at - dlsr / 65536)
        self.latest = (fraction_lost / 256, jitter / self.clock_rate, rtt, now)
        self.reports += 1

    def fresh(self, now: float) -> tuple[float, float, float | None, float] | None:
        latest = self.latest
        return latest if latest is not None and now - latest[3] <= REPORT_FRESH else None


class _Incoming(Protocol):
    kind: str
    received: int
    expected: int
    jitter: float
    first_packet_at: float | None


class _Outgoing(Protocol):
    kind: str
    reception: Reception


class _Peer(Protocol):
    audio_in: _Incoming | None
    video_in: _Incoming | None

    def consumers(self) -> Iterable[_Outgoing]: ...


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


class PeerMeter:
    """One peer's numbers (see :mod:`signaling.core.quality`) since the previous sample."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[int, tuple[int, int]] = {}

    def sample(self, peer: _Peer) -> dict:
        now = self._clock()
        numbers: dict = {"loss_up": None, "loss_down": None, "jitter_up_ms": None, "jitter_down_ms": None, "rtt_ms": None}
        received = expected = 0
        started = False
        for source in (peer.audio_in, peer.video_in):
            if source is None or source.first_packet_at is None:
                continue
            started = True
            before = self._counts.get(id(source), (0, 0))
            self._counts[id(source)] = (source.received, source.expected)
            received += source.received - before[0]
            expected += source.expected - before[1]
            if source.kind == "audio":
                numbers["jitter_up_ms"] = _ms(source.jitter)
        if started:
            # Nothing arrived at all in a whole sample while connected: the peer's packets are all lost.
            numbers["loss_up"] = round(max(0.0, 1 - received / expected), 3) if expected else 1.0
        losses, trips = [], []
        for consumer in peer.consumers():
            report = consumer.reception.fresh(now)
            if report is None:
                continue
            losses.append(report[0])
            if report[2] is not None:
                trips.append((report[3], report[2]))
            if consumer.kind == "audio":
                numbers["jitter_down_ms"] = _ms(report[1])
        if losses:
            numbers["loss_down"] = round(max(losses), 3)
        if trips:
            numbers["rtt_ms"] = _ms(max(trips)[1])  # the latest report's
        return numbers
