"""Commands for the other people in an agent's room: supervisors (listen, whisper, barge) and guests.

A supervisor opens any online agent's room from the board, in a mode of
:data:`~signaling.core.matrix.SUPERVISOR_MODES`, changes mode and leaves;
every stay in one mode is a monitoring span, stored when it ends. An agent
invites a guest (an interpreter, a family member) into one member's session
with a one-time link; the guest joins with it once, and the agent may remove
them at any time. Who hears and sees whom is the routing matrix's
(:func:`signaling.core.matrix.derive`), from :func:`signaling.views.routing_state`.

Defined behaviour (``docs/protocol.md``, "Supervisors and guests"):

- Two supervisors may be in one room, each in their own mode; one
  supervisor is in one room at a time (joining another leaves the first).
- The agent's console dropping or leaving: the supervisors stay in the
  room (its routing has no agent: they hear and see the members nobody
  talks to, none) and are told; the room closing for good (the agent not
  coming back) ends their stay and every guest's.
- A member leaving the agent (ended, transferred, gone): their guest is
  removed with them and their link stops working.
"""

from __future__ import annotations

import secrets
from typing import Any, Protocol

from ..changes import Changes
from ..core.matrix import SUPERVISOR_MODES
from ..core.vocabulary import StaffIdentity
from ..schemas import EventError
from ..state.base import AgentRecord, Invite
from .core import HubCore


class SpanLog(Protocol):
    """Where monitoring spans are stored (``server.monitoring.MonitoringLog`` fits)."""

    def add(self, supervisor: str, agent_id: str, mode: str, start: float, end: float) -> None: ...


def supervisor_peer(username: str) -> str:
    return f"supervisor-{username}"


def guest_peer(session_id: str) -> str:
    return f"guest-{session_id}"


class RoomPeople(HubCore):
    """Supervisors and guests joining, changing and leaving agents' rooms."""

    #: Where spans go (set by ``create_app``; ``None``: not stored).
    spans: SpanLog | None = None
    #: How long a guest link stays valid, in seconds.
    guest_link_seconds: float = 600.0

    # -- supervisors ---------------------------------------------------------------------

    def monitored_room(self, username: str) -> AgentRecord | None:
        """The room the supervisor is in, if any."""
        peer = supervisor_peer(username)
        return next((a for a in self.state.agents() if peer in a.supervisors), None)

    async def monitor_join(self, supervisor: StaffIdentity, agent_id: str, mode: str, sdp: str) -> str:
        """Open ``agent_id``'s room in ``mode``, with the supervisor's peer connection; returns the answer."""
        self._check_mode(mode)
        agent = self.state.agent(agent_id)
        if agent is None or not agent.online:
            raise EventError("unknown_agent", "That agent is not signed in.")
        peer = supervisor_peer(supervisor.username)
        answer = await self._add_peer(agent_id, peer, "supervisor", sdp)
        changes = Changes(rooms={agent_id})
        current = self.monitored_room(supervisor.username)
        if current is not None and current.agent_id != agent_id:
            await self._leave_room(current, peer, changes)
        agent = self._agent(agent_id)
        entry = agent.supervisors.get(peer)
        if entry is not None:
            self._end_span(agent, peer)
        agent.supervisors[peer] = {"username": supervisor.username, "name": supervisor.name, "mode": mode,
                                   "since": self.config.clock()}
        self.state.put_agent(agent)
        await self.finish(changes)
        return answer

    async def monitor_mode(self, supervisor: StaffIdentity, mode: str) -> Changes:
        self._check_mode(mode)
        agent, peer = self._monitoring(supervisor)
        if agent.supervisors[peer]["mode"] != mode:
            self._end_span(agent, peer)
            agent.supervisors[peer] = {**agent.supervisors[peer], "mode": mode, "since": self.config.clock()}
            self.state.put_agent(agent)
        return await self.finish(Changes(rooms={agent.agent_id}))

    async def monitor_leave(self, supervisor: StaffIdentity) -> Changes:
        """Leave the room; nothing to leave is not an error (a closed board, a room already closed)."""
        agent = self.monitored_room(supervisor.username)
        changes = Changes()
        if agent is not None:
            await self._leave_room(agent, supervisor_peer(supervisor.username), changes)
        return await self.finish(changes)

    def _monitoring(self, supervisor: StaffIdentity) -> tuple[AgentRecord, str]:
        agent = self.monitored_room(supervisor.username)
        if agent is None:
            raise EventError("invalid_state", "You are not in an agent's room: send monitor.join first.")
        return agent, supervisor_peer(supervisor.username)

    @staticmethod
    def _check_mode(mode: str) -> None:
        if mode not in SUPERVISOR_MODES:
            raise EventError("unknown_mode", f"The mode is one of {', '.join(SUPERVISOR_MODES)}.")

    async def _leave_room(self, agent: AgentRecord, peer: str, changes: Changes) -> None:
        self._end_span(agent, peer)
        agent.supervisors.pop(peer, None)
        self.state.put_agent(agent)
        changes.rooms.add(agent.agent_id)
        await self.router.remove_peer(agent.agent_id, peer)

    def _end_span(self, agent: AgentRecord, peer: str) -> None:
        entry = agent.supervisors.get(peer)
        if entry is not None and self.spans is not None:
            self.spans.add(entry["username"], agent.agent_id, entry["mode"], entry["since"], self.config.clock())

    # -- guests ----------------------------------------------------------------------------

    async def guest_invite(self, identity: Any, session_id: str) -> Invite:
        """A new one-time link for ``session_id``'s guest; an older open link of that session stops working."""
        session = self.owned_session(session_id, agent_id=identity.agent_id)
        if session.state not in ("connecting", "active"):
            raise EventError("invalid_state", "A guest can join only a session the agent has taken up.")
        for old in self.state.invites_of(session_id):
            if old.state == "open":
                old.state = "removed"
                self.state.put_invite(old)
        invite = Invite(secrets.token_urlsafe(24), session_id, identity.agent_id, guest_peer(session_id),
                        self.config.clock() + self.guest_link_seconds)
        self.state.put_invite(invite)
        return invite

    def guest_link_open(self, token: str) -> Invite | None:
        """The open, unexpired invite of a session still with its agent (the link would admit); else ``None``.

        Nothing changes: the guest page asks this to say at once that a link no longer works.
        """
        invite = self.state.invite(token)
        if invite is None or invite.state != "open" or self.config.clock() >= invite.expires_at:
            return None
        agent = self.state.agent(invite.agent_id)
        session = self.state.session(invite.session_id)
        if agent is None or session is None or session.ended or invite.session_id not in agent.sessions:
            return None
        return invite

    def guest_admit(self, token: str) -> Invite | None:
        """Use a link: the invite :meth:`guest_link_open` finds, now ``used``; else ``None``."""
        invite = self.guest_link_open(token)
        if invite is None:
            return None
        invite.state = "used"
        self.state.put_invite(invite)
        return invite

    def guest_valid(self, invite: Invite) -> bool:
        """Is this guest still admitted (not removed, its session still with its agent)?"""
        current = self.state.invite(invite.token)
        agent = self.state.agent(invite.agent_id)
        return (current is not None and current.state == "used" and agent is not None
                and invite.session_id in agent.sessions)

    async def guest_offer(self, invite: Invite, sdp: str) -> str:
        if not self.guest_valid(invite):
            raise EventError("unknown_session", "This guest link no longer works.")
        answer = await self._add_peer(invite.agent_id, invite.peer_id, "guest", sdp)
        agent = self._agent(invite.agent_id)
        agent.guests[invite.session_id] = invite.peer_id
        self.state.put_agent(agent)
        await self.finish(Changes(rooms={agent.agent_id}))
        return answer

    async def guest_remove(self, identity: Any, session_id: str) -> Changes:
        """The agent removes the session's guest: their link stops working, their connection closes."""
        self.owned_session(session_id, agent_id=identity.agent_id)
        agent = self._agent(identity.agent_id)
        await self._drop_guest(agent, session_id)
        return await self.finish(Changes(rooms={agent.agent_id}))

    async def guest_left(self, invite: Invite) -> Changes:
        """The guest's socket closed: out of the room (the link was used: it does not admit again)."""
        agent = self.state.agent(invite.agent_id)
        if agent is None or agent.guests.get(invite.session_id) != invite.peer_id:
            return Changes()
        agent.guests.pop(invite.session_id, None)
        self.state.put_agent(agent)
        await self.router.remove_peer(agent.agent_id, invite.peer_id)
        return await self.finish(Changes(rooms={agent.agent_id}))

    async def _drop_guest(self, agent: AgentRecord, session_id: str) -> None:
        for invite in self.state.invites_of(session_id):
            if invite.state != "removed":
                invite.state = "removed"
                self.state.put_invite(invite)
        peer = agent.guests.pop(session_id, None)
        self.state.put_agent(agent)
        if peer is not None:
            await self.router.remove_peer(agent.agent_id, peer)
            await self.emit("guest.state", {"state": "ended"}, to=f"guest:{peer}", namespace="/guest")

    async def _settle_people(self, agent: AgentRecord) -> None:
        """Before routing: a guest whose member left the agent leaves with them."""
        for session_id in [s for s in agent.guests if s not in agent.sessions]:
            await self._drop_guest(agent, session_id)

    async def _room_closed(self, agent: AgentRecord) -> None:
        """The room closed for good (the agent did not come back): supervisors and guests are out."""
        for peer in list(agent.supervisors):
            self._end_span(agent, peer)
            agent.supervisors.pop(peer)
            await self.emit("monitor.state", {"agent_id": agent.agent_id, "closed": True},
                            to=f"monitor:{peer}", namespace="/supervisor")
        for session_id in list(agent.guests):
            await self._drop_guest(agent, session_id)
        self.state.put_agent(agent)
