"""Dispatch across nodes: never a session on two tiles, never an agent over capacity, oldest first.

Several hubs, each on its own thread with its own event loop, its own
:class:`~signaling.state.redis_state.RedisState` and its own SQLite records,
share one real Redis (tests/redis_engine.py), as several ``lapak serve``
processes would. Threads make the race real: each hub's Redis calls release
the GIL, so one node's read of the agents and its taking of a slot are
interleaved with the others'. Screens and media are stubs (no socket, no
router): only the hubs' commands and the shared state are exercised.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter

import redis

from conftest import make_config
from redis_engine import redis_engine, redis_url  # noqa: F401
from server.storage import Storage
from signaling.core.vocabulary import AgentIdentity, KioskIdentity
from signaling.hub import Hub
from signaling.state.redis_state import RedisState

NODES = 3
AGENTS = 6
CAPACITY = 3
BOOTHS = 45


class NoRouter:
    """The media router's commands, doing nothing (media is not what is tested here)."""

    async def set_room(self, room_id, state):
        await asyncio.sleep(0)

    async def remove_peer(self, room_id, peer_id):
        await asyncio.sleep(0)

    async def close_room(self, room_id):
        await asyncio.sleep(0)


async def no_emit(*args, **kwargs):
    await asyncio.sleep(0)


def make_hub(tmp_path, url: str, n: int) -> Hub:
    config = make_config(tmp_path / f"node-{n}", kiosks=BOOTHS, agents=0)
    storage = Storage(tmp_path / f"node-{n}" / "lapak.sqlite3", clock=config.clock)
    return Hub(config, storage, NoRouter(), no_emit, state=RedisState(url), node=f"node-{n}")


def kiosk(i: int) -> KioskIdentity:
    return KioskIdentity(f"kiosk-{i}", branch="Jakarta Pusat", booth=i)


def agent(i: int) -> AgentIdentity:
    return AgentIdentity(f"agent-{i}", capacity=CAPACITY)


def run_nodes(tmp_path, url: str, work) -> None:
    """Run ``work(hub, n, barrier)`` on ``NODES`` hubs at once, each made on its own thread and loop."""
    barrier = threading.Barrier(NODES)
    failures: list[BaseException] = []

    def node(n: int) -> None:
        hub = make_hub(tmp_path, url, n)  # SQLite wants its own thread
        try:
            asyncio.run(work(hub, n, barrier))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            failures.append(exc)
            barrier.abort()
        finally:
            hub.state.close()
            hub.storage.close()

    threads = [threading.Thread(target=node, args=(n,)) for n in range(NODES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures


def check_tiles(url: str) -> Counter:
    """No session on two tiles, no agent over capacity; returns sessions per agent."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        tiles = client.hgetall("lapak:agent:tiles")
    finally:
        client.close()
    on_tiles = Counter(tiles.values())
    twice = [s for s, count in on_tiles.items() if count > 1]
    assert not twice, f"sessions on two tiles: {twice}"
    per_agent = Counter(field.rpartition("#")[0] for field in tiles)
    over = {a: c for a, c in per_agent.items() if c > CAPACITY}
    assert not over, f"agents over capacity: {over}"
    return per_agent


def test_concurrent_requests_on_three_nodes_never_assign_twice_nor_overfill(tmp_path, redis_url):
    samples: list[Counter] = []

    async def work(hub: Hub, n: int, barrier: threading.Barrier) -> None:
        mine = [i for i in range(1, BOOTHS + 1) if i % NODES == n]
        for i in mine:
            await hub.kiosk_connected(kiosk(i))
        barrier.wait()
        # Agents sign in on every node while booths on every node ask at once.
        agents = [i for i in range(1, AGENTS + 1) if i % NODES == n]
        jobs = [hub.start_session(kiosk(i), "jht", "id", f"kiosk:kiosk-{i}") for i in mine]
        jobs += [hub.agent_connected(agent(i)) for i in agents]
        random.Random(n).shuffle(jobs)
        await asyncio.gather(*jobs)
        barrier.wait()
        samples.append(check_tiles(redis_url))
        # Agents end sessions on every node at once; each end refills the tile from the shared queue.
        for _ in range(3):
            for i in agents:
                record = hub.state.agent(f"agent-{i}")
                for session_id in record.sessions[:2]:
                    await hub.end_session(agent(i), session_id, "resolved", "")
            samples.append(check_tiles(redis_url))
        barrier.wait()
        await hub.dispatch()

    run_nodes(tmp_path, redis_url, work)
    state = RedisState(redis_url)
    try:
        per_agent = check_tiles(redis_url)
        ended = sum(1 for s in state.sessions() if s.ended)
        assert ended > 0 and not state.queued() or sum(per_agent.values()) == AGENTS * CAPACITY
        # Every session is ended, on exactly one tile, or still waiting: none lost between nodes.
        assert sum(per_agent.values()) == min(AGENTS * CAPACITY, BOOTHS - ended)
        for record in state.agents():
            for tile, session_id in enumerate(record.tiles, start=1):
                if session_id is not None:
                    s = state.session(session_id)
                    assert (s.state, s.agent_id, s.tile) == ("assigned", record.agent_id, tile), s
        queued = {s.session_id for s in state.queued()}
        assigned = {s.session_id for s in state.sessions() if s.state == "assigned"}
        assert not queued & assigned
        assert len(samples) == NODES * 4
    finally:
        state.close()


def test_oldest_first_across_nodes_and_services(tmp_path, redis_url):
    """Members queued alternately on two nodes, for two services, are served in the order they came."""
    a, b = make_hub(tmp_path, redis_url, 0), make_hub(tmp_path, redis_url, 1)

    async def scenario() -> list[str]:
        clock = a.config.clock
        b.config.clock = clock  # one service clock for both nodes
        await a.agent_connected(AgentIdentity("agent-1", capacity=1))
        started = []
        for i in range(1, 7):
            hub = a if i % 2 else b
            await hub.kiosk_connected(kiosk(i))
            session = await hub.start_session(kiosk(i), "jht" if i % 3 else "info", "id", "officer")
            started.append(session.session_id)
            clock.set(clock() + 1)  # each comes a second after the last
        served = [started[0]]  # the first took the only slot at once
        for turn in range(5):
            hub = b if turn % 2 else a  # the agent's end arrives on either node
            current = hub.state.agent("agent-1").sessions[0]
            await hub.end_session(AgentIdentity("agent-1", capacity=1), current, "resolved", "")
            served.append(hub.state.agent("agent-1").sessions[0])
        return started, served

    try:
        started, served = asyncio.run(scenario())
        assert served == started
    finally:
        for hub in (a, b):
            hub.state.close()
            hub.storage.close()
