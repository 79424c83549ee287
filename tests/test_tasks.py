"""Background tasks are kept, their failures logged, and closing cancels and awaits them."""

from __future__ import annotations

import asyncio
import logging

from signaling.tasks import Tasks


async def test_a_failing_task_is_logged_not_lost(caplog):
    tasks = Tasks("test")

    async def boom():
        raise RuntimeError("kaboom")

    with caplog.at_level(logging.ERROR, logger="signaling.tasks"):
        tasks.spawn(boom(), "boom")
        await asyncio.sleep(0.01)
    assert "kaboom" in caplog.text and len(tasks) == 0
    await tasks.close()


async def test_close_cancels_and_awaits_and_refuses_new_work():
    tasks = Tasks("test")
    finished = []

    async def forever():
        try:
            await asyncio.sleep(3600)
        finally:
            finished.append("cleaned up")

    tasks.spawn(forever())
    await asyncio.sleep(0)
    assert len(tasks) == 1
    await tasks.close()
    assert finished == ["cleaned up"] and len(tasks) == 0

    async def late():
        finished.append("ran")

    assert tasks.spawn(late()) is None
    await asyncio.sleep(0.01)
    assert finished == ["cleaned up"]


async def test_call_later_spawns_an_owned_task():
    tasks = Tasks("test")
    ran = asyncio.Event()

    async def fire():
        ran.set()

    tasks.call_later(0.01, fire)
    await asyncio.wait_for(ran.wait(), 2)
    await tasks.close()
