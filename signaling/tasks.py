"""Background tasks with an owner: kept, logged when they fail, cancelled and awaited at shutdown.

Lapak starts no task it forgets. Whoever needs work to run in the background
(a grace timer firing, a board update, a media event handled off the
router's callback) spawns it on a :class:`Tasks`, which keeps it until it
ends, logs an exception instead of losing it, and on :meth:`Tasks.close`
cancels what is still running and waits for it. ``create_app`` closes every
owner from aiohttp's ``cleanup_ctx``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class Tasks:
    """A set of running background tasks that one component owns."""

    def __init__(self, name: str = "tasks") -> None:
        self.name = name
        self._running: set[asyncio.Task] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task | None:
        """Run ``coro`` in the background; ``None`` (and the coroutine closed) once closing."""
        if self._closed:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._running.add(task)
        task.add_done_callback(self._done)
        return task

    def call_later(self, delay: float, coro_factory, name: str | None = None) -> asyncio.TimerHandle:
        """After ``delay`` seconds, spawn ``coro_factory()``; cancel the handle to call it off."""
        loop = asyncio.get_running_loop()
        return loop.call_later(delay, lambda: self.spawn(coro_factory(), name))

    def _done(self, task: asyncio.Task) -> None:
        self._running.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            logger.error("%s: background task %s failed", self.name, task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._running)

    async def close(self) -> None:
        """Cancel every running task and wait for them; nothing new starts after this."""
        self._closed = True
        running = list(self._running)
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        self._running.clear()
