"""Commands from an agent's console: connecting, availability, media, the talk set, ending and transferring."""

from __future__ import annotations

from .. import views
from ..changes import Changes
from ..core.vocabulary import AgentIdentity
from ..schemas import EventError
from ..state.base import AgentRecord
from .grace import Graces


class AgentSide(Graces):
    """What an agent can do with their own room."""

    async def agent_connected(self, identity: AgentIdentity) -> Changes:
        agent = self.state.agent(identity.agent_id) or AgentRecord(identity)
        agent.identity = identity
        agent.node = self.node
        self.state.put_agent(agent)
        self._cancel_agent_grace(agent.agent_id)
        self.notifier.new_screen("/agent", f"agent:{agent.agent_id}")
        changes = Changes(rooms={agent.agent_id}, queue=True)
        await self._dispatch(changes)
        return await self.finish(changes)

    async def agent_disconnected(self, identity: AgentIdentity) -> Changes:
        """The console's last socket is gone: a grace period starts."""
        agent = self.state.agent(identity.agent_id)
        if agent is None or not agent.online:
            return Changes()
        agent.node = None
        self.state.put_agent(agent)
        self._start_agent_grace(agent.agent_id)
        return await self.finish(Changes(rooms={agent.agent_id}, queue=True))

    async def _agent_gone(self, agent_id: str, changes: Changes, reason: str = "agent_lost") -> None:
        """The agent did not come back: their members go back to the front of their queues."""
        agent = self.state.agent(agent_id)
        if agent is None or agent.online:
            return
        async with self._lock:
            for session_id in agent.sessions:
                session = self.state.session(session_id)
                if session is None or session.ended:
                    continue
                self._move(session, "queued", "dispatcher", reason)
                session.agent_id = None
                session.tile = None
                self.state.put_session(session)
                self.storage.save(session, session.state, "dispatcher", None)
                self.state.enqueue(session)  # queued_at kept: ahead of later arrivals
                changes.sessions.add(session_id)
            agent.tiles = [None] * len(agent.tiles)
            agent.focus.clear()
            self.state.put_agent(agent)
        changes.queue = True
        await self._room_closed(agent)
        await self.router.close_room(agent.agent_id)
        await self._dispatch(changes)

    async def set_availability(self, identity: AgentIdentity, availability: str) -> Changes:
        agent = self._agent(identity.agent_id)
        agent.availability = availability
        self.state.put_agent(agent)
        changes = Changes(consoles={agent.agent_id}, queue=True)
        await self._dispatch(changes)
        return await self.finish(changes)

    async def agent_offer(self, identity: AgentIdentity, sdp: str) -> str:
        agent = self._agent(identity.agent_id)
        answer = await self._add_peer(agent.agent_id, agent.agent_id, "agent", sdp)
        await self.finish(Changes(rooms={agent.agent_id}))
        return answer

    async def set_focus(self, identity: AgentIdentity, session_ids: list[str] | None) -> Changes:
        """Talk to exactly ``session_ids`` (``None``: everyone); the rest are on hold."""
        agent = self._agent(identity.agent_id)
        if session_ids is None:
            return await self._focus(agent, set(agent.sessions))
        for session_id in session_ids:
            self.owned_session(session_id, agent_id=agent.agent_id)
        return await self._focus(agent, set(session_ids))

    async def talk(self, identity: AgentIdentity, session_id: str) -> Changes:
        agent = self._agent(identity.agent_id)
        self.owned_session(session_id, agent_id=agent.agent_id)
        return await self._focus(agent, agent.focus | {session_id})

    async def hold(self, identity: AgentIdentity, session_id: str) -> Changes:
        agent = self._agent(identity.agent_id)
        self.owned_session(session_id, agent_id=agent.agent_id)
        return await self._focus(agent, agent.focus - {session_id})

    async def _focus(self, agent: AgentRecord, focus: set[str]) -> Changes:
        """Store the talk set (the routing keeps only the room's own sessions of it) and route the room."""
        agent.focus = focus
        self.state.put_agent(agent)
        return await self.finish(Changes(rooms={agent.agent_id}))

    async def end_session(self, identity: AgentIdentity, session_id: str, outcome: str, note: str) -> Changes:
        session = self.owned_session(session_id, agent_id=identity.agent_id)
        session.outcome = outcome
        session.note = note
        actor = f"agent:{identity.agent_id}"
        changes = Changes()
        if session.state == "active":
            async with self._lock:
                self._move(session, "wrap_up", actor, "agent_ended")
                self._move(session, "closed", actor, outcome)
            self.state.record_handling(session.service, self.config.clock() - (session.queued_at or session.created_at))
            await self._release(session, changes)
        else:
            await self._end(session, "cancelled", actor, "agent_ended", changes)
        return await self.finish(changes)

    def transfer_targets(self, identity: AgentIdentity) -> list[dict]:
        """The colleagues this agent can transfer to now (``transfer.targets``, asked by the transfer dialog)."""
        self._agent(identity.agent_id)
        return views.colleagues(self, identity.agent_id)

    async def transfer(self, identity: AgentIdentity, session_id: str, service: str | None, to_agent: str | None) -> Changes:
        """Send a member to another queue or agent; they keep their place ahead of new arrivals."""
        session = self.owned_session(session_id, agent_id=identity.agent_id)
        if to_agent is not None:
            target = self.state.agent(to_agent)
            if target is None or not target.online or to_agent == identity.agent_id:
                raise EventError("unknown_agent", "That agent is not signed in.")
            if not target.load().can_take(service or session.service) or target.availability != "available":
                raise EventError("capacity", "That agent cannot take this session now (busy, away or not skilled).")
        actor = f"agent:{identity.agent_id}"
        changes = Changes(branches={session.branch}, queue=True)
        async with self._lock:
            self._move(session, "transferred", actor, "transferred")
        await self._release(session, changes, dispatch=False)
        async with self._lock:
            session.agent_id = None
            session.tile = None
            if service is not None:
                session.service = service
            session.preferred_agent = to_agent
            self._move(session, "queued", actor, "transferred")
            self.state.enqueue(session)
        await self.finish(changes)  # the member is told of the transfer before any new agent takes them
        return await self.dispatch()

    async def end_agent_access(self, agent_id: str, reason: str) -> Changes:
        """A disabled agent whose console is closed: their members go back to the front of their queues now."""
        agent = self.state.agent(agent_id)
        if agent is None or agent.online:
            return Changes()
        self._cancel_agent_grace(agent_id)
        changes = Changes()
        await self._agent_gone(agent_id, changes, reason)
        return await self.finish(changes)
