"""The hub: sessions, agents, the queue, and the orders it gives the media router.

The namespaces (:mod:`signaling.namespaces`) validate and authorize events
and call the hub; the hub changes state (storing every transition before
it answers), tells clients what changed, and hands the media router each
room's new routing state. It never touches media itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from server.config import AgentIdentity, Config, KioskIdentity
from server.media.matrix import MAX_KIOSKS, RoomState
from server.media.peer import OfferError
from server.storage import Storage

from .dispatcher import AgentLoad, choose_agent
from .schemas import EventError
from .session import IllegalTransition, Session

logger = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[None]]

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


@dataclass(eq=False)
class Agent:
    """An agent's live state: who sits on which tile and whom they talk to."""

    identity: AgentIdentity
    sid: str | None = None
    tiles: list[str | None] = field(default_factory=lambda: [None] * MAX_KIOSKS)
    focus: set[str] = field(default_factory=set)
    last_assigned_at: float = 0.0
    media_ready: bool = False
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


class Hub:
    """Coordinates sessions, agents, the queue and the media router."""

    def __init__(self, config: Config, storage: Storage, router, emit: Emit) -> None:
        self.config = config
        self.storage = storage
        self.router = router
        self._emit = emit
        self.sessions: dict[str, Session] = {}
        self.queue: list[str] = []
        self.agents: dict[str, Agent] = {}
        self.kiosk_sids: dict[str, str] = {}  # kiosk_id -> sid
        self._kiosk_quality: dict[str, str] = {}
        self._graces: dict[str, asyncio.TimerHandle] = {}
        self._lock = asyncio.Lock()

    # -- helpers ---------------------------------------------------------

    async def emit(self, event: str, data: dict, *, to: str, namespace: str) -> None:
        try:
            await self._emit(event, data, to=to, namespace=namespace)
        except Exception:  # a vanished client must not break the caller
            logger.debug("emit %s to %s failed", event, to, exc_info=True)

    def _move(self, session: Session, new_state: str, actor: str, reason: str | None = None) -> None:
        try:
            session.check_move(new_state)
        except IllegalTransition as exc:
            raise EventError("invalid_state", str(exc)) from None
        old = session.state
        session.state = new_state
        session.reason = reason if reason is not None else session.reason
        self.storage.save(session, old, actor, reason)

    def owned_session(self, session_id: str, *, kiosk_id: str | None = None, agent_id: str | None = None) -> Session:
        session = self.sessions.get(session_id)
        if session is None or session.ended:
            raise EventError("unknown_session", "No such session is open.")
        if kiosk_id is not None and session.kiosk_id != kiosk_id:
            raise EventError("unknown_session", "No such session is open.")
        if agent_id is not None and session.agent_id != agent_id:
            raise EventError("unknown_session", "No such session is open.")
        return session

    def open_session_of(self, kiosk_id: str) -> Session | None:
        for session in self.sessions.values():
            if session.kiosk_id == kiosk_id and not session.ended:
                return session
        return None

    # -- kiosk side -------------------------------------------------------

    async def kiosk_connected(self, kiosk: KioskIdentity, sid: str) -> None:
        self.kiosk_sids[kiosk.kiosk_id] = sid
        session = self.open_session_of(kiosk.kiosk_id)
        if session is not None:
            self._cancel_grace(session.session_id)
            await self.tell_kiosk(session)

    async def kiosk_disconnected(self, kiosk: KioskIdentity, sid: str) -> None:
        if self.kiosk_sids.get(kiosk.kiosk_id) == sid:
            del self.kiosk_sids[kiosk.kiosk_id]
        session = self.open_session_of(kiosk.kiosk_id)
        if session is not None:
            self._start_grace(session.session_id)

    async def request_session(self, kiosk: KioskIdentity, service: str, language: str) -> Session:
        async with self._lock:
            if self.open_session_of(kiosk.kiosk_id) is not None:
                raise EventError("invalid_state", "This booth already has an open session.")
            session = Session(
                session_id=f"s-{uuid.uuid4().hex[:12]}",
                kiosk_id=kiosk.kiosk_id,
                branch=kiosk.branch,
                booth=kiosk.booth,
                service=service,
                language=language,
            )
            self.sessions[session.session_id] = session
            self.storage.save(session, None, f"kiosk:{kiosk.kiosk_id}", "requested at the booth")
            self._move(session, "queued", "dispatcher")
            self.queue.append(session.session_id)
        await self.dispatch()
        await self.tell_queue()
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
        return answer

    async def kiosk_leave(self, kiosk: KioskIdentity, session_id: str) -> None:
        session = self.owned_session(session_id, kiosk_id=kiosk.kiosk_id)
        await self._end(session, "abandoned", f"kiosk:{kiosk.kiosk_id}", "member_left")

    # -- agent side -------------------------------------------------------

    async def agent_connected(self, identity: AgentIdentity, sid: str) -> None:
        agent = self.agents.get(identity.agent_id)
        if agent is None:
            agent = self.agents[identity.agent_id] = Agent(identity)
        if agent.grace is not None:
            agent.grace.cancel()
            agent.grace = None
        agent.sid = sid
        await self.tell_agent(agent)
        await self.dispatch()

    async def agent_disconnected(self, identity: AgentIdentity, sid: str) -> None:
        agent = self.agents.get(identity.agent_id)
        if agent is None or agent.sid != sid:
            return
        agent.sid = None
        agent.media_ready = False
        loop = asyncio.get_running_loop()
        agent.grace = loop.call_later(
            self.config.reconnect_grace, lambda: asyncio.ensure_future(self._agent_gone(agent))
        )
        await self.push_room(agent)

    async def _agent_gone(self, agent: Agent) -> None:
        """The agent did not come back: their sessions go back to the front of the queue."""
        agent.grace = None
        if agent.sid is not None:
            return
        async with self._lock:
            for session_id in reversed(agent.sessions):
                session = self.sessions[session_id]
                if session.ended:
                    continue
                self._move(session, "queued", "dispatcher", "agent_lost")
                session.agent_id = None
                session.tile = None
                self.queue.insert(0, session_id)
            agent.tiles = [None] * MAX_KIOSKS
            agent.focus.clear()
        await self.router.close_room(agent.agent_id)
        await self.dispatch()
        await self.tell_queue()

    async def agent_offer(self, identity: AgentIdentity, sdp: str) -> str:
        agent = self.agents[identity.agent_id]
        answer = await self._add_peer(agent.agent_id, agent.agent_id, "agent", sdp)
        agent.media_ready = True
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
        if session.state == "active":
            async with self._lock:
                self._move(session, "wrap_up", f"agent:{identity.agent_id}", "agent_ended")
                self._move(session, "closed", f"agent:{identity.agent_id}", outcome)
            await self._release(session)
        else:
            await self._end(session, "cancelled", f"agent:{identity.agent_id}", "agent_ended")

    # -- media events -----------------------------------------------------

    def on_media_event(self, event: dict) -> None:
        if event.get("event") == "peer.state":
            asyncio.ensure_future(self._peer_state(event["room"], event["peer"], event["state"]))

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
        elif state in ("failed", "closed") and not session.ended:
            self._start_grace(peer_id)

    # -- dispatching --------------------------------------------------------

    async def dispatch(self) -> None:
        """Give waiting sessions, oldest first, to agents with free tiles."""
        changed: list[Agent] = []
        async with self._lock:
            for session_id in list(self.queue):
                session = self.sessions[session_id]
                loads = [
                    AgentLoad(a.agent_id, a.capacity, len(a.sessions), a.last_assigned_at, a.sid is not None)
                    for a in self.agents.values()
                ]
                agent_id = choose_agent(loads, session.service)
                if agent_id is None:
                    continue
                agent = self.agents[agent_id]
                tile = agent.tiles.index(None)
                session.agent_id = agent_id
                session.tile = tile + 1
                self._move(session, "assigned", "dispatcher", f"tile {tile + 1}")
                agent.tiles[tile] = session_id
                agent.last_assigned_at = time.monotonic()
                self.queue.remove(session_id)
                changed.append(agent)
        for agent in dict.fromkeys(changed):
            await self.push_room(agent)  # also tells each newly assigned kiosk
        if changed:
            await self.tell_queue()

    # -- ending -------------------------------------------------------------

    async def _end(self, session: Session, state: str, actor: str, reason: str) -> None:
        async with self._lock:
            if session.state in ("queued",) and state == "failed":
                state = "abandoned"
            self._move(session, state, actor, reason)
            if session.session_id in self.queue:
                self.queue.remove(session.session_id)
        await self._release(session)
        await self.tell_queue()

    async def _release(self, session: Session) -> None:
        """Free the session's tile and media, tell everyone, refill the tile."""
        self._cancel_grace(session.session_id)
        await self.tell_kiosk(session)
        agent = self.agents.get(session.agent_id or "")
        if agent is not None and session.session_id in agent.tiles:
            agent.tiles[agent.tiles.index(session.session_id)] = None
            agent.focus.discard(session.session_id)
            await self.router.remove_peer(agent.agent_id, session.session_id)
            await self.push_room(agent)
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
        state = "abandoned" if session.state in ("queued", "assigned") else "failed"
        await self._end(session, state, "media", "member_disconnected")

    # -- telling clients ----------------------------------------------------

    async def push_room(self, agent: Agent) -> None:
        """Send the room's routing state to the router and tell its people."""
        agent.focus &= set(agent.sessions)
        state = RoomState(
            agent=agent.agent_id if agent.sid is not None else None,
            tiles=tuple(agent.tiles),
            focus=frozenset(agent.focus) if agent.sid is not None else frozenset(),
        )
        await self.router.set_room(agent.agent_id, state)
        await self.tell_agent(agent)
        for session_id in agent.sessions:
            await self.tell_kiosk(self.sessions[session_id])

    def kiosk_view(self, session: Session) -> dict:
        state = KIOSK_STATE.get(session.state)
        if session.state == "active":
            agent = self.agents.get(session.agent_id or "")
            talking = agent is not None and agent.sid is not None and session.session_id in agent.focus
            state = "talking" if talking else "on_hold"
        agent = self.agents.get(session.agent_id or "")
        return {
            "session_id": session.session_id,
            "state": state,
            "service": session.service,
            "position": self.queue.index(session.session_id) + 1 if session.session_id in self.queue else None,
            "agent": {"id": agent.agent_id, "name": agent.identity.name} if agent else None,
            "reason": session.reason if session.ended else None,
        }

    async def tell_kiosk(self, session: Session) -> None:
        sid = self.kiosk_sids.get(session.kiosk_id)
        if sid is None:
            return
        view = self.kiosk_view(session)
        await self.emit("session.state", view, to=sid, namespace="/kiosk")
        if view["state"] in ("talking", "on_hold"):
            level = "full" if view["state"] == "talking" else "thumbnail"
            if self._kiosk_quality.get(session.session_id) != level:
                self._kiosk_quality[session.session_id] = level
                await self.emit(
                    "media.quality", {"session_id": session.session_id, **QUALITY[level]}, to=sid, namespace="/kiosk"
                )

    async def tell_queue(self) -> None:
        for session_id in self.queue:
            await self.tell_kiosk(self.sessions[session_id])

    def room_view(self, agent: Agent) -> dict:
        tiles = []
        for index, session_id in enumerate(agent.tiles):
            if session_id is None:
                tiles.append(None)
                continue
            session = self.sessions[session_id]
            tiles.append(
                {
                    "tile": index + 1,
                    "session_id": session_id,
                    "kiosk_id": session.kiosk_id,
                    "branch": session.branch,
                    "booth": session.booth,
                    "service": session.service,
                    "state": self.kiosk_view(session)["state"],
                    "since": session.created_at,
                }
            )
        return {
            "agent_id": agent.agent_id,
            "capacity": agent.capacity,
            "tiles": tiles,
            "focus": sorted(agent.focus),
        }

    async def tell_agent(self, agent: Agent) -> None:
        if agent.sid is not None:
            await self.emit("room.state", self.room_view(agent), to=agent.sid, namespace="/agent")

    # -- media --------------------------------------------------------------

    async def _add_peer(self, room_id: str, peer_id: str, role: str, sdp: str) -> str:
        try:
            return await self.router.add_peer(room_id, peer_id, role, sdp)
        except OfferError as exc:
            raise EventError("invalid_sdp", str(exc)) from None
        except Exception as exc:  # the router failing must not take the hub down
            logger.exception("media router failed to add %s", peer_id)
            raise EventError("media_failed", f"The media server could not connect you: {exc}") from None
