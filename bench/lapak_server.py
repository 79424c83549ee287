"""``lapak serve`` under test, in its own process, with generated tokens for its rooms."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import time
import urllib.request
from pathlib import Path

import psutil

from server.lifeline import child_options

from .instrumented import STATS_ENV
from .procs import PYTHON, REPO, free_port


class LapakServer:
    """``lapak serve`` in its own process (the control process and its media workers)."""

    def __init__(self, workdir: Path, rooms: int, workers: int, router: str | None) -> None:
        self.workdir = workdir
        self.rooms = rooms
        self.workers = workers
        self.router = router
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stats_dir = workdir / "stats"
        self.proc: asyncio.subprocess.Process | None = None
        self.agents = [f"agent-{r}-{secrets.token_hex(6)}" for r in range(rooms)]
        self.kiosks = [[f"kiosk-{r}-{i}-{secrets.token_hex(6)}" for i in range(1, 7)] for r in range(rooms)]

    async def start(self) -> None:
        self.stats_dir.mkdir(parents=True, exist_ok=True)
        tokens = {
            "kiosks": {
                t: {"kiosk_id": f"k{r}-{i + 1}", "branch": "Bench", "booth": i + 1}
                for r, ks in enumerate(self.kiosks)
                for i, t in enumerate(ks)
            },
            "agents": {t: {"agent_id": f"a{r}", "name": f"Agent {r}", "capacity": 6} for r, t in enumerate(self.agents)},
        }
        token_file = self.workdir / "tokens.json"
        token_file.write_text(json.dumps(tokens))
        cmd = [
            PYTHON, "-m", "server.cli", "serve", "--media-workers", str(self.workers), "--tokens", str(token_file),
            "--port", str(self.port), "--data", str(self.workdir / "data"), "--ice-address", "127.0.0.1",
            "--kiosk-self-start",  # the load generator's booths request their own sessions
        ]
        if self.router:
            cmd += ["--media-router", self.router]
        self.log = open(self.workdir / "server.log", "wb")
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=str(REPO), stdout=self.log, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, STATS_ENV: str(self.stats_dir), "PYTHONUNBUFFERED": "1"}, **child_options(),
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.returncode is not None:
                raise RuntimeError(f"the server exited: see {self.workdir / 'server.log'}")
            with contextlib.suppress(Exception):
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # let the workers start

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def worker_pids(self) -> list[int]:
        with contextlib.suppress(psutil.NoSuchProcess):
            return [c.pid for c in psutil.Process(self.proc.pid).children() if "server.media.worker" in " ".join(c.cmdline())]
        return []

    def room_args(self, r: int) -> dict:
        return {"mode": "lapak", "server": self.url, "agent": self.agents[r], "kiosks": self.kiosks[r], "room": r}

    def router_stats(self) -> list[dict]:
        out = []
        for path in self.stats_dir.glob("worker-*.json"):
            with contextlib.suppress(Exception):
                out.append(json.loads(path.read_text()))
        return out

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except asyncio.TimeoutError:
                for pid in [c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)] + [self.proc.pid]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                await self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
