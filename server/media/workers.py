"""Media worker processes: the router's interface, served by child processes.

One Python process tops out at about one core (the GIL), so the control
process (HTTP, socket.io, hub, storage) keeps no media: each room is pinned
to one of N worker processes, as mediasoup pins routers to its workers.
:class:`WorkerPool` implements the same
:class:`~signaling.core.media.MediaRouter` interface as
:class:`~server.media.router.Router` and forwards each command as a JSON line
over the worker's stdin; answers and events come back on its stdout.

Wire format (one JSON object per line):
- to a worker: ``{"id": 7, "cmd": "add_peer", "args": {...}}``
- reply: ``{"id": 7, "ok": true, "result": ...}`` or
  ``{"id": 7, "ok": false, "error": {"type": "OfferError", "message": "..."}}``
- event: ``{"event": "peer.state", ...}`` (no id; see ``signaling.core.media.EVENTS``)
- first line of a worker: ``{"event": "worker.ready"}``, or
  ``{"event": "worker.failed", "error": "..."}`` before it exits
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import sys
from collections.abc import Callable

from ..lifeline import child_options
from signaling.core.errors import BY_NAME, WorkerError
from signaling.core.matrix import RoomState
from .network import MediaNetwork

logger = logging.getLogger(__name__)

LINE_LIMIT = 4 * 1024 * 1024

#: Seconds a new worker has to say ``worker.ready`` (imports aiortc, checks it).
START_TIMEOUT = 60.0


class Worker:
    """One media worker process and the commands in flight to it."""

    def __init__(
        self,
        index: int,
        ice_addresses: list[str] | None,
        on_event: Callable[[dict], None],
        router: str | None = None,
        network: MediaNetwork | None = None,
    ) -> None:
        self.index = index
        self.network = network
        self.router = router
        self.ice_addresses = ice_addresses
        self.on_event = on_event
        self.process: asyncio.subprocess.Process | None = None
        self.rooms: set[str] = set()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None
        self.stopping = False
        self.restarts = 0
        #: Called when the process ends without being asked to.
        self.on_death: Callable[["Worker"], None] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self) -> None:
        cmd = [sys.executable, "-m", "server.media.worker"]
        for address in self.ice_addresses or []:
            cmd += ["--ice-address", address]
        if self.router:
            cmd += ["--router", self.router]
        if self.network is not None and self.network.ports is not None:
            cmd += ["--rtc-ports", "%d-%d" % self.network.ports]
        for address in self.network.announce if self.network is not None else ():
            cmd += ["--announce-address", address]
        self.process = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # Dies with the control process even on kill -9 (it also exits when its stdin closes).
            **child_options(),
        )
        await self._await_ready()
        self._reader = asyncio.get_running_loop().create_task(self._read(), name=f"media worker {self.index} reader")

    async def _await_ready(self) -> None:
        """Wait for the worker's first line; raise :class:`WorkerError` with its reason if it is not ready."""
        assert self.process is not None and self.process.stdout is not None
        try:
            first = await asyncio.wait_for(self.process.stdout.readline(), START_TIMEOUT)
            message = json.loads(first) if first else {}
        except (asyncio.TimeoutError, ValueError):
            message = {}
        if message.get("event") == "worker.ready":
            return
        try:  # a worker that failed exits by itself, with its traceback on stderr
            code = await asyncio.wait_for(self.process.wait(), 10)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            code = await self.process.wait()
        raise WorkerError(
            f"media worker {self.index} did not start (exit code {code}): "
            f"{message.get('error', 'no ready line; see its output above')}"
        )

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                break
            try:
                message = json.loads(line)
            except ValueError:
                logger.warning("media worker %d wrote a non-JSON line", self.index)
                continue
            if "id" in message:
                future = self._pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            else:
                self.on_event(message)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(WorkerError(f"media worker {self.index} exited"))
        self._pending.clear()
        if not self.stopping and self.on_death is not None:
            logger.error("media worker %d (pid %s) died; restarting it", self.index, self.pid)
            self.on_death(self)

    async def call(self, cmd: str, **args):
        if self.process is None or self.process.returncode is not None:
            raise WorkerError(f"media worker {self.index} is not running")
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"id": request_id, "cmd": cmd, "args": args}).encode() + b"\n")
        await self.process.stdin.drain()
        reply = await future
        if reply.get("ok"):
            return reply.get("result")
        error = reply.get("error") or {}
        known = BY_NAME.get(error.get("type", ""))
        if known is not None:
            raise known(error.get("message", "media worker refused"))
        raise WorkerError(error.get("message", "media worker failed"))

    async def stop(self) -> None:
        self.stopping = True
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.call("shutdown"), 5)
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.process.wait(), 5)
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None


class WorkerPool:
    """The router interface, with rooms spread over ``size`` worker processes."""

    def __init__(
        self,
        size: int,
        ice_addresses: list[str] | None = None,
        router: str | None = None,
        network: MediaNetwork | None = None,
    ) -> None:
        self.size = max(1, size)
        self.ice_addresses = ice_addresses
        self.on_event: Callable[[dict], None] = lambda event: None
        self.workers = [Worker(i, ice_addresses, self._event, router, network) for i in range(self.size)]
        for worker in self.workers:
            worker.on_death = self._worker_died
        self._room_worker: dict[str, Worker] = {}
        #: Restarts in progress: kept, their failures logged, cancelled and awaited by close().
        self._tasks: set[asyncio.Task] = set()

    def _event(self, event: dict) -> None:
        self.on_event(event)

    def _worker_died(self, worker: Worker) -> None:
        """Start a new process in its place; its rooms must connect their media again."""
        task = asyncio.get_running_loop().create_task(self._restart(worker), name=f"restart media worker {worker.index}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s failed", task.get_name(), exc_info=task.exception())

    async def _restart(self, worker: Worker) -> None:
        worker.restarts += 1
        await worker.start()
        for room_id in sorted(worker.rooms):
            self.on_event({"event": "room.lost", "room": room_id})

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.pid is not None]

    async def start(self) -> None:
        await asyncio.gather(*(w.start() for w in self.workers))

    def worker_for(self, room_id: str) -> Worker:
        """The room's worker; a new room goes to the worker with fewest rooms."""
        worker = self._room_worker.get(room_id)
        if worker is None:
            worker = min(self.workers, key=lambda w: (len(w.rooms), w.index))
            worker.rooms.add(room_id)
            self._room_worker[room_id] = worker
        return worker

    async def add_peer(self, room_id: str, peer_id: str, role: str, offer_sdp: str) -> str:
        return await self.worker_for(room_id).call(
            "add_peer", room_id=room_id, peer_id=peer_id, role=role, offer_sdp=offer_sdp
        )

    async def remove_peer(self, room_id: str, peer_id: str) -> None:
        if room_id in self._room_worker:
            await self._room_worker[room_id].call("remove_peer", room_id=room_id, peer_id=peer_id)

    async def set_room(self, room_id: str, state: RoomState | dict) -> None:
        data = state.to_dict() if isinstance(state, RoomState) else state
        await self.worker_for(room_id).call("set_room", room_id=room_id, state=data)

    async def record_start(self, room_id: str, peer_id: str, path: str) -> dict:
        return await self.worker_for(room_id).call("record_start", room_id=room_id, peer_id=peer_id, path=path)

    async def record_stop(self, room_id: str, peer_id: str) -> dict:
        return await self.worker_for(room_id).call("record_stop", room_id=room_id, peer_id=peer_id)

    async def close_room(self, room_id: str) -> None:
        worker = self._room_worker.pop(room_id, None)
        if worker is not None:
            worker.rooms.discard(room_id)
            await worker.call("close_room", room_id=room_id)

    async def stats(self) -> dict:
        merged: dict = {"rooms": {}, "switch_latencies": [], "workers": []}
        for worker in self.workers:
            try:
                part = await worker.call("stats")
            except WorkerError:
                continue
            merged["rooms"].update(part["rooms"])
            merged["switch_latencies"] += part["switch_latencies"]
            merged["workers"].append({"index": worker.index, "pid": worker.pid, "rooms": sorted(worker.rooms)})
        return merged

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(w.stop() for w in self.workers))
