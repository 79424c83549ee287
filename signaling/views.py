"""What each person's screen is told: the payloads of server-to-client events.

Pure functions of the hub's state, one per audience, so that what a role may
see is decided in one readable place: a kiosk sees its own session, an agent
their own room, a security officer the states of their branch's booths and
never form contents, notes or media.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core.session import Session

if TYPE_CHECKING:  # pragma: no cover
    from .hub import Agent, Hub

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


def kiosk_state(hub: "Hub", session: Session) -> str:
    if session.state == "active":
        agent = hub.agents.get(session.agent_id or "")
        talking = agent is not None and agent.sid is not None and session.session_id in agent.focus
        return "talking" if talking else "on_hold"
    if session.state == "queued" and session.reason == "transferred":
        return "transferred"
    return KIOSK_STATE[session.state]


def kiosk_view(hub: "Hub", session: Session) -> dict:
    """``session.state`` for the member's kiosk."""
    agent = hub.agents.get(session.agent_id or "")
    position, eta = hub.queue_position(session)
    return {
        "session_id": session.session_id,
        "state": kiosk_state(hub, session),
        "service": session.service,
        "position": position,
        "eta_seconds": eta,
        "agent": {"id": agent.agent_id, "name": agent.identity.name} if agent else None,
        "reason": session.reason if session.ended else None,
        # One more each time the booth must offer a new peer connection (docs/protocol.md).
        "attempt": session.attempt,
    }


def room_view(hub: "Hub", agent: "Agent") -> dict:
    """``room.state`` for the agent's console."""
    tiles = []
    for index, session_id in enumerate(agent.tiles):
        if session_id is None:
            tiles.append(None)
            continue
        session = hub.sessions[session_id]
        tiles.append(
            {
                "tile": index + 1,
                "session_id": session_id,
                "kiosk_id": session.kiosk_id,
                "branch": hub.branch_name(session.branch),
                "booth": session.booth,
                "service": session.service,
                "language": session.language,
                "state": kiosk_state(hub, session),
                "since": session.created_at,
            }
        )
    return {
        "agent_id": agent.agent_id,
        "name": agent.identity.name,
        "capacity": agent.capacity,
        "availability": agent.availability,
        "colleagues": [
            {"agent_id": a.agent_id, "name": a.identity.name, "free": a.capacity - len(a.sessions)}
            for a in sorted(hub.agents.values(), key=lambda a: a.identity.name)
            if a is not agent and a.sid is not None and a.availability == "available" and len(a.sessions) < a.capacity
        ],
        "tiles": tiles,
        "focus": sorted(agent.focus),
    }


def booth_state(hub: "Hub", kiosk_id: str, online: bool, session: Session | None) -> str:
    if session is None:
        return "free" if online else "offline"
    if not online and session.state not in ("queued",):
        return "offline"
    if session.state == "requested":
        return "requested"
    if session.state == "wrap_up":
        return "wrap_up"
    state = kiosk_state(hub, session)
    return "waiting" if state in ("waiting", "transferred") else state


def branch_view(hub: "Hub", branch: str) -> dict:
    """``branch.state`` for the branch's security officers: states only, no contents."""
    booths = []
    for kiosk in hub.branch_kiosks(branch):
        online = kiosk.kiosk_id in hub.kiosk_sids
        session = hub.open_session_of(kiosk.kiosk_id)
        position, _ = hub.queue_position(session) if session else (None, None)
        booths.append(
            {
                "kiosk_id": kiosk.kiosk_id,
                "booth": kiosk.booth,
                "online": online,
                "state": booth_state(hub, kiosk.kiosk_id, online, session),
                "needs_help": kiosk.kiosk_id in hub.help_calls,
                "help_since": hub.help_calls.get(kiosk.kiosk_id),
                "session_id": session.session_id if session else None,
                "service": session.service if session else None,
                "position": position,
                "since": session.created_at if session else None,
            }
        )
    return {"branch": branch, "name": hub.branch_name(branch), "at": hub.config.clock(), "booths": booths}
