"""Overload: while this node's event loop runs far behind, it starts no new session.

Requests, talks, holds and ends share one event loop. A node offered more
sessions than it can serve falls behind without bound: every event waits
behind the backlog, so a hold reaches the media seconds late (the member on
hold hears the agent that long) and requests time out and come again. The
remedy a contact centre expects is to keep serving the members already in a
session and to turn new ones away, clearly, until the node has caught up.

:class:`LoopLag` is the measure: how late a timer that should fire every
``interval`` seconds fires, smoothed so that one pause (a garbage
collection, a slow commit) does not count and a backlog does. Past
``enter`` seconds the node is overloaded; it is again ``leave`` seconds
after the lag fell under ``calm``. :class:`OverloadWatch` runs it on the
hub's loop and, when that changes, sets the hub's ``overloaded`` reason for
refusing new sessions (:meth:`signaling.hub.nodes.NodeEvents.set_accepting`):
a booth's request gets ``unavailable`` and every screen on this node a
``service.status`` banner, as while Redis or the records are away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

#: Weight of the newest sample in the smoothed lag.
SMOOTHING = 0.2


class LoopLag:
    """The smoothed lateness of a periodic timer, and whether it says "overloaded" (no clock of its own)."""

    def __init__(self, enter: float, *, calm: float | None = None, leave: float = 5.0) -> None:
        self.enter = enter
        self.calm = enter / 5 if calm is None else calm
        self.leave = leave
        self.lag = 0.0
        self.overloaded = False
        self._calm_since: float | None = None

    def sample(self, late: float, now: float) -> bool | None:
        """One timer fired ``late`` seconds late at ``now``; the new state if it changed, else None."""
        self.lag += SMOOTHING * (max(0.0, late) - self.lag)
        if not self.overloaded:
            if self.lag >= self.enter:
                self.overloaded, self._calm_since = True, None
                return True
            return None
        if self.lag >= self.calm:
            self._calm_since = None
            return None
        if self._calm_since is None:
            self._calm_since = now
        if now - self._calm_since >= self.leave:
            self.overloaded = False
            return False
        return None


class OverloadWatch:
    """Measures this loop's lag every ``interval`` seconds and reports each change to ``changed``."""

    def __init__(self, lag: LoopLag, changed: Callable[[bool], Awaitable[None]], interval: float = 0.1) -> None:
        self.lag = lag
        self.changed = changed
        self.interval = interval

    async def run(self) -> None:
        """Sample until cancelled (a task owned by the hub's :class:`~signaling.tasks.Tasks`)."""
        loop = asyncio.get_running_loop()
        due = loop.time() + self.interval
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            now = loop.time()
            await self.observe(now - due, now)
            due = now + self.interval

    async def observe(self, late: float, now: float) -> None:
        """One sample (tests feed these directly)."""
        change = self.lag.sample(late, now)
        if change is None:
            return
        if change:
            logger.warning("overloaded: the event loop runs %.2f s behind; no new session until it catches up",
                           self.lag.lag)
        else:
            logger.warning("caught up (the event loop runs %.2f s behind): taking new sessions again", self.lag.lag)
        await self.changed(change)
