"""The one place that turns what changed into what each screen is told, once per change.

A hub command collects a :class:`~signaling.changes.Changes`; :meth:`Notifier.tell`
then sends each booth, console and branch board concerned one message:
the booths of changed sessions (and of changed rooms, and every waiting
booth when the queue moved), the consoles of changed rooms, each branch
once. Nothing is sent to every console: a console asks for the transfer
targets when it needs them (``transfer.targets``), so an assignment costs one
``room.state`` and one ``session.state``, however many agents are online. Screens
are socket.io rooms named after them (``kiosk:<id>`` on ``/kiosk``,
``agent:<id>`` on ``/agent``, ``branch:<id>`` on ``/officer``), so nothing
here knows a socket id or on which node a socket lives. A booth or console
is never sent the same state twice in a row (:class:`~signaling.screens.LastTold`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from . import views
from .changes import Changes
from .core.session import Session
from .screens import LastTold
from .state.base import AgentRecord

logger = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[None]]

#: What a node learns from the others' emits (:meth:`Notifier.heard`): the views of the screens that
#: belong to accounts (booths and consoles). A supervisor's or guest's screen is named after one visit,
#: so remembering those for sockets on other nodes would grow without end.
HEARD = frozenset({("/kiosk", "session.state"), ("/agent", "room.state")})


def kiosk_screen(kiosk_id: str) -> str:
    return f"kiosk:{kiosk_id}"


def agent_screen(agent_id: str) -> str:
    return f"agent:{agent_id}"


def branch_screen(branch: str) -> str:
    return f"branch:{branch}"


class Notifier:
    """Tells screens what changed; owns what each screen was last told."""

    def __init__(self, source: views.ViewSource, emit: Emit) -> None:
        self.source = source
        self._emit = emit
        self._told = LastTold()
        #: The media quality each session's booth was last asked for.
        self._quality: dict[str, str] = {}

    @property
    def state(self):
        return self.source.state

    async def send(self, event: str, data: dict, *, to: str, namespace: str) -> None:
        """One message to one room; a vanished client must not break the caller."""
        try:
            await self._emit(event, data, to=to, namespace=namespace)
        except Exception:
            logger.debug("emit %s to %s failed", event, to, exc_info=True)

    async def broadcast_here(self, event: str, data: dict, namespaces: tuple[str, ...]) -> None:
        """One message to every screen whose socket is on this node (not through Redis: it may be away)."""
        for namespace in namespaces:
            try:
                await self._emit(event, data, namespace=namespace, ignore_queue=True)
            except Exception:
                logger.debug("broadcast %s on %s failed", event, namespace, exc_info=True)

    def new_screen(self, namespace: str, screen: str) -> None:
        """A new connection shows this screen: it knows nothing yet, so it is told everything again."""
        self._told.forget(namespace, screen)
        if namespace == "/kiosk":
            session = self.state.open_session_of(screen.removeprefix("kiosk:"))
            if session is not None:
                self._quality.pop(session.session_id, None)

    def heard(self, event: str, data: object, namespace: str, room: object) -> None:
        """Another node told ``room`` this (seen on the shared channel): this node will not tell it again."""
        if not isinstance(room, str) or not isinstance(data, dict):
            return
        if (namespace, event) in HEARD:
            self._told.heard(namespace, room, event, data)
        elif (namespace, event) == ("/kiosk", "media.quality") and isinstance(data.get("session_id"), str):
            level = data.get("level")
            if level in views.QUALITY:
                self._quality[data["session_id"]] = level

    def session_over(self, session_id: str) -> None:
        """The session left its agent: a later agent asks for the booth's quality afresh."""
        self._quality.pop(session_id, None)

    async def _tell_screen(self, event: str, view: dict, screen: str, namespace: str) -> bool:
        """Send ``view`` if it is news to ``screen``; True if it was."""
        if not self._told.is_news(namespace, screen, event, view):
            return False
        await self.send(event, view, to=screen, namespace=namespace)
        return True

    # -- one screen --------------------------------------------------------------------

    async def idle(self, kiosk_id: str) -> None:
        await self._tell_screen("session.state", {"session_id": None, "state": "idle"}, kiosk_screen(kiosk_id), "/kiosk")

    async def tell_kiosk(self, session: Session, queue: views.QueueSnapshot | None = None) -> None:
        if not self.state.kiosk_online(session.kiosk_id):
            return
        # The record as stored now, not as this command last saw it: with several nodes another
        # node may have moved the session meanwhile, and a stale view would undo what it told.
        await self._tell_booth(self.state.session(session.session_id) or session, queue)

    async def _tell_booth(
        self, session: Session, queue: views.QueueSnapshot | None = None, agent: AgentRecord | None = None
    ) -> bool:
        """Tell an online booth its session as just read (``agent``: the session's, if read too); True if news."""
        screen = kiosk_screen(session.kiosk_id)
        view = views.kiosk_view(self.source, session, queue, agent)
        news = await self._tell_screen("session.state", view, screen, "/kiosk")
        if view["state"] in ("talking", "on_hold"):
            level = "full" if view["state"] == "talking" else "thumbnail"
            if self._quality.get(session.session_id) != level:
                self._quality[session.session_id] = level
                quality = {"session_id": session.session_id, **views.QUALITY[level]}
                await self.send("media.quality", quality, to=screen, namespace="/kiosk")
        return news

    async def tell_agent(self, agent: AgentRecord) -> None:
        if agent.online:
            view = views.room_view(self.source, agent)
            await self._tell_screen("room.state", view, agent_screen(agent.agent_id), "/agent")

    async def tell_monitors(self, agent: AgentRecord) -> None:
        """Each supervisor in the room: ``monitor.state`` on ``/supervisor`` (screen ``monitor:<peer>``)."""
        for peer in sorted(agent.supervisors):
            view = views.monitor_view(self.source, agent, peer)
            await self._tell_screen("monitor.state", view, f"monitor:{peer}", "/supervisor")

    async def tell_guests(self, agent: AgentRecord) -> None:
        """Each guest in the room: ``guest.state`` (talking or on hold) on ``/guest`` (screen ``guest:<peer>``)."""
        for session_id, peer in sorted(agent.guests.items()):
            if session_id in agent.tiles:
                await self._tell_screen("guest.state", views.guest_view(agent, session_id), f"guest:{peer}", "/guest")

    async def tell_branch(self, branch: str) -> None:
        await self.tell_branches([branch])

    async def tell_branches(self, branches: list[str], queue: views.QueueSnapshot | None = None) -> None:
        """``branch.state`` to each branch's officers, their booths read together."""
        for branch, view in views.branch_views(self.source, branches, queue).items():
            await self.send("branch.state", view, to=branch_screen(branch), namespace="/officer")

    # -- a change ------------------------------------------------------------------------

    async def tell(self, changes: Changes) -> None:
        """Tell every screen ``changes`` concerns, each once."""
        state = self.state
        agents = {a: state.agent(a) for a in sorted(changes.rooms | changes.consoles)}
        session_ids = dict.fromkeys(sorted(changes.sessions))
        for agent_id in sorted(changes.rooms):
            record = agents.get(agent_id)
            session_ids.update(dict.fromkeys(record.sessions if record else ()))
        queue = None
        if changes.queue:
            queued = state.queued()
            queue = views.QueueSnapshot(self.source, queued)  # read once, not once per waiting booth
            session_ids.update(dict.fromkeys(s.session_id for s in queued))
        sessions = [s for s in state.sessions_of(list(session_ids)) if s is not None]  # one read
        online = state.kiosks_online([s.kiosk_id for s in sessions])  # and one for their booths
        news: set[str] = set()  # the booths shown something new
        for session, booth_online in zip(sessions, online):
            if booth_online and await self._tell_booth(session, queue, agents.get(session.agent_id or "")):
                news.add(session.session_id)
        for agent in agents.values():
            if agent is not None:
                await self.tell_agent(agent)
                await self.tell_monitors(agent)
                await self.tell_guests(agent)
        branches = set(changes.branches)
        # A changed session's branch, and the branch of each booth that now shows something new (a member
        # of a changed room now talking or on hold, a waiting booth's new position); a booth that shows
        # what it showed is no news to its officers (what a board shows of a booth, its booth shows too).
        branches |= {s.branch for s in sessions if s.session_id in changes.sessions or s.session_id in news}
        await self.tell_branches(sorted(branches), queue)
