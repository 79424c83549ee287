"""A control-plane load-generator process: booths and agents as socket.io clients, media off.

Run by :mod:`bench.control_plane` as ``python -m bench.control_load`` with its
share of booths and agents. It connects them (the project's headless clients,
:class:`~kiosk_client.client.HeadlessKiosk` without media and
:class:`~agent_console.client.HeadlessAgent` without media), prints
``ready``, waits for ``go`` on stdin, then for ``warmup + window`` seconds:

- booths: at ``rate`` requests per second (Poisson), a random idle booth
  sends ``session.request``; the time to its ``connecting`` is a dispatch
  sample when ``connecting`` is the first state it is told (a free slot; a
  booth told ``waiting`` first had none);
- agents: each session on a tile is talked to (``session.talk``) and ended
  (``session.end``) ``talk`` seconds after it arrived.

Only what happens inside the window counts. Prints one JSON line: samples,
sessions ended, requests, errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import time

from agent_console.client import HeadlessAgent
from kiosk_client.client import HeadlessKiosk
from server.collector import settle
from signaling.tasks import Tasks

logger = logging.getLogger("bench.control_load")


class Window:
    """The measured interval, on this process's monotonic clock."""

    def __init__(self, start: float, length: float) -> None:
        self.start, self.end = start, start + length

    def __contains__(self, t: float) -> bool:
        return self.start <= t < self.end


class Booth:
    """One booth: asks, measures request → ``connecting``, and is idle again once ended."""

    def __init__(self, url: str, token: str, samples: list[float], window_of) -> None:
        self.kiosk = HeadlessKiosk(url, token, auto_media=False)
        self.kiosk.connect_timeout = 30.0  # 2,350 sockets signing in on a busy machine
        self.busy = False
        self.asked_at: float | None = None
        self.samples = samples
        self.window_of = window_of
        self.kiosk.sio.on("session.state", self.on_state, namespace="/kiosk")

    async def on_state(self, data: dict) -> None:
        state = data.get("state")
        self.kiosk.state = state
        if self.asked_at is not None and state in ("waiting", "connecting"):
            if state == "connecting" and self.asked_at in self.window_of():
                self.samples.append(time.monotonic() - self.asked_at)
            self.asked_at = None  # only the first state after a request counts
        if state in ("ended", "idle"):
            self.busy = False

    async def ask(self) -> None:
        self.busy = True
        self.asked_at = time.monotonic()
        try:
            await self.kiosk.request("jht")
        except Exception:
            self.busy = False
            self.asked_at = None
            raise


class Agent:
    """One agent console: every session that reaches a tile is talked to, then ended after ``talk`` s."""

    def __init__(self, url: str, token: str, talk: float, tasks: Tasks, ended: list[float]) -> None:
        self.console = HeadlessAgent(url, token)
        self.console.connect_timeout = 30.0
        self.talk = talk
        self.tasks = tasks
        self.ended = ended
        self.seen: set[str] = set()
        self.console.sio.on("room.state", self.on_room, namespace="/agent")

    async def on_room(self, data: dict) -> None:
        self.console.room = data
        for tile in data.get("tiles", []):
            if tile and tile["session_id"] not in self.seen:
                self.seen.add(tile["session_id"])
                self.tasks.spawn(self.serve(tile["session_id"]), name="serve a session")

    async def serve(self, session_id: str) -> None:
        await asyncio.sleep(self.talk * random.uniform(0.8, 1.2))
        await self.console.talk(session_id)
        ack = await self.console.end(session_id)
        if ack.get("ok"):
            self.ended.append(time.monotonic())


async def connect_all(clients, connect, parallel: int = 8, tries: int = 8) -> None:
    """Connect every client, ``parallel`` at a time; a refused or timed-out connect is tried again."""
    gate = asyncio.Semaphore(parallel)

    async def one(client):
        async with gate:
            for attempt in range(tries):
                try:
                    return await connect(client)
                except Exception:
                    if attempt == tries - 1:
                        raise
                    await asyncio.sleep(1 + attempt)

    await asyncio.gather(*(one(c) for c in clients))


async def run(args: argparse.Namespace) -> dict:
    tokens = json.loads(open(args.tokens).read())
    urls = args.urls.split(",")
    samples: list[float] = []
    ended: list[float] = []
    errors: list[str] = []
    tasks = Tasks("control load")
    window = Window(float("inf"), 0)
    lo, hi = (int(x) for x in args.booths.split(":"))
    booths = [Booth(urls[i % len(urls)], tokens["booths"][i], samples, lambda: window) for i in range(lo, hi)]
    lo, hi = (int(x) for x in args.agents.split(":"))
    agents = [Agent(urls[(i + 1) % len(urls)], tokens["agents"][i], args.talk, tasks, ended) for i in range(lo, hi)]
    await connect_all(agents, lambda a: a.console.connect(media=False))
    await connect_all(booths, lambda b: b.kiosk.connect())
    settle()  # as a node does: a full collection over 1,000 clients would add its pause to the samples
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "go"
    started = time.monotonic()
    window = Window(started + args.warmup, args.window)
    requests = 0
    rng = random.Random(args.seed)
    asks = Tasks("booth requests")
    try:
        while time.monotonic() < window.end:
            await asyncio.sleep(rng.expovariate(args.rate) if args.rate > 0 else 1.0)
            idle = [b for b in booths if not b.busy]
            if not idle:
                continue
            booth = rng.choice(idle)
            if time.monotonic() in window:
                requests += 1
            asks.spawn(_ask(booth, errors), name="ask")
    finally:
        await asks.close()
        await tasks.close()
    result = {
        "dispatch_s": samples,
        "ended_in_window": sum(1 for t in ended if t in window),
        "requests_in_window": requests,
        "errors": errors[:5],
        "error_count": len(errors),
    }
    sys.stdout.write(json.dumps(result) + "\n")  # the result first: leaving 2,000 sockets takes a while
    sys.stdout.flush()
    clients = [b.kiosk for b in booths] + [a.console for a in agents]
    await asyncio.wait_for(asyncio.gather(*(c.sio.disconnect() for c in clients), return_exceptions=True), 30)
    return result


async def _ask(booth: Booth, errors: list[str]) -> None:
    try:
        await booth.ask()
    except Exception as exc:
        errors.append(str(exc)[:200])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--urls", required=True, help="the nodes' URLs, comma-separated")
    p.add_argument("--tokens", required=True, help="JSON file: {booths: [...], agents: [...]}")
    p.add_argument("--booths", required=True, help="this process's booths, START:END")
    p.add_argument("--agents", required=True, help="this process's agents, START:END")
    p.add_argument("--rate", type=float, required=True, help="session requests per second from this process")
    p.add_argument("--talk", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--window", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
