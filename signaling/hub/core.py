"""The hub's common ground: its parts, state moves, lookups, and how a command ends (routing, then screens).

Every command collects a :class:`~signaling.changes.Changes`; :meth:`HubCore.finish`
hands each changed room's routing to the media router (storing the talk set
first), lets the notifier tell every screen concerned once, and tells the
watchers (board, self-service) once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..core.dispatcher import slots_for
from ..core.errors import OfferError

from .. import views
from ..changes import Changes
from ..core.session import WITH_AGENT, IllegalTransition, Session
from ..core.vocabulary import HOME_BRANCH, KioskIdentity
from ..notifier import Emit, Notifier
from ..ports import Records, Settings
from ..schemas import EventError
from ..state.base import AgentRecord, StaleSession, State
from ..state.memory import MemoryState
from ..tasks import Tasks
from .directory import Directory

logger = logging.getLogger(__name__)


class HubCore:
    """State, storage, router, notifier and tasks, and the moves every command uses."""

    def __init__(
        self,
        config: Settings,
        storage: Records,
        router: Any,
        emit: Emit,
        *,
        state: State | None = None,
        tasks: Tasks | None = None,
        node: str = "local",
    ) -> None:
        self.config = config
        self.storage = storage
        self.router = router
        self.state: State = state if state is not None else MemoryState()
        self.tasks = tasks if tasks is not None else Tasks("hub")
        #: This process's name in presence records (several nodes share one state later).
        self.node = node
        self.notifier = Notifier(self, emit)
        #: Branches' booths and names, kept until the accounts change (the access watcher says when).
        self.directory = Directory(config, storage)
        self._lock = asyncio.Lock()
        #: Listeners told of every change (the supervisor board, self-service).
        self.watchers: list[Callable[[], Awaitable[None]]] = []
        #: More sections of the supervisors' board, by key (the online channel: server/online.py).
        self.board_extras: dict[str, Callable[[], dict]] = {}

    # -- what views read (signaling.views.ViewSource) ------------------------------------

    def now(self) -> float:
        return self.config.clock()

    def branch_kiosks(self, branch: str) -> list[KioskIdentity]:
        return self.directory.kiosks(branch)

    def branch_name(self, branch: str) -> str:
        return self.directory.name(branch)

    def queue_position(self, session: Session) -> tuple[int | None, int | None]:
        """(position in its service's queue, estimated seconds) for a waiting session."""
        position = self.state.queue_position(session)
        if position is None:
            return None, None
        return position, self.state.estimate(position, session.service, slots_for(self.state.loads(full=True), session.service))

    # -- queries for the layers around (self-service, pages, reports) --------------------

    def session(self, session_id: str) -> Session | None:
        return self.state.session(session_id)

    def open_session_of(self, kiosk_id: str) -> Session | None:
        return self.state.open_session_of(kiosk_id)

    def owned_session(
        self, session_id: str, *, kiosk_id: str | None = None, agent_id: str | None = None, branch: str | None = None
    ) -> Session:
        """The open session, if the caller owns it; otherwise ``unknown_session``."""
        session = self.state.session(session_id)
        if (
            session is None
            or session.ended
            or (kiosk_id is not None and session.kiosk_id != kiosk_id)
            or (agent_id is not None and session.agent_id != agent_id)
            or (branch is not None and session.branch != branch)
        ):
            raise EventError("unknown_session", "No such session is open.")
        return session

    def agent_sessions(self, agent_id: str) -> list[str]:
        """The sessions on an agent's tiles, in tile order."""
        agent = self.state.agent(agent_id)
        return agent.sessions if agent else []

    async def tell_session(self, session: Session, event: str, data: dict, *, kiosk: bool = True, agent: bool = True) -> None:
        """Send to the session's booth and its agent's console, and nobody else."""
        if kiosk and self.state.kiosk_online(session.kiosk_id):
            await self.emit(event, data, to=f"kiosk:{session.kiosk_id}", namespace="/kiosk")
        if agent and session.agent_id is not None:
            holder = self.state.agent(session.agent_id)
            if holder is not None and holder.online:
                await self.emit(event, data, to=f"agent:{holder.agent_id}", namespace="/agent")

    async def emit(self, event: str, data: dict, *, to: str, namespace: str) -> None:
        await self.notifier.send(event, data, to=to, namespace=namespace)

    async def tell_branch(self, branch: str) -> None:
        await self.notifier.tell_branch(branch)

    # -- moves ---------------------------------------------------------------------------

    def _agent(self, agent_id: str) -> AgentRecord:
        agent = self.state.agent(agent_id)
        if agent is None:
            raise EventError("unauthorized", "Not connected.")
        return agent

    def _move(self, session: Session, new_state: str, actor: str, reason: str | None = None) -> None:
        """Change state, refusing illegal transitions; stored before anyone is told."""
        while True:
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
            try:
                self.state.put_session(session)
                break
            except StaleSession:
                # Another node moved it meanwhile; ``session`` is now the stored record: decide again.
                if session.state == new_state:
                    return  # the same move, made and stored there
        self.storage.save(session, old, actor, reason)

    def _new_attempt(self, session: Session, actor: str, reason: str) -> None:
        """The session (re)enters ``connecting`` and its booth must offer anew: one more media attempt.

        Not for the booth's own offer (that answers an attempt; see
        docs/protocol.md, "When a booth offers").
        """
        if session.state == "active":
            self._move(session, "connecting", actor, reason)
        while not session.ended:
            session.attempt += 1
            try:
                self.state.put_session(session)
                return
            except StaleSession:
                continue  # another node changed its state or attempt meanwhile: one more on the stored record

    async def _add_peer(self, room_id: str, peer_id: str, role: str, sdp: str) -> str:
        try:
            return await self.router.add_peer(room_id, peer_id, role, sdp)
        except OfferError as exc:
            raise EventError("invalid_sdp", str(exc)) from None
        except Exception as exc:  # the router failing must not take the hub down
            logger.exception("media router failed to add %s", peer_id)
            raise EventError("media_failed", f"The media server could not connect you: {exc}") from None

    # -- the end of every command ----------------------------------------------------------

    async def finish(self, changes: Changes) -> Changes:
        """Route each changed room, tell each screen concerned once, tell the watchers; return ``changes``."""
        for agent_id in sorted(changes.rooms):
            agent = self.state.agent(agent_id)
            if agent is not None:
                await self._route(agent)
        await self.notifier.tell(changes)
        for watcher in list(self.watchers):
            try:
                await watcher()
            except Exception:
                logger.exception("watcher failed")
        return changes

    async def _settle_people(self, agent: AgentRecord) -> None:
        """Hook (:mod:`.room_people`): guests whose member left go before the room is routed."""

    async def _room_closed(self, agent: AgentRecord) -> None:
        """Hook (:mod:`.room_people`): the room closes for good; its supervisors and guests are out."""

    async def _route(self, agent: AgentRecord) -> None:
        """Store who is in the talk set (a restart keeps it), then give the router the room's state."""
        await self._settle_people(agent)
        agent.focus &= set(agent.sessions)
        seq = self.state.commit_room(agent)  # the agent as stored now: another node may have changed it
        home: set[str] = set()  # the members at home (their routing differs: signaling/core/matrix.py)
        room = list(agent.sessions)
        for session_id, session in zip(room, self.state.sessions_of(room)):  # one read for the room
            if session is None:
                continue
            if session.branch == HOME_BRANCH:
                home.add(session_id)
            talking = session_id in agent.focus and session.state in WITH_AGENT
            if session.talking != talking:
                session.talking = talking
                self.state.put_session(session)
                self.storage.save(session, session.state, f"agent:{agent.agent_id}", None)
        await self.router.set_room(agent.agent_id, views.routing_state(agent, frozenset(home), seq))
