"""The hub: sessions, agents, queues, booths, and the orders it gives the media router.

The namespaces (:mod:`signaling.namespaces`) validate and authorize events
and call the hub; the hub changes state (storing every transition before it
answers), tells each person's screen what changed (:mod:`signaling.views`),
and hands the media router each room's new routing state. It never touches
media itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from server.config import AgentIdentity, Config, KioskIdentity, StaffIdentity
from signaling.core.matrix import MAX_KIOSKS, RoomState
from signaling.core.errors import OfferError
from server.storage import Storage

from . import views
from .dispatcher import AgentLoad, choose_agent
from .queue import Queues
from .schemas import EventError
from .screens import LastTold
from .session import WITH_AGENT, IllegalTransition, Session

logger = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[None]]

AVAILABILITY = ("available", "away", "offline")


@dataclass(eq=False)
class Agent:
    """An agent's live state: who sits on which tile and whom they talk to."""

    identity: AgentIdentity
    sid: str | None = None
    tiles: list[str | None] = field(default_factory=lambda: [None] * MAX_KIOSKS)
    focus: set[str] = field(default_factory=set)
    availability: str = "available"
    last_assigned_at: float = 0.0
    grace: asyncio.TimerHandle | None = None

    @property
    def agent_id(self) -> str:
        return self.identity.agent_id

    @property
    def sessions(self) -> list[str]:
        return [s for s in self.tiles if s is not None]

    @property
    def capacity(self) -> int:
        return min(MAX_KIOSKS, self.identity.capacity)

    def load(self) -> AgentLoad:
        return AgentLoad(
            self.agent_id,
            self.capacity,
            len(self.sessions),
            self.last_assigned_at,
            available=self.sid is not None and self.availability == "available",
            skills=self.identity.skills,
        )


class Hub:
    """Coordinates sessions, agents, queues, booths and the media router."""

    def __init__(self, config: Config, storage: Storage, router, emit: Emit) -> None:
        self.config = config
        self.storage = storage
        self.router = router
        self._emit = emit
        self.sessions: dict[str, Session] = {}
        self.queues = Queues()
        self.agents: dict[str, Agent] = {}
        self.kiosk_sids: dict[str, str] = {}  # kiosk_id -> sid
        self.help_calls: dict[str, float] = {}  # kiosk_id -> since
        self._kiosk_quality: dict[str, str] = {}
        self._graces: dict[str, asyncio.TimerHandle] = {}
        self._lock = asyncio.Lock()
        #: What each screen was last told (no screen is told the same state twice in a row).
        self._told = LastTold()
        #: Listeners told of every change (the supervisor board, metrics).
        self.watchers: list[Callable[[], Awaitable[None]]] = []

    # -- start-up ------------------------------------------------------------

    async def restore(self) -> None:
        """Bring back open sessions after a restart: queues in order, rooms by tile.

        Members and agents must reconnect within the grace period; whoever does
        not is handled as if they had dropped just now.
        """
        for session in self.storage.load_open():
            self.sessions[session.session_id] = session
            if session.state in ("requested", "transferred"):
                self._move(session, "queued", "server", "restored after restart")
            if session.state == "queued":
                session.queued_at = session.queued_at or session.created_at
                self.queues.add(session)
            elif session.agent_id is not None and session.tile is not None:
                agent = self.agents.get(session.agent_id)
                if agent is None:
                    agent = self.agents[session.agent_id] = Agent(AgentIdentity(session.agent_id))
                agent.tiles[session.tile - 1] = session.session_id
                if session.talking:
                    agent.focus.add(session.session_id)  # heard only once this agent is back (push_room)
                self._new_attempt(session, "server", "restored after restart")
            self._start_grace(session.session_id)
        loop = asyncio.get_running_loop()
        for agent in self.agents.values():
            agent.grace = loop.call_later(
                self.config.reconnect_grace, lambda a=agent: asyncio.ensure_future(self._agent_gone(a))
            )

    def close(self) -> None:
        """Stop every pending timer (the app is shutting down)."""
        for handle in self._graces.values():
            handle.cancel()
        self._graces.clear()
        for agent in self.agents.values():
            if agent.grace is not None:
                agent.grace.cancel()
                agent.grace = None

    # -- helpers ---------------------------------------------------------------

    async def emit(self, event: str, data: dict, *, to: str, namespace: str) -> None:
        try:
            await self._emit(event, data, to=to, namespace=namespace)
        except Exception:  # a vanished client must not break the caller
            logger.debug("emit %s to %s failed", event, to, exc_info=True)

    def _move(self, session: Session, new_state: str, actor: str, reason: str | None = None) -> None:
        """Change state, refusing illegal transitions; stored before anyone is told."""
        try:
            session.check_move(new_state)
        except IllegalTransition as exc:
            raise EventError("invalid_state", str(exc)) from None
        old = session.state
        session.state = new_state
        if new_state not in WITH_AGENT:
            session.talking = False  # no agent, no talk set
        if reason is not None:
            session.reason = reason
        if new_state == "queued" and session.queued_at is None:
            session.queued_at = self.config.clock()
        self.storage.save(session, old, actor, reason)

    def _new_attempt(self, session: Session, actor: str, reason: str) -> None:
        """The session (re)enters ``connecting`` and its booth must offer anew: one more media attempt.

        Not for the booth's own offer (that answers an attempt; see
        docs/protocol.md, "When a booth offers").
        """
        if session.state == "active":
            self._move(session, "connecting", actor, reason)
        session.attempt += 1

    def owned_session(
        self, session_id: str, *, kiosk_id: str | None = None, agent_id: str | None = None, branch: str | None = None
    ) -> Session:
        """The open session, if the caller owns it; otherwise ``unknown_session``."""
        session = self.sessions.get(session_id)
        if session is None or session.ended:
            raise EventError("unknown_session", "No such session is open.")
        if kiosk_id is not None and session.kiosk_id != kiosk_id:
            raise EventError("unknown_session", "No such session is open.")
        if agent_id is not None and session.agent_id != agent_id:
            raise EventError("unknown_session", "No such session is open.")
        if branch is not None and session.branch != branch:
            raise EventError("unknown_session", "No such session is open.")
        return session

    def open_session_of(self, kiosk_id: str) -> Session | None:
        for session in self.sessions.values():
            if session.kiosk_id == kiosk_id and not session.ended:
                return session
        return None

    def branch_kiosks(self, branch: str) -> list[KioskIdentity]:
        kiosks = {k.kiosk_id: k for k in self.config.kiosk_tokens.values() if k.branch == branch}
        kiosks.update({k.kiosk_id: k for k in self.storage.accounts.kiosks(branch)})
        return sorted(kiosks.values(), key=lambda k: (k.booth, k.kiosk_id))

    def branch_name(self, branch: str) -> str:
        return self.storage.accounts.branch_name(branch)

    def queue_position(self, session: Session) -> tuple[int | None, int | None]:
        """(position in its service's queue, estimated seconds) for a waiting session."""
        position = self.queues.position(session)
        if position is None:
            return None, None
        slots = sum(
            a.capacity
            for a in self.agents.values()
            if a.sid is not None
            and a.availability == "available"
            and (a.identity.skills is None or session.service in a.identity.skills)
        )
        return position, self.queues.estimate(position, session.service, slots)

    # -- kiosk side ----------------------------------------------------------------

    async def kiosk_connected(self, kiosk: KioskIdentity, sid: str) -> None:
        self.kiosk_sids[kiosk.kiosk_id] = sid
        session = self.open_session_of(kiosk.kiosk_id)
        if session is not None:
            self._cancel_grace(session.session_id)
            # A new socket (a reloaded page) knows nothing: tell it its quality again too.
            self._kiosk_quality.pop(session.session_id, None)
            await self.tell_kiosk(session)
        else:
            await self._tell_screen("session.state", {"session_id": None, "state": "idle"}, sid, "/kiosk")
        await self.tell_branch(kiosk.branch)

    async def kiosk_disconnected(self, kiosk: KioskIdentity, sid: str) -> None:
        self._told.forget("/kiosk", sid)
        if self.kiosk_sids.get(kiosk.kiosk_id) == sid:
            del self.kiosk_sids[kiosk.kiosk_id]
            session = self.open_session_of(kiosk.kiosk_id)
            if session is not None:
                self._start_grace(session.session_id)
        await self.tell_branch(kiosk.branch)

    async def start_session(self, kiosk: KioskIdentity, service: str, language: str, actor: str) -> Session:
        """Start a session at ``kiosk`` (by its officer, or by the kiosk itself) and queue it."""
        async with self._lock:
            if self.open_session_of(kiosk.kiosk_id) is not None:
                raise EventError("invalid_state", f"Booth {kiosk.booth} already has an open session.")
            if kiosk.kiosk_id not in self.kiosk_sids:
                raise EventError("invalid_state", f"Booth {kiosk.booth} is offline; check its screen and network.")
            session = Session(
                session_id=f"s-{uuid.uuid4().hex[:12]}",
                kiosk_id=kiosk.kiosk_id,
                branch=kiosk.branch,
                booth=kiosk.booth,
                service=service,
                language=language,
                created_at=self.config.clock(),
            )
            self.sessions[session.session_id] = session
            self.storage.save(session, None, actor, "session started")
            self._move(session, "queued", "dispatcher")
            self.queues.add(session)
        await self.dispatch()
        await self.tell_queue()
        await self.tell_branch(kiosk.branch)
        return session

    async def kiosk_offer(self, kiosk: KioskIdentity, session_id: str, sdp: str) -> str:
        session = self.owned_session(session_id, kiosk_id=kiosk.kiosk_id)
        if session.state not in ("assigned", "connecting", "active") or session.agent_id is None:
            raise EventError("invalid_state", "The session has no agent yet; wait for 'connecting'.")
        answer = await self._add_peer(session.agent_id, session.session_id, "kiosk", sdp)
        async with self._lock:
            if session.state == "assigned":
                self._move(session, "connecting", f"kiosk:{kiosk.kiosk_id}")
            elif session.state == "active":
                self._move(session, "connecting", f"kiosk:{kiosk.kiosk_id}", "reconnecting")
        self._cancel_grace(session_id)
        await self.tell_kiosk(session)
        return answer

    async def kiosk_leave(self, kiosk: KioskIdentity, session_id: str) -> None:
        session = self.owned_session(session_id, kiosk_id=kiosk.kiosk_id)
        await self._end(session, "abandoned", f"kiosk:{kiosk.kiosk_id}", "member_left")

    async def rate(self, kiosk: KioskIdentity, session_id: str, score: int) -> None:
        session = self.sessions.get(session_id)
        if session is None or session.kiosk_id != kiosk.kiosk_id:
            raise EventError("unknown_session", "There is no such session at this booth.")
        if session.state not in ("closed", "wrap_up"):
            raise EventError("invalid_state", "A session can be rated once it has ended.")
        if session.rating is not None:
            raise EventError("invalid_state", "This session has been rated already.")
        session.rating = score
        self.storage.save(session, session.state, f"kiosk:{kiosk.kiosk_id}", None)

    async def call_security(self, kiosk: KioskIdentity) -> None:
        self.help_calls.setdefault(kiosk.kiosk_id, self.config.clock())
        await self.emit(
            "help.call",
            {"kiosk_id": kiosk.kiosk_id, "booth": kiosk.booth, "since": self.help_calls[kiosk.kiosk_id]},
            to=f"branch:{kiosk.branch}",
            namespace="/officer",
        )
        await self.tell_branch(kiosk.branch)

    # -- officer side -----------------------------------------------------------------

    def branch_kiosk(self, officer: StaffIdentity, kiosk_id: str) -> KioskIdentity:
        for kiosk in self.branch_kiosks(officer.branch or ""):
            if kiosk.kiosk_id == kiosk_id:
                return kiosk
        raise EventError("unknown_kiosk", "There is no such booth in your branch.")

    async def officer_cancel(self, officer: StaffIdentity, session_id: str) -> None:
        session = self.owned_session(session_id, branch=officer.branch)
        if session.state not in ("requested", "queued", "assigned", "connecting"):
            raise EventError("invalid_state", "A session already with its agent can only be ended by the agent.")
        await self._end(session, "cancelled", f"officer:{officer.username}", "cancelled_by_officer")

    async def help_answered(self, officer: StaffIdentity, kiosk_id: str) -> None:
        kiosk = self.branch_kiosk(officer, kiosk_id)
        self.help_calls.pop(kiosk.kiosk_id, None)
        sid = self.kiosk_sids.get(kiosk.kiosk_id)
        if sid is not None:
            await self.emit("help.answered", {"kiosk_id": kiosk.kiosk_id}, to=sid, namespace="/kiosk")
        await self.tell_branch(kiosk.branch)

    # -- agent side -----------------------------------------------------------------

    async def agent_connected(self, identity: AgentIdentity, sid: str) -> None:
        agent = self.agents.get(identity.agent_id)
        if agent is None:
            agent = self.agents[identity.agent_id] = Agent(identity)
        agent.identity = identity
        if agent.grace is not None:
            agent.grace.cancel()
            agent.grace = None
        agent.sid = sid
        await self.push_room(agent)
        await self.dispatch()
        await self.tell_queue()
        await self.tell_colleagues(agent)

    async def agent_disconnected(self, identity: AgentIdentity, sid: str) -> None:
        self._told.forget("/agent", sid)
        agent = self.agents.get(identity.agent_id)
        if agent is None or agent.sid != sid:
            return
        agent.sid = None
        loop = asyncio.get_running_loop()
        agent.grace = loop.call_later(self.config.reconnect_grace, lambda: asyncio.ensure_future(self._agent_gone(agent)))
        await self.push_room(agent)
        await self.tell_queue()
        await self.tell_colleagues(agent)

    async def _agent_gone(self, agent: Agent, reason: str = "agent_lost") -> None:
        """The agent did not come back: their members go back to the front of their queues."""
        agent.grace = None
        if agent.sid is not None:
            return
        async with self._lock:
            for session_id in agent.sessions:
                session = self.sessions[session_id]
                if session.ended:
                    continue
                self._move(session, "queued", "dispatcher", reason)
                session.agent_id = None
                session.tile = None
                self.storage.save(session, session.state, "dispatcher", None)
                self.queues.add(session)  # queued_at kept: ahead of later arrivals
            agent.tiles = [None] * MAX_KIOSKS
            agent.focus.clear()
        await self.router.close_room(agent.agent_id)
        await self.dispatch()
        await self.tell_queue()

    async def set_availability(self, identity: AgentIdentity, availability: str) -> None:
        agent = self.agents[identity.agent_id]
        agent.availability = availability
        await self.tell_agent(agent)
        await self.dispatch()
        await self.tell_queue()
        await self.tell_colleagues(agent)

    async def agent_offer(self, identity: AgentIdentity, sdp: str) -> str:
        agent = self.agents[identity.agent_id]
        answer = await self._add_peer(agent.agent_id, agent.agent_id, "agent", sdp)
        await self.push_room(agent)
        return answer

    async def set_focus(self, identity: AgentIdentity, session_ids: list[str] | None) -> None:
        """Talk to exactly ``session_ids`` (``None``: everyone); the rest are on hold."""
        agent = self.agents[identity.agent_id]
        if session_ids is None:
            focus = set(agent.sessions)
        else:
            for session_id in session_ids:
                self.owned_session(session_id, agent_id=agent.agent_id)
            focus = set(session_ids)
        agent.focus = focus
        await self.push_room(agent)

    async def talk(self, identity: AgentIdentity, session_id: str) -> None:
        agent = self.agents[identity.agent_id]
        self.owned_session(session_id, agent_id=agent.agent_id)
        await self.set_focus(identity, sorted(agent.focus | {session_id}))

    async def hold(self, identity: AgentIdentity, session_id: str) -> None:
        agent = self.agents[identity.agent_id]
        self.owned_session(session_id, agent_id=agent.agent_id)
        await self.set_focus(identity, sorted(agent.focus - {session_id}))

    async def end_session(self, identity: AgentIdentity, session_id: str, outcome: str, note: str) -> None:
        session = self.owned_session(session_id, agent_id=identity.agent_id)
        session.outcome = outcome
        session.note = note
        actor = f"agent:{identity.agent_id}"
        if session.state == "active":
            async with self._lock:
                self._move(session, "wrap_up", actor, "agent_ended")
                self._move(session, "closed", actor, outcome)
            self.queues.record_handling(session.service, self.config.clock() - (session.queued_at or session.created_at))
            await self._release(session)
        else:
            await self._end(session, "cancelled", actor, "agent_ended")

    async def transfer(self, identity: AgentIdentity, session_id: str, service: str | None, to_agent: str | None) -> None:
        """Send a member to another queue or agent; they keep their place ahead of new arrivals."""
        session = self.owned_session(session_id, agent_id=identity.agent_id)
        if to_agent is not None:
            target = self.agents.get(to_agent)
            if target is None or target.sid is None or to_agent == identity.agent_id:
                raise EventError("unknown_agent", "That agent is not signed in.")
            if not target.load().can_take(service or session.service) or target.availability != "available":
                raise EventError("capacity", "That agent cannot take this session now (busy, away or not skilled).")
        actor = f"agent:{identity.agent_id}"
        async with self._lock:
            self._move(session, "transferred", actor, "transferred")
        await self._release(session, dispatch=False)
        async with self._lock:
            session.agent_id = None
            session.tile = None
            if service is not None:
                session.service = service
            session.preferred_agent = to_agent
            self._move(session, "queued", actor, "transferred")
            self.queues.add(session)
        await self.dispatch()
        await self.tell_queue()
        await self.tell_branch(session.branch)

    # -- media events --------------------------------------------------------------

    def on_media_event(self, event: dict) -> None:
        if event.get("event") == "peer.state":
            asyncio.ensure_future(self._peer_state(event["room"], event["peer"], event["state"]))
        elif event.get("event") == "room.lost":
            agent = self.agents.get(event["room"])
            if agent is not None:
                asyncio.ensure_future(self._room_lost(agent))
        elif event.get("event") == "room.levels":
            agent = self.agents.get(event["room"])
            if agent is not None and agent.sid is not None:
                levels = {k: v for k, v in event["levels"].items() if k in agent.tiles}
                asyncio.ensure_future(self.emit("room.levels", {"levels": levels}, to=agent.sid, namespace="/agent"))

    async def _peer_state(self, room_id: str, peer_id: str, state: str) -> None:
        session = self.sessions.get(peer_id)
        if session is None:
            return  # the agent's own peer
        if state == "connected" and session.state == "connecting":
            async with self._lock:
                self._move(session, "active", "media", "media connected")
            self._cancel_grace(peer_id)
            await self.tell_kiosk(session)
            agent = self.agents.get(session.agent_id or "")
            if agent is not None:
                await self.tell_agent(agent)
            await self.tell_branch(session.branch)
        elif state in ("failed", "closed") and not session.ended:
            self._start_grace(peer_id)
            if state == "failed" and session.state in ("connecting", "active") and session.agent_id == room_id:
                # The booth's media path died: a new attempt, which the booth answers with one
                # offer once it is (or is again) signed in.
                async with self._lock:
                    self._new_attempt(session, "media", "media_failed")
                await self.tell_kiosk(session)
                agent = self.agents.get(room_id)
                if agent is not None:
                    await self.tell_agent(agent)
                await self.tell_branch(session.branch)
                sid = self.kiosk_sids.get(session.kiosk_id)
                if sid is not None:
                    await self.emit("media.restart", self._restart(session, "media_failed"), to=sid, namespace="/kiosk")

    async def _room_lost(self, agent: Agent) -> None:
        """The room's media process died and was replaced: everyone in it connects media again."""
        sessions = [self.sessions[s] for s in agent.sessions]
        async with self._lock:
            for session in sessions:
                if not session.ended:
                    self._new_attempt(session, "media", "media_restarted")
        await self.push_room(agent)  # the new process learns the routing; booths are told the new attempt
        if agent.sid is not None:
            await self.emit("media.restart", {"reason": "media_restarted"}, to=agent.sid, namespace="/agent")
        for session in sessions:
            sid = self.kiosk_sids.get(session.kiosk_id)
            if sid is not None and not session.ended:
                await self.emit("media.restart", self._restart(session, "media_restarted"), to=sid, namespace="/kiosk")
            self._start_grace(session.session_id)

    @staticmethod
    def _restart(session: Session, reason: str) -> dict:
        """``media.restart`` for a booth: the same attempt its ``session.state`` already announced."""
        return {"session_id": session.session_id, "reason": reason, "attempt": session.attempt}

    # -- dispatching ---------------------------------------------------------------

    async def dispatch(self) -> None:
        """Give waiting sessions, oldest first, to agents with free tiles."""
        changed: list[Agent] = []
        async with self._lock:
            for session in self.queues.oldest_first():
                preferred = session.preferred_agent
                loads = [a.load() for a in self.agents.values() if preferred is None or a.agent_id == preferred]
                agent_id = choose_agent(loads, session.service)
                if agent_id is None:
                    continue
                agent = self.agents[agent_id]
                tile = agent.tiles.index(None)
                session.agent_id = agent_id
                session.tile = tile + 1
                session.preferred_agent = None
                self._move(session, "assigned", "dispatcher", f"{agent_id}, tile {tile + 1}")
                self._new_attempt(session, "dispatcher", "assigned")
                agent.tiles[tile] = session.session_id
                agent.last_assigned_at = time.monotonic()
                self.queues.remove(session.session_id)
                changed.append(agent)
        for agent in dict.fromkeys(changed):
            await self.push_room(agent)  # also tells each newly assigned kiosk
        if changed:
            await self.tell_queue()
            await self.tell_colleagues()
            for branch in {self.sessions[s].branch for a in changed for s in a.sessions}:
                await self.tell_branch(branch)

    # -- ending ------------------------------------------------------------------

    async def _end(self, session: Session, state: str, actor: str, reason: str) -> None:
        async with self._lock:
            self._move(session, state, actor, reason)
            self.queues.remove(session.session_id)
        await self._release(session)
        await self.tell_queue()

    async def _release(self, session: Session, dispatch: bool = True) -> None:
        """Free the session's tile and media, tell everyone, refill the tile."""
        self._cancel_grace(session.session_id)
        self._kiosk_quality.pop(session.session_id, None)
        await self.tell_kiosk(session)
        agent = self.agents.get(session.agent_id or "")
        if agent is not None and session.session_id in agent.tiles:
            agent.tiles[agent.tiles.index(session.session_id)] = None
            agent.focus.discard(session.session_id)
            await self.router.remove_peer(agent.agent_id, session.session_id)
            await self.push_room(agent)
            await self.tell_colleagues(agent)
        await self.tell_branch(session.branch)
        if dispatch:
            await self.dispatch()

    def _start_grace(self, session_id: str) -> None:
        if session_id in self._graces:
            return
        loop = asyncio.get_running_loop()
        self._graces[session_id] = loop.call_later(
            self.config.reconnect_grace, lambda: asyncio.ensure_future(self._grace_expired(session_id))
        )

    def _cancel_grace(self, session_id: str) -> None:
        handle = self._graces.pop(session_id, None)
        if handle is not None:
            handle.cancel()

    async def _grace_expired(self, session_id: str) -> None:
        self._graces.pop(session_id, None)
        session = self.sessions.get(session_id)
        if session is None or session.ended:
            return
        if session.kiosk_id in self.kiosk_sids and session.state in ("queued", "assigned"):
            return  # the member is there, waiting: nothing dropped
        state = "abandoned" if session.state in ("queued", "assigned") else "failed"
        await self._end(session, state, "media", "member_disconnected")

    # -- telling clients ----------------------------------------------------------

    async def push_room(self, agent: Agent) -> None:
        """Send the room's routing state to the router and tell its people."""
        agent.focus &= set(agent.sessions)
        self._store_talk_set(agent)
        state = RoomState(
            agent=agent.agent_id if agent.sid is not None else None,
            tiles=tuple(agent.tiles),
            focus=frozenset(agent.focus) if agent.sid is not None else frozenset(),
        )
        await self.router.set_room(agent.agent_id, state)
        await self.tell_agent(agent)
        for session_id in agent.sessions:
            await self.tell_kiosk(self.sessions[session_id])
        for branch in sorted({self.sessions[s].branch for s in agent.sessions}):
            await self.tell_branch(branch)  # talking / on hold shows on the officer's console
        await self._changed()

    def _store_talk_set(self, agent: Agent) -> None:
        """Store who is in the agent's talk set (before anyone is told), so a restart keeps it."""
        for session_id in agent.sessions:
            session = self.sessions[session_id]
            talking = session_id in agent.focus and session.state in WITH_AGENT
            if session.talking != talking:
                session.talking = talking
                self.storage.save(session, session.state, f"agent:{agent.agent_id}", None)

    async def _tell_screen(self, event: str, view: dict, sid: str, namespace: str) -> None:
        """Send ``view`` unless it is exactly what this screen was last sent for ``event``."""
        if self._told.is_news(namespace, sid, event, view):
            await self.emit(event, view, to=sid, namespace=namespace)

    async def tell_kiosk(self, session: Session) -> None:
        sid = self.kiosk_sids.get(session.kiosk_id)
        if sid is None:
            return
        view = views.kiosk_view(self, session)
        await self._tell_screen("session.state", view, sid, "/kiosk")
        if view["state"] in ("talking", "on_hold"):
            level = "full" if view["state"] == "talking" else "thumbnail"
            if self._kiosk_quality.get(session.session_id) != level:
                self._kiosk_quality[session.session_id] = level
                await self.emit(
                    "media.quality", {"session_id": session.session_id, **views.QUALITY[level]}, to=sid, namespace="/kiosk"
                )

    async def tell_queue(self) -> None:
        for session in self.queues.oldest_first():
            await self.tell_kiosk(session)
        await self._changed()

    async def tell_agent(self, agent: Agent) -> None:
        if agent.sid is not None:
            await self._tell_screen("room.state", views.room_view(self, agent), agent.sid, "/agent")

    async def tell_colleagues(self, agent: Agent | None = None) -> None:
        """Refresh other agents' consoles: their transfer targets (free slots) changed."""
        # A snapshot: agents sign in while this awaits each send (shift start).
        for other in list(self.agents.values()):
            if other is not agent and other.sid is not None:
                await self.tell_agent(other)

    async def tell_branch(self, branch: str) -> None:
        await self.emit("branch.state", views.branch_view(self, branch), to=f"branch:{branch}", namespace="/officer")
        await self._changed()

    async def _changed(self) -> None:
        for watcher in list(self.watchers):
            try:
                await watcher()
            except Exception:
                logger.exception("watcher failed")

    # -- access that ends (called by signaling/access.py once the sockets are closed) ----

    async def end_kiosk_access(self, kiosk: KioskIdentity, actor: str, reason: str) -> None:
        """A revoked booth: end its open session with ``reason``, tell its agent; the booth is told nothing."""
        self.kiosk_sids.pop(kiosk.kiosk_id, None)
        self.help_calls.pop(kiosk.kiosk_id, None)
        session = self.open_session_of(kiosk.kiosk_id)
        if session is not None:
            agent = self.agents.get(session.agent_id or "")
            await self._end(session, "failed" if session.state == "active" else "cancelled", actor, reason)
            if agent is not None and agent.sid is not None:
                notice = {"session_id": session.session_id, "booth": session.booth, "reason": reason}
                await self.emit("session.ended", notice, to=agent.sid, namespace="/agent")
        await self.tell_branch(kiosk.branch)

    async def end_agent_access(self, agent_id: str, reason: str) -> None:
        """A disabled agent whose console is closed: their members go back to the front of their queues now."""
        agent = self.agents.get(agent_id)
        if agent is None or agent.sid is not None:
            return
        if agent.grace is not None:
            agent.grace.cancel()
        await self._agent_gone(agent, reason)

    # -- media ---------------------------------------------------------------------

    async def _add_peer(self, room_id: str, peer_id: str, role: str, sdp: str) -> str:
        try:
            return await self.router.add_peer(room_id, peer_id, role, sdp)
        except OfferError as exc:
            raise EventError("invalid_sdp", str(exc)) from None
        except Exception as exc:  # the router failing must not take the hub down
            logger.exception("media router failed to add %s", peer_id)
            raise EventError("media_failed", f"The media server could not connect you: {exc}") from None
