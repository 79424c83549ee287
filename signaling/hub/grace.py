"""Presence and grace: who is online, and the grace periods of dropped booths and consoles.

A grace period is a deadline in the state (``session:<id>``, ``agent:<id>``);
the timer that fires it is this process's own, kept on the hub's
:class:`~signaling.tasks.Tasks` (never in the state). When it fires and the
deadline still stands, the member's session ends or the agent's members go
back to their queues.

With several nodes, a deadline is fired by the node that armed it; when that
node dies another one adopts it (:meth:`Graces.adopt_grace`,
:mod:`signaling.nodes.watch`). A timer fires only the deadline it was armed
for, and only the node whose ``clear_grace`` removes it acts on it, so a
deadline armed twice (adopted while its first node still ran) ends a session
once.
"""

from __future__ import annotations

import asyncio

from ..changes import Changes
from .core import HubCore


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


def agent_key(agent_id: str) -> str:
    return f"agent:{agent_id}"


class Graces(HubCore):
    """Grace deadlines and their timers."""

    _timers: dict[str, asyncio.TimerHandle]

    def _arm(self, key: str, deadline: float | None = None) -> None:
        """Fire ``key`` at its deadline (read from the state when not given)."""
        if not hasattr(self, "_timers"):
            self._timers = {}
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        deadline = self.state.grace(key) if deadline is None else deadline
        if deadline is None:
            return
        delay = max(0.0, deadline - self.config.clock())
        self._timers[key] = self.tasks.call_later(delay, lambda: self._grace_due(key, deadline), name=f"grace {key}")

    def adopt_grace(self, key: str) -> None:
        """Arm a deadline another node armed and can no longer fire (it died)."""
        self._arm(key)

    def _disarm(self, key: str) -> None:
        self.state.clear_grace(key)
        handle = getattr(self, "_timers", {}).pop(key, None)
        if handle is not None:
            handle.cancel()

    def _start_grace(self, session_id: str) -> None:
        key = session_key(session_id)
        deadline = self.config.clock() + self.config.reconnect_grace
        if self.state.set_grace(key, deadline):
            self._arm(key, deadline)

    def _cancel_grace(self, session_id: str) -> None:
        self._disarm(session_key(session_id))

    def _start_agent_grace(self, agent_id: str) -> None:
        key = agent_key(agent_id)
        self._disarm(key)
        deadline = self.config.clock() + self.config.reconnect_grace
        self.state.set_grace(key, deadline)
        self._arm(key, deadline)

    def _cancel_agent_grace(self, agent_id: str) -> None:
        self._disarm(agent_key(agent_id))

    async def _grace_due(self, key: str, deadline: float) -> None:
        getattr(self, "_timers", {}).pop(key, None)
        if self.state.grace(key) != deadline:
            return  # called off meanwhile, or set again (whoever set it fires it)
        if not self.state.clear_grace(key):
            return  # another node fired it first
        kind, _, ident = key.partition(":")
        changes = Changes()
        if kind == "session":
            await self._session_grace_over(ident, changes)
        else:
            await self._agent_gone(ident, changes)
        await self.finish(changes)

    async def _session_grace_over(self, session_id: str, changes: Changes) -> None:
        session = self.state.session(session_id)
        if session is None or session.ended:
            return
        if self.state.kiosk_online(session.kiosk_id) and session.state in ("queued", "assigned"):
            return  # the member is there, waiting: nothing dropped
        state = "abandoned" if session.state in ("queued", "assigned") else "failed"
        await self._end(session, state, "media", "member_disconnected", changes)

    def close(self) -> None:
        """Stop every pending timer (the app is shutting down); the deadlines stay in the state."""
        for handle in getattr(self, "_timers", {}).values():
            handle.cancel()
        self._timers = {}
