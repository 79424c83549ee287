"""Dispatching and ending: waiting sessions onto free tiles, and a session leaving its tile."""

from __future__ import annotations

from dataclasses import replace

from ..changes import Changes
from ..core.dispatcher import choose_agent
from ..core.session import Session
from .grace import Graces

#: Dispatch passes after a lost race before leaving the rest to the next change.
MAX_PASSES = 8


class Dispatching(Graces):
    """Fill free tiles from the queues; free a tile when a session ends or moves on."""

    async def dispatch(self) -> Changes:
        """Give waiting sessions, oldest first, to agents with free tiles (a command of its own)."""
        changes = Changes()
        await self._dispatch(changes)
        return await self.finish(changes)

    async def _dispatch(self, changes: Changes) -> None:
        """Oldest first across services; each assignment is the state's one atomic step (``State.assign``).

        Choosing reads a snapshot (every agent's load); taking the slot is
        ``assign``, which refuses if another node took the session or the slot
        meanwhile. A refusal ends the pass and a new pass reads afresh, so a
        stale snapshot never assigns twice or overfills an agent.

        Nothing is read when nobody waits. The loads of the agents who can
        take work (``State.loads``: one pipelined read in Redis, no talk sets
        or room people decoded) are read once per pass, and the chosen agent's load updated after each
        assignment: not every agent's load again for each waiting session.
        """
        assigned = False
        async with self._lock:
            for _ in range(MAX_PASSES):
                queued = self.state.queued()
                if not queued:
                    break  # nobody waits (a session ended with an empty queue): no agent read at all
                loads = {load.agent_id: load for load in self.state.loads()}
                raced = False
                for session in queued:
                    if not loads:
                        break  # no free tile anywhere: the rest wait
                    preferred = session.preferred_agent
                    if preferred is None:
                        candidates = list(loads.values())
                    else:
                        candidates = [loads[preferred]] if preferred in loads else []
                    agent_id = choose_agent(candidates, session.service)
                    if agent_id is None:
                        continue
                    now = self.config.clock()
                    tile = self.state.assign(session.session_id, agent_id, now)
                    if tile is None:
                        raced = True  # another node moved first: read again
                        break
                    taken = loads[agent_id]  # the snapshot follows what the state did
                    load = replace(taken, in_progress=taken.in_progress + 1, last_assigned_at=now)
                    if load.free > 0:
                        loads[agent_id] = load
                    else:
                        del loads[agent_id]
                    session.agent_id = agent_id
                    session.tile = tile
                    session.preferred_agent = None
                    self._move(session, "assigned", "dispatcher", f"{agent_id}, tile {tile}")
                    self._new_attempt(session, "dispatcher", "assigned")
                    changes.rooms.add(agent_id)
                    changes.sessions.add(session.session_id)
                    assigned = True
                if not raced:
                    break
        if assigned:
            changes.queue = True

    async def _end(self, session: Session, state: str, actor: str, reason: str, changes: Changes) -> None:
        async with self._lock:
            self._move(session, state, actor, reason)
            self.state.dequeue(session.session_id)
        changes.queue = True
        await self._release(session, changes)

    async def _release(self, session: Session, changes: Changes, dispatch: bool = True) -> None:
        """Free the session's tile and media, then refill the tile."""
        self._cancel_grace(session.session_id)
        self.notifier.session_over(session.session_id)
        changes.sessions.add(session.session_id)
        changes.branches.add(session.branch)
        agent = self.state.agent(session.agent_id or "")
        if agent is not None and session.session_id in agent.tiles:
            agent.tiles[agent.tiles.index(session.session_id)] = None
            agent.focus.discard(session.session_id)
            self.state.put_agent(agent)
            await self.router.remove_peer(agent.agent_id, session.session_id)
            changes.rooms.add(agent.agent_id)
        if dispatch:
            await self._dispatch(changes)

    async def end_kiosk_access(self, kiosk, actor: str, reason: str) -> Changes:
        """A revoked booth: end its open session with ``reason``, tell its agent; the booth is told nothing."""
        self.state.set_kiosk_node(kiosk.kiosk_id, None)
        self.state.answer_help(kiosk.kiosk_id)
        changes = Changes(branches={kiosk.branch})
        session = self.state.open_session_of(kiosk.kiosk_id)
        if session is not None:
            agent = self.state.agent(session.agent_id or "")
            await self._end(session, "failed" if session.state == "active" else "cancelled", actor, reason, changes)
            await self.finish(changes)
            if agent is not None and agent.online:
                notice = {"session_id": session.session_id, "booth": session.booth, "reason": reason}
                await self.emit("session.ended", notice, to=f"agent:{agent.agent_id}", namespace="/agent")
            return changes
        return await self.finish(changes)
