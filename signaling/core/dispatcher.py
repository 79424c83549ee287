"""The dispatcher's decision: which agent takes the next waiting session.

Pure functions over plain data, so the assignment rule can be tested on its
own: among agents who are available, handle the session's service and have
a free slot, pick the one with the most free slots, and among those the one
idle longest (oldest last assignment). Waiting sessions are served oldest
first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentLoad:
    """What the dispatcher needs to know about one agent."""

    agent_id: str
    capacity: int
    in_progress: int
    last_assigned_at: float
    available: bool = True
    skills: frozenset[str] | None = None  # None: every service

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.in_progress)

    def can_take(self, service: str) -> bool:
        return self.available and self.free > 0 and (self.skills is None or service in self.skills)


def slots_for(agents: list[AgentLoad], service: str) -> int:
    """How many members of ``service`` the agents taking work can serve at once (a wait estimate's divisor)."""
    return sum(a.capacity for a in agents if a.available and (a.skills is None or service in a.skills))


def choose_agent(agents: list[AgentLoad], service: str) -> str | None:
    """The agent who should take a session of ``service``, or ``None``."""
    eligible = [a for a in agents if a.can_take(service)]
    if not eligible:
        return None
    best = min(eligible, key=lambda a: (-a.free, a.last_assigned_at, a.agent_id))
    return best.agent_id
