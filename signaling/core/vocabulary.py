"""The service's vocabulary: services, outcomes, roles and the identities of the people and devices in it.

Plain values shared by every layer (the core, signaling, the server's
adapters); no behaviour, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Services a member can come for (queue per service).
SERVICES: tuple[str, ...] = ("jht", "jkk", "jkm", "jp", "info")
#: Outcomes an agent ends a session with (``session.end``; labels ``agent.outcome.*``).
OUTCOMES: tuple[str, ...] = ("resolved", "follow_up", "documents_missing", "referred", "member_left")
#: Longest note an agent may leave when ending a session, in characters.
MAX_NOTE_CHARS = 4000

#: How many sessions one agent serves at once, unless configured otherwise.
DEFAULT_CAPACITY = 6
#: The branch of every member at home (the online door): their sessions' ``branch``, the board's online channel.
HOME_BRANCH = "online"

#: Roles of staff accounts.
ROLES: tuple[str, ...] = ("supervisor", "agent", "officer")


@dataclass(frozen=True)
class KioskIdentity:
    """A booth device: which branch (its id) and booth it stands in."""

    kiosk_id: str
    branch: str = "demo"
    booth: int = 1


@dataclass(frozen=True)
class StaffIdentity:
    """A signed-in security officer or supervisor."""

    username: str
    name: str
    role: str
    branch: str | None = None


@dataclass(frozen=True)
class AgentIdentity:
    """A customer-service agent as the signaling layer knows them."""

    agent_id: str
    name: str = "Agen"
    capacity: int = DEFAULT_CAPACITY
    #: Services this agent handles; None means every service.
    skills: frozenset[str] | None = None
    #: The staff account behind this agent (None for a configured token): disabling it ends the agent's access.
    username: str | None = None
