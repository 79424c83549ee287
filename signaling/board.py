"""The supervisor's live board: queues, agent load and branch occupancy, pushed as they change.

:func:`board_view` builds the ``board.state`` payload from the hub;
:class:`BoardPublisher` sends it to every connected supervisor whenever the
hub reports a change or an online claim changes state (:meth:`BoardPublisher.poke`),
at most every ``interval`` seconds (a burst of changes becomes one update).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from signaling.core.vocabulary import SERVICES
from signaling.core.daytime import today_start

if TYPE_CHECKING:  # pragma: no cover
    from .hub import Hub

BUSY_STATES = ("assigned", "connecting", "active", "wrap_up")


def board_view(hub: "Hub") -> dict:
    """The ``board.state`` payload at ``hub.config.clock()``."""
    now = hub.config.clock()
    # "Today" in the branches' time zone (WIB), from the stored record: survives restarts, resets at midnight.
    handled = hub.storage.handled_since(today_start(now))
    queues = {}
    for service in SERVICES:
        waiting = hub.state.waiting(service)
        queues[service] = {
            "waiting": len(waiting),
            "longest_wait_seconds": int(now - min(s.queued_at or now for s in waiting)) if waiting else 0,
            "mean_handling_seconds": int(hub.state.mean_handling(service)),
        }
    agents = []
    for agent in sorted(hub.state.agents(), key=lambda a: a.agent_id):
        agents.append(
            {
                "agent_id": agent.agent_id,
                "name": agent.identity.name,
                "online": agent.online,
                "availability": agent.availability if agent.online else "offline",
                "in_progress": len(agent.sessions),
                "capacity": agent.capacity,
                "handled_today": handled.get(agent.agent_id, 0),
                "skills": sorted(agent.identity.skills) if agent.identity.skills is not None else list(SERVICES),
            }
        )
    branches: dict[str, dict] = {}
    for kiosk in list(hub.config.kiosk_tokens.values()) + hub.storage.accounts.kiosks():
        b = branches.setdefault(
            kiosk.branch, {"branch": kiosk.branch, "name": hub.branch_name(kiosk.branch), "booths": set(), "busy": 0}
        )
        b["booths"].add(kiosk.kiosk_id)
    for session in hub.state.sessions():
        if session.state in BUSY_STATES or session.state == "queued":
            b = branches.setdefault(
                session.branch, {"branch": session.branch, "name": hub.branch_name(session.branch), "booths": set(), "busy": 0}
            )
            b["busy"] += 1
    extras = {key: provide() for key, provide in hub.board_extras.items()}
    return {
        **extras,
        "at": now,
        "queues": queues,
        "agents": agents,
        "branches": [
            {"branch": b["branch"], "name": b["name"], "booths": len(b["booths"]), "busy": b["busy"]}
            for b in sorted(branches.values(), key=lambda b: b["branch"])
        ],
        "totals": {
            "waiting": len(hub.state.queued()),
            "in_progress": sum(len(a.sessions) for a in hub.state.agents()),
            "agents_online": sum(1 for a in hub.state.agents() if a.online),
        },
    }


class BoardPublisher:
    """Pushes ``board.state`` to the ``/supervisor`` namespace when the hub changes."""

    def __init__(self, hub: "Hub", interval: float = 0.3) -> None:
        self.hub = hub
        self.interval = interval
        self._pending: asyncio.Task | None = None
        self.viewers = 0
        hub.watchers.append(self.changed)

    async def changed(self) -> None:
        self.poke()

    def poke(self) -> None:
        """Something on the board changed (the hub, or an online claim's state): one update within ``interval``.

        A burst of changes (many claims moving at once) becomes one update:
        while one is pending, further pokes add nothing.
        """
        if self.viewers and (self._pending is None or self._pending.done()):
            self._pending = self.hub.tasks.spawn(self._publish_soon(), name="board update")

    async def _publish_soon(self) -> None:
        await asyncio.sleep(self.interval)
        await self.publish()

    def close(self) -> None:
        """Stop a pending update (the app is shutting down)."""
        if self._pending is not None:
            self._pending.cancel()
        self.viewers = 0

    async def publish(self, to: str = "supervisors") -> None:
        await self.hub.emit("board.state", board_view(self.hub), to=to, namespace="/supervisor")
