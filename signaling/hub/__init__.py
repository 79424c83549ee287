"""The hub: the commands that change sessions, agents, queues and booths, and the orders given the media router.

The namespaces (:mod:`signaling.namespaces`) validate and authorize events
and call the hub's commands; each command changes the state
(:mod:`signaling.state`, storing every transition before anyone is told),
returns what changed (:class:`~signaling.changes.Changes`), and ends in
:meth:`~signaling.hub.core.HubCore.finish`: each changed room's routing goes
to the media router, and :mod:`signaling.notifier` tells each screen
concerned once. It never touches media itself. One concept per module:

- :mod:`.core`: state moves, lookups, the end of a command;
- :mod:`.grace`: presence and grace deadlines (timers on the hub's tasks);
- :mod:`.kiosk`, :mod:`.officer`, :mod:`.agent`: each side's commands;
- :mod:`.dispatch`: dispatching and ending sessions;
- :mod:`.media_events`: what the media router reports;
- :mod:`.nodes`: rooms moved between nodes, sockets lost with a node, Redis away;
- :mod:`.room_people`: supervisors and guests in an agent's room.
"""

from __future__ import annotations

import logging

from ..core.vocabulary import AgentIdentity
from ..state.base import AgentRecord
from .agent import AgentSide
from .dispatch import Dispatching
from .kiosk import KioskSide
from .nodes import NodeEvents
from .officer import OfficerSide
from .room_people import RoomPeople

__all__ = ["Hub"]

logger = logging.getLogger(__name__)


class Hub(KioskSide, OfficerSide, AgentSide, Dispatching, NodeEvents, RoomPeople):
    """Coordinates sessions, agents, queues, booths and the media router."""

    async def restore(self) -> None:
        """Bring back open sessions after a restart: queues in order, rooms by tile.

        Members and agents must reconnect within the grace period; whoever does
        not is handled as if they had dropped just now. With a shared state,
        only the first node starting on an empty one does this
        (:meth:`~signaling.state.base.State.claim_restore`); the others join
        the live state as it is.
        """
        if not self.state.claim_restore(self.node):
            logger.info("node %s: the shared state is live; no session restored from the records", self.node)
            return
        for session in self.storage.load_open():
            self.state.put_session(session)
            if session.state in ("requested", "transferred"):
                self._move(session, "queued", "server", "restored after restart")
            if session.state == "queued":
                session.queued_at = session.queued_at or session.created_at
                self.state.put_session(session)
                self.state.enqueue(session)
            elif session.agent_id is not None and session.tile is not None:
                agent = self.state.agent(session.agent_id) or AgentRecord(AgentIdentity(session.agent_id))
                agent.tiles[session.tile - 1] = session.session_id
                if session.talking:
                    agent.focus.add(session.session_id)  # heard only once this agent is back
                self.state.put_agent(agent)
                self._new_attempt(session, "server", "restored after restart")
            self._start_grace(session.session_id)
        for agent in self.state.agents():
            if not agent.online:
                self._start_agent_grace(agent.agent_id)
