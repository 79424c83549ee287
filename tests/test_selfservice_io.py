"""Self-service's files and dates, through a live server: the disk never stalls the event loop,
and dates are WIB by the service's clock (never the machine's date or time zone)."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager

import pytest

from helpers import close_all, make_room
from selfservice_helpers import JHT, png, upload
from server.appkeys import SELFSERVICE
from signaling.core.daytime import RunningClock, wib
from signaling.selfservice import files


class SlowDisk:
    """The boundary that is not ours, the disk, made slow: each call blocks its thread until the loop answers.

    A disk call made on the event loop's own thread is recorded as a stall (and
    not waited on, which would hang the loop); a call made in a worker thread
    waits until the loop has run a callback meanwhile, which proves the loop
    went on serving others while the disk was busy. Nothing here reads a clock.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.loop_thread = threading.get_ident()
        self.calls: list[str] = []
        self.on_loop: list[str] = []

    def wrap(self, name: str, fn):
        def wrapper(*args, **kwargs):
            self.calls.append(name)
            if threading.get_ident() == self.loop_thread:
                self.on_loop.append(name)
            else:
                answered = threading.Event()
                self.loop.call_soon_threadsafe(answered.set)
                assert answered.wait(30), f"{name}: the loop never answered while the disk was busy"
            return fn(*args, **kwargs)

        return wrapper

    @contextmanager
    def phase(self, *expected: str):
        """A step whose disk calls must include ``expected`` and must all run off the loop."""
        self.calls.clear()
        self.on_loop.clear()
        yield
        assert set(expected) <= set(self.calls), f"expected disk calls {expected}, saw {self.calls}"
        assert not self.on_loop, f"disk calls on the event loop's thread: {self.on_loop}"


async def test_a_slow_disk_does_not_stall_the_loop(server, monkeypatch):
    disk = SlowDisk(asyncio.get_running_loop())
    for name in ("write_atomically", "link_or_copy", "delete"):
        monkeypatch.setattr(files, name, disk.wrap(name, getattr(files, name)))
    agent, (kiosk,) = await make_room(server.url, 1)
    sid = kiosk.session_id
    ss = server.app[SELFSERVICE]
    try:
        await agent.call("form.open", {"session_id": sid})
        for field, value in JHT.items():
            await kiosk.call("form.edit", {"session_id": sid, "field": field, "value": value})
        req = await agent.call("doc.request", {"session_id": sid, "kind": "ktp"})
        # A big photo (4 MB: its bytes are hashed too) written to the slow disk.
        with disk.phase("write_atomically"):
            status, body = await upload(server.url, sid, req["request_id"], png(64, 64) + bytes(4 * 1024 * 1024))
        assert status == 201, body
        # The claim folder: the photo linked in on the slow disk.
        with disk.phase("link_or_copy"):
            ack = await agent.call("claim.submit", {"session_id": sid})
        assert ack["ok"], ack
        # Retention deletes the photo and its copy in the claim (two slow deletes).
        with disk.phase("delete"):
            assert await ss.sweep(now=server.config.clock() + 400 * 86400) == {"documents": 1, "recordings": 0}
        assert disk.calls.count("delete") == 2, disk.calls
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
