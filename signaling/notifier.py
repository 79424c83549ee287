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
here knows a socket id. A booth or console is never sent the same state
twice in a row (:class:`~signaling.screens.LastTold`).

**A screen is told by the node that holds its socket, and by no other.**
With several nodes, a view read on one node and sent after another node
sent a newer one used to arrive last, and the booth kept showing it (a booth
"connecting" for good while its session was active). Now a node tells the
screens whose sockets it holds (booths, consoles, supervisors, guests,
branch boards), on their sockets directly (in the order it sends), and asks
the other nodes to tell theirs (:meth:`Notifier.asked`, over
:class:`Elsewhere`); each reads the records itself when it tells. Within one
node, a pass (:meth:`Notifier.tell`, :meth:`Notifier.asked`) reads its
screens together and sends one after another; if another pass started in
between, it may have told one of them something newer first: they are then
read again and told again until what they were told is what is stored
(:meth:`Notifier._rounds`). A console is told first, or read again just before it
is told (docs/architecture.md, "Who tells a screen").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol

from . import views
from .changes import Changes
from .core.session import Session
from .screens import LastTold
from .state.base import AgentRecord

logger = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[None]]

#: Rounds of one pass at most (:meth:`Notifier._rounds`); a screen whose records change faster than that is
#: told again by the command that changes them.
SETTLE_ROUNDS = 4

#: The most names of each kind one request from another node is read for (:meth:`Notifier.asked` ignores the rest).
MAX_ASKED = 10_000


def _names(value: object) -> list[str]:
    """The strings of a list in a request from another node (at most :data:`MAX_ASKED`)."""
    return [v for v in value[:MAX_ASKED] if isinstance(v, str)] if isinstance(value, list) else []


class Elsewhere(Protocol):
    """The other nodes, for the screens whose sockets they hold (:class:`signaling.fanout.FanoutManager`)."""

    def holds(self, namespace: str, screen: str) -> bool:
        """Is a socket of ``screen`` on this node?"""
        ...

    async def ask(self, request: dict[str, list]) -> None:
        """Ask every other node to tell the screens ``request`` names that it holds: ``booths``
        (``[session_id, kiosk_id]`` pairs), ``consoles`` and ``rooms`` (agent ids: a room's supervisors
        and guests), ``branches`` (their officers' boards)."""
        ...


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
        #: The media quality each session's booth was last asked for (by this node: its own booths).
        self._quality: dict[str, str] = {}
        #: The other nodes (None: one node, every screen's socket is here).
        self.elsewhere: Elsewhere | None = None
        #: Passes started (:meth:`tell`, :meth:`asked`): one that read before another started may be out of date.
        self._passes = 0

    @property
    def state(self):
        return self.source.state

    async def send(self, event: str, data: dict, *, to: str, namespace: str, here: bool = False) -> None:
        """One message to one room; a vanished client must not break the caller.

        ``here``: only to the room's sockets on this node, in the order sent (not through the other nodes).
        """
        try:
            if here and self.elsewhere is not None:
                await self._emit(event, data, to=to, namespace=namespace, ignore_queue=True)
            else:
                await self._emit(event, data, to=to, namespace=namespace)
        except Exception:
            logger.debug("emit %s to %s failed", event, to, exc_info=True)

    def _here(self, namespace: str, screen: str) -> bool:
        """Is a socket of this screen on this node (always, with one node)?"""
        return self.elsewhere is None or self.elsewhere.holds(namespace, screen)

    def _holds(self, kiosk_id: str) -> bool:
        return self._here("/kiosk", kiosk_screen(kiosk_id))

    def _holds_console(self, agent_id: str) -> bool:
        return self._here("/agent", agent_screen(agent_id))

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

    def session_over(self, session_id: str) -> None:
        """The session left its agent: a later agent asks for the booth's quality afresh."""
        self._quality.pop(session_id, None)

    async def _tell_screen(self, event: str, view: dict, screen: str, namespace: str, *, here: bool = False) -> bool:
        """Send ``view`` if it is news to ``screen``; True if it was."""
        if not self._told.is_news(namespace, screen, event, view):
            return False
        await self.send(event, view, to=screen, namespace=namespace, here=here)
        return True

    # -- one screen --------------------------------------------------------------------

    async def idle(self, kiosk_id: str) -> None:
        view = {"session_id": None, "state": "idle"}
        await self._tell_screen("session.state", view, kiosk_screen(kiosk_id), "/kiosk", here=True)

    async def _tell_booth(
        self, session: Session, queue: views.QueueSnapshot | None = None, agent: AgentRecord | None = None
    ) -> bool:
        """Tell a booth on this node its session as just read (``agent``: the session's, if read too); True if news."""
        screen = kiosk_screen(session.kiosk_id)
        view = views.kiosk_view(self.source, session, queue, agent)
        news = await self._tell_screen("session.state", view, screen, "/kiosk", here=True)
        if view["state"] in ("talking", "on_hold"):
            level = "full" if view["state"] == "talking" else "thumbnail"
            if self._quality.get(session.session_id) != level:
                self._quality[session.session_id] = level
                quality = {"session_id": session.session_id, **views.QUALITY[level]}
                await self.send("media.quality", quality, to=screen, namespace="/kiosk", here=True)
        else:
            self._quality.pop(session.session_id, None)  # away from its agent: the next one asks afresh
        return news

    def _begin(self) -> int:
        """A pass starts and is about to read: its number."""
        self._passes += 1
        return self._passes

    async def _tell_booths(
        self, sessions: list[Session], queue: views.QueueSnapshot | None, agents: dict[str, AgentRecord | None],
        started: int,
    ) -> tuple[set[str], list[list[str]]]:
        """Tell the online booths of ``sessions`` (read just now, by pass ``started``) whose sockets are here.

        Returns the sessions whose booth was shown something new, and the
        ``[session_id, kiosk_id]`` of the booths elsewhere (for :meth:`_ask`).
        """
        news: set[str] = set()
        told = [s for s in sessions if self._holds(s.kiosk_id)]
        for again in self._rounds(started):
            if again:  # a waiting booth still waiting keeps its place until the next queue move
                told = [s for s in self.state.sessions_of([s.session_id for s in told])
                        if s is not None and self._holds(s.kiosk_id)
                        and not (s.state == "queued" and self._still_waiting(s))]
                queue, agents = None, self._agents_of(told)
            shown = [s for s in told if await self._tell_booth(s, queue, agents.get(s.agent_id or ""))]
            news |= {s.session_id for s in shown}
            told = shown  # only a booth told in this round can have been told something older than stored
            if not told:
                break
        return news, [[s.session_id, s.kiosk_id] for s in sessions if not self._holds(s.kiosk_id)]

    async def _ask(self, **request: list) -> None:
        """Ask the other nodes to tell the screens whose sockets are there (:meth:`Elsewhere.ask`)."""
        request = {k: v for k, v in request.items() if v}
        if request and self.elsewhere is not None:
            try:
                await self.elsewhere.ask(request)
            except Exception:
                logger.warning("could not ask the other nodes to tell %s", sorted(request), exc_info=True)

    def _rounds(self, started: int) -> Iterator[bool]:
        """The rounds of a pass that read its screens as pass ``started``: the first (False), then one more
        (True: read again) each time another pass started while the round before was sending.

        Each screen was read before the sends ahead of it. Only a pass that
        started after this one read can have told it something newer in
        between; a change made later, or on another node, is told by its own
        pass after this one's sends. At most :data:`SETTLE_ROUNDS`.
        """
        yield False
        for _ in range(SETTLE_ROUNDS - 1):
            if self._passes == started:
                return
            started = self._passes  # what is read now is as new as any pass started so far
            yield True

    def _agents_of(self, sessions: list[Session]) -> dict[str, AgentRecord | None]:
        """The agents of ``sessions``, each read once."""
        return {a: self.state.agent(a) for a in sorted({s.agent_id for s in sessions if s.agent_id})}

    def _still_waiting(self, session: Session) -> bool:
        """Was this queued session's booth last told that it waits, in the same way (waiting, transferred)?"""
        last = self._told.last("/kiosk", kiosk_screen(session.kiosk_id), "session.state")
        return last is not None and last.get("session_id") == session.session_id and (
            last.get("state") == views.kiosk_state(self.source, session)
        )

    async def asked(self, data: object) -> None:
        """Another node asks this one to tell the screens it holds of those named (:meth:`Elsewhere.ask`);
        what is malformed, unknown or not here is passed over."""
        if not isinstance(data, dict):
            return
        branches = _names(data.get("branches"))
        pairs = data.get("booths")
        ids = [
            p[0] for p in (pairs[:MAX_ASKED] if isinstance(pairs, list) else ())
            if isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) and self._holds(p[1])
        ]
        if ids:
            started = self._begin()
            sessions = [s for s in self.state.sessions_of(ids) if s is not None and self._holds(s.kiosk_id)]
            queue = views.QueueSnapshot(self.source, self.state.queued()) if any(
                s.state == "queued" for s in sessions) else None
            news, _ = await self._tell_booths(sessions, queue, self._agents_of(sessions), started)
            shown = sorted({s.branch for s in sessions if s.session_id in news} - set(branches))
            if shown:  # boards showing these booths, wherever their officers are
                await self.tell_branches(shown, queue)
        for agent_id in _names(data.get("consoles")):
            if self._holds_console(agent_id):
                await self._tell_console(agent_id)
        for agent_id in _names(data.get("rooms")):
            started = self._begin()
            agent = self.state.agent(agent_id)
            if agent is not None:
                await self._tell_room_people(agent, started)
        if branches:
            await self._tell_boards(branches, None, self._begin())

    async def _tell_console(self, agent_id: str, agent: AgentRecord | None = None) -> None:
        """Tell a console on this node its room, read now (nothing runs between the read and the send).

        ``agent``: the record, if it was read with nothing run since.
        """
        if agent is None:
            agent = self.state.agent(agent_id)
        if agent is not None and agent.online:
            view = views.room_view(self.source, agent)
            await self._tell_screen("room.state", view, agent_screen(agent_id), "/agent", here=True)

    async def _tell_room_people(self, agent: AgentRecord, started: int) -> bool:
        """The room's supervisors (``monitor.state``) and guests (``guest.state``) on this node, from
        ``agent`` as read by pass ``started`` (read again, and told again, if another pass started while they
        were told). True if all are here."""
        everyone_here = True
        for again in self._rounds(started):
            if again:
                agent = self.state.agent(agent.agent_id) or agent
            for peer in sorted(agent.supervisors):
                screen = f"monitor:{peer}"
                if self._here("/supervisor", screen):
                    view = views.monitor_view(self.source, agent, peer)
                    await self._tell_screen("monitor.state", view, screen, "/supervisor", here=True)
                else:
                    everyone_here = False
            for session_id, peer in sorted(agent.guests.items()):
                screen = f"guest:{peer}"
                if session_id not in agent.tiles:
                    continue
                if self._here("/guest", screen):
                    await self._tell_screen("guest.state", views.guest_view(agent, session_id), screen, "/guest",
                                            here=True)
                else:
                    everyone_here = False
        return everyone_here

    async def tell_branch(self, branch: str) -> None:
        await self.tell_branches([branch])

    async def tell_branches(self, branches: list[str], queue: views.QueueSnapshot | None = None) -> None:
        """``branch.state`` to each branch's officers: those on this node from here, the others' asked."""
        await self._tell_boards(branches, queue, self._begin())
        await self._ask(branches=branches)

    async def _tell_boards(self, branches: list[str], queue: views.QueueSnapshot | None, started: int) -> None:
        """The boards of ``branches`` whose officers are on this node, their booths read together; read and
        sent again if another pass started while they were sent (a board is a whole snapshot)."""
        held = [b for b in branches if self._here("/officer", branch_screen(b))]
        if not held:
            return
        for again in self._rounds(started):
            for branch, view in views.branch_views(self.source, held, None if again else queue).items():
                await self.send("branch.state", view, to=branch_screen(branch), namespace="/officer", here=True)

    # -- a change ------------------------------------------------------------------------

    async def tell(self, changes: Changes) -> None:
        """Tell every screen ``changes`` concerns, each once."""
        state = self.state
        started = self._begin()
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
        booths = [s for s, booth_online in zip(sessions, online) if booth_online]
        consoles: list[str] = []  # the consoles elsewhere
        unchanged = True  # nothing else has run since the reads above: the first console's record is current
        for agent_id, agent in agents.items():
            if agent is not None and agent.online:
                if self._holds_console(agent_id):
                    await self._tell_console(agent_id, agent if unchanged else None)
                    unchanged = False
                else:
                    consoles.append(agent_id)
        news, away = await self._tell_booths(booths, queue, agents, started)  # the booths (here) shown something new
        rooms = []  # the rooms with a supervisor or guest elsewhere
        for agent_id, agent in agents.items():
            if agent is not None and not await self._tell_room_people(agent, started):
                rooms.append(agent_id)
        branches = set(changes.branches)
        # A changed session's branch, and the branch of each booth that now shows something new (a member
        # of a changed room now talking or on hold, a waiting booth's new position); a booth that shows
        # what it showed is no news to its officers (what a board shows of a booth, its booth shows too).
        # A booth elsewhere that shows something new is its node's to tell the boards of.
        branches |= {s.branch for s in sessions if s.session_id in changes.sessions or s.session_id in news}
        await self._tell_boards(sorted(branches), queue, started)
        await self._ask(booths=away, consoles=consoles, rooms=rooms, branches=sorted(branches))
