"""What each person's screen is told: the payloads of server-to-client events.

Pure functions of the state (read through a :class:`ViewSource`, which the
hub is), one per audience, so that what a role may
see is decided in one readable place: a kiosk sees its own session, an agent
their own room, a security officer the states of their branch's booths and
never form contents, notes or media.
"""

from __future__ import annotations

from typing import Protocol

from .core.dispatcher import slots_for
from .core.matrix import GUEST, HOME, SUPERVISOR, Participant, RoomState, derive

from .core.queue import wait_seconds
from .core.session import Session
from .core.vocabulary import HOME_BRANCH, KioskIdentity
from .state.base import AgentRecord, State


class ViewSource(Protocol):
    """What the views read: the state and a few lookups (the hub provides them)."""

    state: State

    def now(self) -> float: ...
    def branch_name(self, branch: str) -> str: ...
    def branch_kiosks(self, branch: str) -> list[KioskIdentity]: ...
    def queue_position(self, session: Session) -> tuple[int | None, int | None]: ...


def routing_state(agent: AgentRecord, home: frozenset[str] = frozenset(), seq: int = 0) -> RoomState:
    """The room's routing state: an agent who is away from their console talks to nobody.

    Supervisors are in it with their modes, guests with their members (only
    while their member is on a tile). ``home``: the sessions on its tiles whose
    member is at home (matrix kind ``home``). ``seq``: the number of the read
    ``agent`` comes from (:meth:`~signaling.state.base.State.commit_room`).
    """
    tiles = tuple(agent.tiles)
    present = set(agent.sessions)
    participants = tuple(Participant(peer, SUPERVISOR, entry["mode"]) for peer, entry in sorted(agent.supervisors.items()))
    participants += tuple(
        Participant(peer, GUEST, member=session_id) for session_id, peer in sorted(agent.guests.items()) if session_id in present
    )
    return RoomState(
        agent=agent.agent_id if agent.online else None,
        tiles=tiles,
        focus=frozenset(agent.focus & present) if agent.online else frozenset(),
        participants=participants,
        kinds=tuple((s, HOME) for s in sorted(home & present)),
        seq=seq,
    )


def people_view(agent: AgentRecord) -> list[dict]:
    """Who else is in the room, for the agent's console and the supervisors: supervisors and guests."""
    people: list[dict] = [
        {"role": "supervisor", "username": e["username"], "name": e["name"], "mode": e["mode"], "since": e["since"]}
        for _, e in sorted(agent.supervisors.items())
    ]
    people += [
        {"role": "guest", "session_id": session_id, "tile": agent.tiles.index(session_id) + 1}
        for session_id in sorted(agent.guests) if session_id in agent.tiles
    ]
    return people


def member_company(agent: AgentRecord | None, session_id: str) -> tuple[list[str], bool]:
    """(names of supervisors the member hears, does the member see and hear a guest), from the matrix."""
    if agent is None or session_id not in agent.tiles:
        return [], False
    sources = derive(routing_state(agent)).row(session_id).sources
    names = [e["name"] for peer, e in sorted(agent.supervisors.items()) if peer in sources]
    return names, agent.guests.get(session_id) in sources


def monitor_view(src: "ViewSource", agent: AgentRecord, peer: str) -> dict:
    """``monitor.state`` for a supervisor in ``agent``'s room: the room as the agent sees it, and your mode."""
    room = room_view(src, agent)
    return {**room, "online": agent.online, "mode": agent.supervisors.get(peer, {}).get("mode"), "closed": False}

def guest_view(agent: AgentRecord, session_id: str) -> dict:
    """``guest.state`` for a member's guest in the room: with the agent (talking) or on hold, from the matrix."""
    peer = agent.guests.get(session_id)
    row = derive(routing_state(agent)).row(peer) if peer is not None else None
    talking = row is not None and any(feed.source == agent.agent_id for feed in row.audio)
    return {"state": "talking" if talking else "on_hold", "session_id": session_id, "agent": agent.identity.name}


#: What the kiosk is told, per session state (``active`` depends on focus).
KIOSK_STATE = {
    "requested": "waiting",
    "queued": "waiting",
    "transferred": "transferred",
    "assigned": "connecting",
    "connecting": "connecting",
    "wrap_up": "ended",
    "closed": "ended",
    "cancelled": "ended",
    "abandoned": "ended",
    "failed": "ended",
}

QUALITY = {
    "full": {"level": "full", "max_bitrate": 1_500_000, "scale_resolution_down_by": 1},
    "thumbnail": {"level": "thumbnail", "max_bitrate": 150_000, "scale_resolution_down_by": 4},
}


def hears_agent(agent: AgentRecord | None, session_id: str) -> bool:
    """Does the routing matrix give this booth its agent (talking) rather than hold?"""
    if agent is None or session_id not in agent.tiles:
        return False
    row = derive(routing_state(agent)).row(session_id)
    return any(feed.source == agent.agent_id for feed in row.audio)


def kiosk_state(src: ViewSource, session: Session, agent: AgentRecord | None = None) -> str:
    """What the member's screen shows (``agent``: the session's agent, if already read)."""
    if session.state == "active":
        if agent is None or agent.agent_id != session.agent_id:
            agent = src.state.agent(session.agent_id or "")
        return "talking" if hears_agent(agent, session.session_id) else "on_hold"
    if session.state == "queued" and session.reason == "transferred":
        return "transferred"
    return KIOSK_STATE[session.state]


def queue_positions(queued: list[Session]) -> dict[str, int]:
    """Each waiting session's place in its service's queue (``queued``: every waiting session, oldest first)."""
    seen: dict[str, int] = {}
    places: dict[str, int] = {}
    for session in queued:
        seen[session.service] = places[session.session_id] = seen.get(session.service, 0) + 1
    return places


class QueueSnapshot:
    """Every waiting session's (position, estimated seconds), read once for one change.

    When the queue moves every waiting booth is told; asking
    ``ViewSource.queue_position`` per booth read the whole queue and every
    agent (for the slots) once per booth: O(waiting × (waiting + agents)) per
    change, in Redis that many round trips. This reads the queue and the
    agents' loads once, and the handling times once per service, and gives
    what ``HubCore.queue_position`` gives.
    """

    def __init__(self, src: ViewSource, queued: list[Session]) -> None:
        loads = src.state.loads(full=True) if queued else []
        slots: dict[str, int] = {}
        means: dict[str, float] = {}  # one read of the handling times per service, not one per waiting booth
        #: Each waiting session's place in its service's queue.
        self.places = places = queue_positions(queued)
        self._at: dict[str, tuple[int | None, int | None]] = {}
        for session in queued:
            service = session.service
            if service not in slots:
                slots[service] = slots_for(loads, service)
                means[service] = src.state.mean_handling(service)
            position = places[session.session_id]
            self._at[session.session_id] = (position, wait_seconds(position, means[service], slots[service]))

    def position(self, session: Session) -> tuple[int | None, int | None]:
        return self._at.get(session.session_id, (None, None))


def kiosk_view(
    src: ViewSource, session: Session, queue: QueueSnapshot | None = None, agent: AgentRecord | None = None
) -> dict:
    """``session.state`` for the member's kiosk (``queue``: the waiting positions, ``agent``: its agent, if already read)."""
    if session.agent_id is None:
        agent = None  # waiting: nobody to read
    elif agent is None or agent.agent_id != session.agent_id:
        agent = src.state.agent(session.agent_id)
    if session.state != "queued":
        position, eta = None, None  # only a queued session is in a queue
    elif queue is not None:
        position, eta = queue.position(session)
    else:
        position, eta = src.queue_position(session)
    company = member_company(agent, session.session_id)
    return {
        "session_id": session.session_id,
        "state": kiosk_state(src, session, agent),
        "service": session.service,
        "position": position,
        "eta_seconds": eta,
        "agent": {"id": agent.agent_id, "name": agent.identity.name} if agent else None,
        # Issue 14: a barging supervisor is a second staff member on the screen; a guest is shown too.
        "supervisors": company[0] if session.state == "active" else [],
        "guest": company[1] if session.state == "active" else False,
        "reason": session.reason if session.ended else None,
        # One more each time the booth must offer a new peer connection (docs/protocol.md).
        "attempt": session.attempt,
    }


def transfer_targets(agents: list[AgentRecord]) -> list[dict]:
    """Every agent a session can be transferred to (online, available, a free tile), by name."""
    return [
        {"agent_id": a.agent_id, "name": a.identity.name, "free": a.capacity - len(a.sessions)}
        for a in sorted(agents, key=lambda a: a.identity.name)
        if a.takes_work and len(a.sessions) < a.capacity
    ]


def colleagues(src: ViewSource, agent_id: str) -> list[dict]:
    """The agents ``agent_id`` can transfer to: online, available, with a free tile (``transfer.targets``).

    O(agents), so it is built only when a console asks (its transfer dialog
    opens), never once per change for every console.
    """
    return [t for t in transfer_targets(src.state.agents()) if t["agent_id"] != agent_id]


def room_view(src: ViewSource, agent: AgentRecord) -> dict:
    """``room.state`` for the agent's console: its own room only (nothing that grows with the agents online)."""
    tiles = []
    present = [s for s in agent.tiles if s is not None]
    stored = dict(zip(present, src.state.sessions_of(present)))  # one read for the room
    for index, session_id in enumerate(agent.tiles):
        if session_id is None:
            tiles.append(None)
            continue
        session = stored[session_id]
        assert session is not None, session_id
        tiles.append(
            {
                "tile": index + 1,
                "session_id": session_id,
                "kiosk_id": session.kiosk_id,
                "branch": src.branch_name(session.branch),
                "booth": session.booth,
                "service": session.service,
                "language": session.language,
                "state": kiosk_state(src, session, agent),
                "since": session.created_at,
                "kind": "home" if session.branch == HOME_BRANCH else "booth",
                # the member's network quality (signaling/core/quality.py), null until measured
                "network": network_of(session),
            }
        )
    return {
        "agent_id": agent.agent_id,
        "name": agent.identity.name,
        "capacity": agent.capacity,
        "availability": agent.availability,
        "tiles": tiles,
        "focus": sorted(agent.focus),
        "people": people_view(agent),
    }


def network_of(session: Session) -> dict | None:
    """The member's last measured network quality while they have media with an agent (else None)."""
    return session.network if session.state in ("connecting", "active") else None


def booth_state(src: ViewSource, kiosk_id: str, online: bool, session: Session | None) -> str:
    if session is None:
        return "free" if online else "offline"
    if not online and session.state not in ("queued",):
        return "offline"
    if session.state == "requested":
        return "requested"
    if session.state == "wrap_up":
        return "wrap_up"
    state = kiosk_state(src, session)
    return "waiting" if state in ("waiting", "transferred") else state


def branch_views(src: ViewSource, branches: list[str], queue: QueueSnapshot | None = None) -> dict[str, dict]:
    """``branch.state`` for each branch's security officers: states only, no contents. The booths of all
    the boards are read together (one change may concern many boards: when the queue moves, each waiting
    booth's).

    A waiting booth shows its position (``queue``: the positions, if already
    read), not its estimated wait: no agent is read for a board.
    """
    kiosks = {branch: src.branch_kiosks(branch) for branch in branches}
    every = [k.kiosk_id for listed in kiosks.values() for k in listed]
    read = src.state.booths(every)
    places: dict[str, int] = {}
    if queue is not None:
        places = queue.places
    elif any(s is not None and s.state == "queued" for _, s, _ in read):
        places = queue_positions(src.state.queued())  # one read of the queue for every waiting booth
    booths = iter(read)
    return {branch: _branch_view(src, branch, [(k, next(booths)) for k in listed], places)
            for branch, listed in kiosks.items()}


def _branch_view(src: ViewSource, branch: str, booths_read: list, places: dict[str, int]) -> dict:
    booths = []
    for kiosk, (online, session, help_since) in booths_read:
        position = places.get(session.session_id) if session is not None and session.state == "queued" else None
        booths.append(
            {
                "kiosk_id": kiosk.kiosk_id,
                "booth": kiosk.booth,
                "online": online,
                "state": booth_state(src, kiosk.kiosk_id, online, session),
                "needs_help": help_since is not None,
                "help_since": help_since,
                "session_id": session.session_id if session else None,
                "service": session.service if session else None,
                "position": position,
                "since": session.created_at if session else None,
                # the level only (good/fair/poor; null until measured): an officer sees no media numbers
                "network": (network_of(session) or {}).get("level") if session else None,
            }
        )
    return {"branch": branch, "name": src.branch_name(branch), "at": src.now(), "booths": booths}
