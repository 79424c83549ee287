"""Waiting members: one queue per service, positions and estimated waits.

The queues are ordered by the time each session first joined a queue
(``queued_at``), which a transfer keeps, so a transferred member stays
ahead of later arrivals. The wait estimate is documented in
``docs/queue.md``: ``position × mean handling time ÷ slots able to serve
that service``, the mean taken over the last handled sessions of that
service (or all services, or a default, while there are too few).
"""

from __future__ import annotations

import math
from collections import deque

from .vocabulary import SERVICES

from .session import Session

#: Handling time assumed before any session has been handled (seconds).
DEFAULT_HANDLING_SECONDS = 8 * 60
#: How many recent handling times the estimate looks at, per service.
RECENT = 20
#: A service needs this many of its own samples before its own mean is used.
MIN_SAMPLES = 3


def wait_seconds(position: int, mean_handling: float, slots: int) -> int | None:
    """Seconds until a member at ``position`` is served, or None if no agent can serve (``docs/queue.md``)."""
    if slots <= 0:
        return None
    return int(math.ceil(position * mean_handling / slots))


class Queues:
    """The waiting sessions of every service, oldest first."""

    def __init__(self) -> None:
        self._waiting: list[Session] = []
        self._handled: dict[str, deque[float]] = {s: deque(maxlen=RECENT) for s in SERVICES}

    def __contains__(self, session_id: str) -> bool:
        return any(s.session_id == session_id for s in self._waiting)

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, session: Session) -> None:
        """Put ``session`` in its service's queue, at its ``queued_at`` place."""
        self.remove(session.session_id)
        assert session.queued_at is not None
        index = len(self._waiting)
        while index > 0 and self._waiting[index - 1].queued_at > session.queued_at:  # type: ignore[operator]
            index -= 1
        self._waiting.insert(index, session)

    def remove(self, session_id: str) -> None:
        self._waiting = [s for s in self._waiting if s.session_id != session_id]

    def oldest_first(self) -> list[Session]:
        return list(self._waiting)

    def waiting(self, service: str) -> list[Session]:
        return [s for s in self._waiting if s.service == service]

    def position(self, session: Session) -> int | None:
        """1-based place of ``session`` in its service's queue."""
        for i, s in enumerate(self.waiting(session.service)):
            if s.session_id == session.session_id:
                return i + 1
        return None

    def record_handling(self, service: str, seconds: float) -> None:
        if seconds > 0:
            self._handled[service].append(seconds)

    def mean_handling(self, service: str) -> float:
        own = self._handled.get(service, ())
        if len(own) >= MIN_SAMPLES:
            return sum(own) / len(own)
        every = [t for times in self._handled.values() for t in times]
        if len(every) >= MIN_SAMPLES:
            return sum(every) / len(every)
        return DEFAULT_HANDLING_SECONDS

    def estimate(self, position: int, service: str, slots: int) -> int | None:
        """Seconds until a member at ``position`` is served, or None if no agent can serve."""
        return wait_seconds(position, self.mean_handling(service), slots)
