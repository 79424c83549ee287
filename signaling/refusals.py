"""Packets the socket layer refused: counted for ``/metrics``, logged one line at a time.

A client that sends garbage must not be able to fill the log (a traceback per
packet) or make the server hold memory. :class:`Refusals` keeps one counter
per reason, which the metrics route reads, and writes at most one WARNING
line per ``interval`` seconds, saying how many more were refused since the
last line. Its clock is injected so tests need no wall clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

#: Why a packet was refused (the ``reason`` label of ``lapak_socket_refused_packets_total``).
REASONS = ("undecodable", "binary", "too_large")


class Refusals:
    """Counters of refused packets per reason, and a rate-limited log line about them."""

    def __init__(
        self, logger: logging.Logger, interval: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self.counts: dict[str, int] = {reason: 0 for reason in REASONS}
        self._next_line_at: float | None = None
        self._unreported = 0

    def record(self, reason: str, detail: str, peer: str | None = None) -> None:
        """Count one refused packet; log it if no line was written in the last ``interval`` seconds."""
        self.counts[reason] = self.counts.get(reason, 0) + 1
        now = self.clock()
        if self._next_line_at is not None and now < self._next_line_at:
            self._unreported += 1
            return
        more = f"; {self._unreported} more refused since the last line" if self._unreported else ""
        self.logger.warning(
            "socket.io: refused a packet from %s (%s: %s), connection dropped%s",
            peer or "unknown", reason, detail[:120], more,
        )
        self._unreported = 0
        self._next_line_at = now + self.interval

    def total(self) -> int:
        return sum(self.counts.values())
