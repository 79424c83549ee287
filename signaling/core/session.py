"""A member's session and its state machine.

requested → queued → assigned → connecting → active → wrap_up → closed, plus
the endings cancelled, abandoned, failed, and transferred (back to a queue).
:meth:`Session.can_move` is the one table of legal transitions; the hub
stores every transition before acknowledging it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

TRANSITIONS: dict[str, frozenset[str]] = {
    "requested": frozenset({"queued", "cancelled"}),
    "queued": frozenset({"assigned", "cancelled", "abandoned"}),
    "assigned": frozenset({"connecting", "queued", "cancelled", "abandoned", "failed"}),
    "connecting": frozenset({"active", "queued", "cancelled", "abandoned", "failed"}),
    "active": frozenset({"connecting", "queued", "wrap_up", "transferred", "abandoned", "failed"}),
    "wrap_up": frozenset({"closed"}),
    "transferred": frozenset({"queued"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
    "abandoned": frozenset(),
    "failed": frozenset(),
}

ENDED = frozenset({"wrap_up", "closed", "cancelled", "abandoned", "failed"})

#: States in which the session has an agent (and may be in the agent's talk set).
WITH_AGENT = frozenset({"assigned", "connecting", "active"})


class IllegalTransition(ValueError):
    """A state change the state machine does not allow."""


@dataclass
class Session:
    """One member's visit to one agent (or to the queue)."""

    session_id: str
    kiosk_id: str
    branch: str
    booth: int
    service: str
    language: str = "id"
    state: str = "requested"
    agent_id: str | None = None
    tile: int | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    outcome: str | None = None
    note: str = ""
    reason: str | None = None
    #: When the session (first) joined its queue; a transfer keeps it.
    queued_at: float | None = None
    #: The member's 1-5 satisfaction rating, once given.
    rating: int | None = None
    #: A named agent this session was transferred to (not stored).
    preferred_agent: str | None = None
    #: In its agent's talk set (stored: a restart brings it back talking).
    talking: bool = False
    #: Media attempt: one more each time the session enters ``connecting`` and
    #: its booth must offer a new peer connection (not stored; see
    #: docs/protocol.md, "When a booth offers").
    attempt: int = 0
    #: The member's network quality as the media router last measured it
    #: (:mod:`signaling.core.quality`: ``{"level", "loss_up", ...}``; not stored).
    network: dict | None = None

    def can_move(self, new_state: str) -> bool:
        return new_state in TRANSITIONS.get(self.state, frozenset())

    def check_move(self, new_state: str) -> None:
        if not self.can_move(new_state):
            raise IllegalTransition(f"a session cannot go from {self.state} to {new_state}")

    @property
    def ended(self) -> bool:
        return self.state in ENDED
