"""Network quality of one peer connection: the numbers, the level they make, and when it is worth telling.

Pure domain code: the media router measures (:mod:`server.media.quality`),
this module decides. A peer's numbers, each ``None`` while unknown:

- ``loss_up``: the fraction (0..1) of the peer's packets that never reached
  the server (the server's own count, from sequence numbers);
- ``jitter_up_ms``: the interarrival jitter of the peer's audio at the
  server (RFC 3550, computed by the server);
- ``loss_down``, ``jitter_down_ms``: the same for what the server sends the
  peer, as the peer reports it (RTCP receiver reports);
- ``rtt_ms``: the round trip, from those reports' LSR/DLSR against the
  server's own sender reports.

The level is the worst any number reaches (:data:`THRESHOLDS`, documented in
``docs/operations.md``): ``good``, ``fair`` or ``poor``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LEVELS = ("good", "fair", "poor")
NUMBERS = ("loss_up", "loss_down", "jitter_up_ms", "jitter_down_ms", "rtt_ms")


@dataclass(frozen=True)
class Thresholds:
    """From these on a number makes the level ``fair``, resp. ``poor``."""

    fair_loss: float = 0.03
    poor_loss: float = 0.10
    fair_jitter_ms: float = 30.0
    poor_jitter_ms: float = 60.0
    fair_rtt_ms: float = 300.0
    poor_rtt_ms: float = 600.0

    def limits(self, name: str) -> tuple[float, float]:
        if name.startswith("loss"):
            return self.fair_loss, self.poor_loss
        if name.startswith("jitter"):
            return self.fair_jitter_ms, self.poor_jitter_ms
        return self.fair_rtt_ms, self.poor_rtt_ms


THRESHOLDS = Thresholds()


def classify(numbers: dict, thresholds: Thresholds = THRESHOLDS) -> str | None:
    """The level the numbers make (the worst of them); ``None`` if none is known yet."""
    known = [(name, numbers[name]) for name in NUMBERS if numbers.get(name) is not None]
    if not known:
        return None
    worst = 0
    for name, value in known:
        fair, poor = thresholds.limits(name)
        worst = max(worst, 2 if value >= poor else 1 if value >= fair else 0)
    return LEVELS[worst]


@dataclass
class Teller:
    """When one peer's quality is worth an event: at a modest rate, and without flapping.

    Samples come every few seconds. A worse level is told at once; a better
    one only once it held for ``settle`` samples in a row (a network that
    recovers for one sample is not called good yet). A number that becomes
    known (or unknown) is told at the next sample; otherwise the numbers
    alone are told again at most every ``refresh`` seconds, if they changed.
    """

    settle: int = 2
    refresh: float = 10.0
    level: str | None = None
    told_at: float | None = None
    told: dict = field(default_factory=dict)
    _better: int = 0

    def take(self, numbers: dict, now: float, thresholds: Thresholds = THRESHOLDS) -> dict | None:
        """The quality to tell now (``{"level", **numbers}``), or ``None``."""
        level = classify(numbers, thresholds)
        if level is None:
            return None
        changed = level != self.level
        if changed and self.level is not None and LEVELS.index(level) < LEVELS.index(self.level):
            self._better += 1
            if self._better < self.settle:
                return None
        self._better = 0
        due = self.told_at is None or now - self.told_at >= self.refresh
        newly_known = {k for k, v in numbers.items() if v is not None} != {k for k, v in self.told.items() if v is not None}
        if not changed and not newly_known and not (due and numbers != self.told):
            return None
        self.level, self.told_at, self.told = level, now, dict(numbers)
        return {"level": level, **numbers}
