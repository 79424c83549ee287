"""The media router's declared interface: every implementation matches it, the worker's wire follows it.

:class:`signaling.core.media.MediaRouter` is the one list of commands. The
in-process router, the worker pool and the benchmark's routers must offer
exactly those (names and parameters); a media worker must accept exactly
those commands over its pipe; and the control process must be able to
name the errors that cross the seam without loading aiortc.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.instrumented import InstrumentedRouter
from bench.transcode import TranscodingRouter
from server.media import worker as worker_module
from server.media.router import Router
from server.media.workers import WorkerPool
from signaling.nodes.router import ClusterRouter
from signaling.core.errors import OfferError, WorkerError
from signaling.core.matrix import BARGE, SUPERVISOR, Participant, RoomState
from signaling.core.media import COMMANDS, conformance

IMPLEMENTATIONS = [Router, WorkerPool, TranscodingRouter, InstrumentedRouter, ClusterRouter]


@pytest.mark.parametrize("cls", IMPLEMENTATIONS, ids=lambda c: c.__name__)
def test_each_router_implements_the_protocol(cls):
    assert conformance(cls) == []


def test_the_commands_are_the_protocols_seven():
    assert COMMANDS == (
        "add_peer", "remove_peer", "set_room", "close_room", "record_start", "record_stop", "stats"
    )


def test_conformance_notices_a_missing_or_reshaped_command():
    class Lacking(Router):
        stats = None  # type: ignore[assignment]

    class Reshaped(Router):
        async def set_room(self, room: str, state) -> None:  # a renamed parameter breaks the wire
            pass

    assert any(p.startswith("stats") for p in conformance(Lacking))
    assert any(p.startswith("set_room") for p in conformance(Reshaped))


def test_the_worker_table_is_the_protocol():
    assert worker_module.COMMANDS is COMMANDS


async def test_a_worker_accepts_exactly_the_protocols_commands():
    """Over the real pipe: each declared command reaches the router; anything else is refused by name."""
    pool = WorkerPool(1, ["127.0.0.1"])
    await pool.start()
    try:
        worker = pool.workers[0]
        assert await worker.call("stats") == {"rooms": {}, "switch_latencies": []}
        for cmd in COMMANDS:
            if cmd == "stats":
                continue
            with pytest.raises(WorkerError) as caught:  # called without its arguments
                await worker.call(cmd)
            assert "unknown command" not in str(caught.value), cmd
        with pytest.raises(WorkerError, match="unknown command 'bogus'"):
            await worker.call("bogus")
        with pytest.raises(OfferError):  # refused by name across the pipe
            await pool.add_peer("r", "p", "kiosk", "not sdp")
        barge = RoomState(agent="A", tiles=("k0",) + (None,) * 5, focus=frozenset({"k0"}),
                          participants=(Participant("S", SUPERVISOR, BARGE),))
        await pool.set_room("r", barge)  # every mode is wired since issue 14 (a mixer per mixed row)
        with pytest.raises(WorkerError, match="a guest belongs to a member"):  # an impossible room, refused
            await pool.set_room("r", {"agent": "A", "participants": [{"peer": "g", "role": "guest"}]})
    finally:
        await pool.close()


def test_the_control_process_does_not_load_aiortc():
    """Importing the hub and the worker pool (which name OfferError) loads no aiortc, aioice or av."""
    code = (
        "import sys, signaling.hub, server.media.workers, signaling.core.media\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'aiortc', 'aioice', 'av'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
