"""Self-service's files and dates, through a live server: the disk never stalls the event loop,
and dates are WIB by the service's clock (never the machine's date or time zone)."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

import pytest

from helpers import close_all, make_room
from selfservice_helpers import JHT, png, upload
from server.appkeys import SELFSERVICE
from signaling.core.daytime import RunningClock, wib
from signaling.selfservice import files

#: How long the fake slow disk takes for each write, link or delete.
SLOW = 0.6
#: The longest the loop may stall while the disk is slow (the work is in a worker thread).
MAX_STALL = 0.3


@asynccontextmanager
async def loop_probe():
    """The gaps between ticks of a 20 ms timer on this (the server's) event loop, up to the block's end."""
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    last = [loop.time()]

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.02)
            now = loop.time()
            gaps.append(now - last[0] - 0.02)
            last[0] = now

    task = loop.create_task(tick())
    try:
        yield gaps
    finally:
        gaps.append(loop.time() - last[0])  # a stall at the end (or a loop that never ticked) counts too
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def slow(fn):
    """``fn`` on a disk that takes :data:`SLOW` seconds (blocking the thread that calls it)."""

    def wrapper(*args, **kwargs):
        time.sleep(SLOW)
        return fn(*args, **kwargs)

    return wrapper


async def test_a_slow_disk_does_not_stall_the_loop(server, monkeypatch):
    # The boundary that is not ours: the disk. Each write, link and delete takes SLOW seconds.
    for name in ("write_atomically", "link_or_copy", "delete"):
        monkeypatch.setattr(files, name, slow(getattr(files, name)))
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    ss = server.app[SELFSERVICE]
    try:
        await agent.call("form.open", {"session_id": sid})
        for field, value in JHT.items():
            await kiosk.call("form.edit", {"session_id": sid, "field": field, "value": value})
        req = await agent.call("doc.request", {"session_id": sid, "kind": "ktp"})
        # A big photo (4 MB: its bytes are hashed too) written to the slow disk.
        async with loop_probe() as gaps:
            status, body = await upload(server.url, sid, req["request_id"], png(64, 64) + bytes(4 * 1024 * 1024))
        assert status == 201, body
        assert max(gaps) < MAX_STALL, f"upload: the loop stalled {max(gaps):.3f} s"
        # The claim folder: the photo linked in on the slow disk.
        async with loop_probe() as gaps:
            ack = await agent.call("claim.submit", {"session_id": sid})
        assert ack["ok"], ack
        assert max(gaps) < MAX_STALL, f"claim: the loop stalled {max(gaps):.3f} s"
        # Retention deletes the photo and its copy in the claim (two slow deletes).
        async with loop_probe() as gaps:
            assert await ss.sweep(now=server.config.clock() + 400 * 86400) == {"documents": 1, "recordings": 0}
        assert max(gaps) < MAX_STALL, f"retention: the loop stalled {max(gaps):.3f} s"
    finally:
        await close_all(kiosk, agent)


#: 06:30 WIB on 1 March 2021 is still 28 February in UTC.
EARLY = wib("2021-03-01 06:30")


@pytest.mark.config(clock=RunningClock(EARLY))
async def test_dates_are_wib_by_the_services_clock(server, monkeypatch):
    # The machine's time zone is UTC and its date is not the service's: neither may count.
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    try:
        await agent.call("form.open", {"session_id": sid})
        # The day after the service's today is in the future, though long past on the machine.
        ack = await kiosk.call("form.edit", {"session_id": sid, "field": "birth_date", "value": "02-03-2021"})
        assert ack["form"]["errors"]["birth_date"]["code"] == "date_future"
        for field, value in JHT.items():
            await kiosk.call("form.edit", {"session_id": sid, "field": field, "value": value})
        ack = await agent.call("claim.submit", {"session_id": sid})
        assert ack["ok"], ack
        assert ack["reference"].startswith("JHT-20210301-"), ack["reference"]
        # The store stamps events and form saves with the service's clock too.
        events = server.app[SELFSERVICE].store.events(sid)
        assert events and all(abs(e["at"] - EARLY) < 3600 for e in events), events
        (saved,) = server.hub.storage.database.first("SELECT updated_at FROM ss_forms WHERE session_id = :s", {"s": sid})
        assert abs(saved - EARLY) < 3600
    finally:
        await close_all(kiosk, agent)
        monkeypatch.undo()
        time.tzset()


async def test_the_daily_sweep_is_owned_and_ends_with_the_server(tmp_path):
    from conftest import make_config, start_server

    srv = await start_server(make_config(tmp_path))
    ss = srv.app[SELFSERVICE]
    try:
        assert len(ss.tasks) == 1  # the daily retention sweep, waiting for its day
    finally:
        await srv.runner.cleanup()
    assert len(ss.tasks) == 0  # cancelled and awaited at shutdown
