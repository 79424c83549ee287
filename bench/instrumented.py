"""The forwarding router as the benchmark runs it: :class:`server.media.router.Router`
plus a stats file.

A media worker answers ``stats`` only to its control process, which the
benchmark cannot reach, so this subclass writes ``Router.stats()`` (trimmed)
and a record of every routing switch to ``$LAPAK_BENCH_STATS/worker-<pid>.json``
once a second. Nothing on the per-packet path changes: the only addition is a
wrapper on ``Consumer.on_switched``, which runs once per source change.

Each switch record: ``room``, ``recipient``, ``kind``, ``latency`` (seconds from
the consumer's source change to its first forwarded packet, what
``Router.stats()["switch_latencies"]`` holds) and ``at`` (``time.monotonic()``
of that first packet; CLOCK_MONOTONIC is shared by all processes of the
machine, so the load generator can match it to the agent's ``focus.set``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time

from server.media.router import Router

STATS_ENV = "LAPAK_BENCH_STATS"


class InstrumentedRouter(Router):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.switches: list[dict] = []
        self.applies: list[dict] = []
        self._stats_dir = os.environ.get(STATS_ENV)
        self._writer: asyncio.Task | None = None

    async def add_peer(self, room_id: str, peer_id: str, role: str, offer_sdp: str) -> str:
        answer = await super().add_peer(room_id, peer_id, role, offer_sdp)
        room = self.rooms[room_id]
        peer = room.peers[peer_id]
        for consumer in peer.consumers():
            consumer.on_switched = self._recorder(room_id, consumer.on_switched)
        self._start_writer()
        return answer

    def _start_writer(self) -> None:
        if self._stats_dir and self._writer is None:
            self._writer = asyncio.create_task(self._write_forever(), name="bench stats writer")

    async def set_room(self, room_id: str, state) -> None:
        t0 = time.monotonic()
        await super().set_room(room_id, state)
        self.applies.append({"room": room_id, "at": t0, "took": time.monotonic() - t0})

    def _recorder(self, room_id: str, inner):
        def record(consumer, latency: float) -> None:
            self.switches.append(
                {"room": room_id, "recipient": consumer.recipient, "kind": consumer.kind,
                 "latency": latency, "at": time.monotonic()}
            )
            if inner is not None:
                inner(consumer, latency)

        return record

    async def _write_forever(self) -> None:
        path = os.path.join(self._stats_dir, f"worker-{os.getpid()}.json")
        while True:
            await asyncio.sleep(1.0)
            with contextlib.suppress(Exception):
                stats = await self.stats()
                data = {
                    "pid": os.getpid(),
                    "rooms": len(stats["rooms"]),
                    "switch_latencies": stats["switch_latencies"][-2000:],
                    "switches": self.switches[-5000:],
                    "applies": self.applies[-2000:],
                    "extra": self.extra_stats(),
                }
                tmp = path + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(data, f)
                os.replace(tmp, path)

    def extra_stats(self) -> dict:
        return {}

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
        await super().close()
