"""The benchmark's side of a load-generator process: JSON-line commands, replies matched by id."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from pathlib import Path

from server.lifeline import child_options

from .procs import PYTHON, REPO


class LoadGen:
    """One load-generator process (:mod:`bench.loadgen`)."""

    def __init__(self, index: int, clips: Path, ice: list[str], log: Path) -> None:
        self.index = index
        self.clips = clips
        self.ice = ice
        self.logpath = log
        self.proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self.rooms = 0
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        cmd = [PYTHON, "-m", "bench.loadgen", "--clips", str(self.clips)]
        for a in self.ice:
            cmd += ["--ice-address", a]
        self.log = open(self.logpath, "wb")
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=str(REPO), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=self.log,
            limit=1 << 24, **child_options(),
        )
        self._reader = asyncio.create_task(self._read(), name=f"load generator {self.index}: replies")

    async def _read(self) -> None:
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            msg = json.loads(line)
            fut = self._pending.pop(msg.get("id"), None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(RuntimeError(f"load generator {self.index} exited (see {self.logpath})"))

    async def call(self, cmd: str, timeout: float = 180, **args):
        rid = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self.proc.stdin.write(json.dumps({"id": rid, "cmd": cmd, "args": args}).encode() + b"\n")
        await self.proc.stdin.drain()
        msg = await asyncio.wait_for(fut, timeout)
        if not msg.get("ok"):
            raise RuntimeError(f"load generator {self.index}: {cmd}: {msg.get('error')}")
        return msg.get("result")

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def stop(self) -> None:
        """Ask the process to close its rooms, end it, and stop reading its replies."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await self.call("close", timeout=20)
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        if getattr(self, "log", None):
            self.log.close()


async def start_generators(count: int, clips: Path, ice: list[str], workdir: Path, tag: str) -> list[LoadGen]:
    gens = [LoadGen(i, clips, ice, workdir / f"loadgen-{tag}-{i}.log") for i in range(count)]
    await asyncio.gather(*(g.start() for g in gens))
    return gens
