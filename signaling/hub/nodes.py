"""What the hub does when nodes come and go: a room moved, sockets lost with their node, Redis away.

Called by :class:`signaling.nodes.watch.NodeWatch` (several nodes on one
Redis). A moved room keeps its sessions: each gets a new media attempt and
its peers offer again to the room's new node, exactly as after a media
worker's death (:meth:`MediaEvents._room_lost`). A booth or console whose
socket was on a dead node is handled as if it had dropped just now (its grace
period starts here). While Redis or the records database is away this node
starts no session (``unavailable``) and tells every screen on it
(``service.status``); sessions already running keep their media.
"""

from __future__ import annotations

from ..changes import Changes
from ..schemas import EventError
from .media_events import MediaEvents

#: Screens told when this node stops or starts taking sessions.
SCREENS = ("/kiosk", "/agent", "/officer")


class NodeEvents(MediaEvents):
    """Rooms moved between nodes, presence lost with a node, and whether this node takes sessions."""

    #: False while the shared state (Redis) or the records cannot be reached: no new session starts here.
    accepting: bool = True
    #: Why not (``state_unavailable``, ``records_unavailable``); empty while accepting.
    away: frozenset[str] = frozenset()

    async def room_moved(self, agent_id: str, reason: str = "media_restarted") -> None:
        """The room now lives on another node's media workers: every peer in it offers again, same sessions."""
        await self._room_lost(agent_id)

    async def booth_node_lost(self, kiosk_id: str) -> None:
        """The booth's socket was on a node that died: its grace period starts (on this node)."""
        session = self.state.open_session_of(kiosk_id)
        if session is None:
            return
        self._start_grace(session.session_id)
        await self.finish(Changes(branches={session.branch}))

    async def agent_node_lost(self, agent_id: str) -> None:
        """The console's socket was on a node that died: as if it dropped now."""
        self._start_agent_grace(agent_id)
        await self.finish(Changes(rooms={agent_id}, queue=True))

    async def set_accepting(self, accepting: bool, reason: str = "state_unavailable") -> None:
        """Take new sessions or not for one reason (Redis: ``state_unavailable``; the records:
        ``records_unavailable``), and tell every screen on this node when that changes."""
        away = self.away - {reason} if accepting else self.away | {reason}
        if away == self.away:
            return
        self.away = away
        self.accepting = not away
        status = {"accepting": self.accepting, "reason": min(away) if away else None}
        await self.notifier.broadcast_here("service.status", status, SCREENS)

    async def records_unavailable(self) -> None:
        """A save failed (the records database is away): no new session until the access watcher sees it back."""
        await self.set_accepting(False, "records_unavailable")

    def check_accepting(self) -> None:
        """Refuse a new session while this node cannot reach the shared state or the records."""
        if not self.accepting:
            raise EventError("unavailable", "The service cannot start sessions right now; please try again shortly.")
