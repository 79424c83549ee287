"""What the hub knows, as plain records behind one interface, so a shared store can hold it later.

:class:`State` is the only way the hub and everything around it read or change
sessions, agents, presence, queues, help calls and grace deadlines. Records go
in and out as plain data (a :class:`~signaling.core.session.Session`, an
:class:`AgentRecord`); presence is "online, on which node", never a socket id,
and no asyncio handle is stored (a grace timer is a deadline here, armed by
:mod:`signaling.hub.grace`). :class:`~signaling.state.memory.MemoryState` is
today's single-process behaviour; a Redis-backed state (several nodes) is
written against this same Protocol.

Whoever changes a record it got from the state writes it back with
``put_session`` / ``put_agent`` (a no-op in memory, a write in a shared store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from signaling.core.dispatcher import AgentLoad
from signaling.core.session import Session
from signaling.core.vocabulary import AgentIdentity
from ..core.matrix import MAX_KIOSKS


class StaleSession(RuntimeError):
    """Another node changed the session's state or media attempt since it was read (a shared state only).

    Raised by ``put_session`` without writing; the session object now holds
    the stored record, and the caller decides again on it (the hub's
    ``_move`` and ``_new_attempt`` do).
    """

    def __init__(self, session_id: str, fields: list[str]) -> None:
        super().__init__(f"session {session_id}: {', '.join(fields)} changed by another node meanwhile")
        self.session_id = session_id
        self.fields = fields


@dataclass
class Invite:
    """A one-time link inviting a guest into one member's session (issue 14).

    ``state``: ``open`` (not used yet), ``used`` (a guest joined with it),
    ``removed`` (the agent removed the guest, or the session left the agent).
    Only an ``open`` invite before ``expires_at`` admits anyone, once.
    """

    token: str
    session_id: str
    agent_id: str
    peer_id: str
    expires_at: float
    state: str = "open"


@dataclass(eq=False)
class AgentRecord:
    """An agent as the state holds them: identity, presence, tiles, talk set, availability."""

    identity: AgentIdentity
    #: The node (process) whose socket this agent's console is on; None: offline.
    node: str | None = None
    tiles: list[str | None] = field(default_factory=lambda: [None] * MAX_KIOSKS)
    focus: set[str] = field(default_factory=set)
    availability: str = "available"
    last_assigned_at: float = 0.0
    #: Supervisors in the room: their peer id -> ``{"username", "name", "mode", "since"}`` (issue 14).
    supervisors: dict[str, dict] = field(default_factory=dict)
    #: Guests in the room: the member's session id -> the guest's peer id (joined, not only invited).
    guests: dict[str, str] = field(default_factory=dict)

    @property
    def agent_id(self) -> str:
        return self.identity.agent_id

    @property
    def online(self) -> bool:
        return self.node is not None

    @property
    def sessions(self) -> list[str]:
        return [s for s in self.tiles if s is not None]

    @property
    def capacity(self) -> int:
        return min(MAX_KIOSKS, self.identity.capacity)

    @property
    def takes_work(self) -> bool:
        """Online and available: counted for dispatch, waits and transfer targets."""
        return self.online and self.availability == "available"

    def load(self) -> AgentLoad:
        return AgentLoad(
            self.agent_id,
            self.capacity,
            len(self.sessions),
            self.last_assigned_at,
            available=self.takes_work,
            skills=self.identity.skills,
        )


class State(Protocol):
    """Sessions, agents, presence, queues, help calls and grace deadlines: queries and commands."""

    # -- sessions --------------------------------------------------------------------
    def session(self, session_id: str) -> Session | None: ...
    def sessions_of(self, session_ids: list[str]) -> list[Session | None]:
        """Each of these sessions (None for an unknown id), in order, in one read: a room's six, a change's few."""
        ...

    def sessions(self) -> list[Session]: ...
    def open_session_of(self, kiosk_id: str) -> Session | None: ...
    def claim_restore(self, node: str) -> bool:
        """Whether this starting process loads the records' open sessions into the state.

        In memory always (the state is empty at start). A shared state says yes
        only to the first node starting on an empty one: a node (re)starting
        beside live nodes must not put older records over theirs, and nodes
        starting at once on one database must not load the same sessions twice.
        """
        ...

    def put_session(self, session: Session) -> None:
        """Store the session; raises :class:`StaleSession` when a shared store holds a newer state or attempt."""
        ...

    # -- agents ------------------------------------------------------------------------
    def agent(self, agent_id: str) -> AgentRecord | None: ...
    def agents(self) -> list[AgentRecord]: ...
    def put_agent(self, agent: AgentRecord) -> None: ...
    def commit_room(self, agent: AgentRecord) -> int:
        """Store ``agent`` (as :meth:`put_agent`), make it hold the record as stored now, and number that
        read: higher than any earlier ``commit_room`` of this agent, on any node, in the same indivisible
        step as the read. The room's routing carries the number (``RoomState.seq``), so the room's node
        can tell which of two routings made on two nodes is the newer."""
        ...

    def loads(self, *, full: bool = False) -> list[AgentLoad]:
        """What the dispatcher reads of every agent who can take work now: online, available, a free tile.

        Less than :meth:`agents` (no talk set, no room people) and, in a shared
        store, read in one round trip: dispatch runs on every request. With
        ``full``, also the agents taking work whose tiles are all taken (a wait
        estimate counts their slots).
        """
        ...

    # -- dispatch's one atomic step ------------------------------------------------------
    def assign(self, session_id: str, agent_id: str, now: float) -> int | None:
        """Put a waiting session on a free tile of an agent, atomically; the tile (1-based) or None.

        In one indivisible step: the session must still be queued, the agent
        online, available and below capacity; then the session leaves the
        queue, takes the agent's first free tile and the agent's
        ``last_assigned_at`` becomes ``now``. None changes nothing (someone
        else took the session or the slot first: read again and choose again).
        """
        ...

    # -- presence of booths ------------------------------------------------------------
    def kiosk_online(self, kiosk_id: str) -> bool: ...
    def kiosks_online(self, kiosk_ids: list[str]) -> list[bool]:
        """Which of these booths are online, in one read (a room's members, told of one change)."""
        ...

    def online_kiosks(self) -> list[str]: ...
    def set_kiosk_node(self, kiosk_id: str, node: str | None) -> None: ...
    def booths(self, kiosk_ids: list[str]) -> list[tuple[bool, Session | None, float | None]]:
        """(online, open session, help called since) of each booth, for a branch's board, in one read."""
        ...

    # -- queues ------------------------------------------------------------------------
    def enqueue(self, session: Session) -> None: ...
    def dequeue(self, session_id: str) -> None: ...
    def queued(self) -> list[Session]: ...
    def waiting(self, service: str) -> list[Session]: ...
    def queue_position(self, session: Session) -> int | None: ...
    def estimate(self, position: int, service: str, slots: int) -> int | None: ...
    def record_handling(self, service: str, seconds: float) -> None: ...
    def mean_handling(self, service: str) -> float: ...

    # -- help calls --------------------------------------------------------------------
    def help_since(self, kiosk_id: str) -> float | None: ...
    def call_help(self, kiosk_id: str, at: float) -> float: ...
    def answer_help(self, kiosk_id: str) -> None: ...

    # -- guest invites (one-time links, by token) ------------------------------------------
    def invite(self, token: str) -> Invite | None: ...
    def invites_of(self, session_id: str) -> list[Invite]: ...
    def put_invite(self, invite: Invite) -> None: ...

    # -- grace deadlines (``session:<id>`` / ``agent:<id>``) ------------------------------
    def set_grace(self, key: str, deadline: float) -> bool: ...
    def clear_grace(self, key: str) -> bool: ...
    def grace(self, key: str) -> float | None: ...
