"""Losing a node, draining a node, and the atomic room claim: several nodes on one real Redis.

Whole Lapak apps in this process (as tests/test_nodes.py), each with its own
hub, RedisState, media router, socket.io server and node watch, on a real
``redis-server`` (tests/redis_engine.py), with a fast heartbeat (0.25 s, dead
after 1 s). A node "dies" by :func:`crash`: its watch stops beating without
goodbye, its relay stops answering and its grace timers die with it, as a
``kill -9`` would leave them (tests/test_three_nodes.py kills real processes).
Media off: what moves is the room's ownership, the sessions' attempts and the
grace deadlines.
"""

from __future__ import annotations

import asyncio
import threading
import time

import aiohttp
import redis

from agent_console.client import HeadlessAgent
from conftest import make_config, start_server
from helpers import close_all
from kiosk_client.client import HeadlessKiosk, until
from redis_engine import redis_engine, redis_url  # noqa: F401
from server import appkeys
from server.cli import main as lapak
from signaling.nodes.registry import NodeRegistry

FAST = {"node_heartbeat": 0.25, "node_ttl": 1.0}


async def node(tmp_path, url: str, name: str, **overrides):
    return await start_server(make_config(tmp_path / name, redis_url=url, node_id=name, **FAST, **overrides))


def cluster(srv):
    return srv.app[appkeys.CLUSTER]


async def crash(srv) -> None:
    """The node stops as if killed: no more heartbeats, no answers, its timers gone; nothing said."""
    c = cluster(srv)
    for task in c.watch._tasks:
        task.cancel()
    await asyncio.gather(*c.watch._tasks, return_exceptions=True)
    c.watch = None  # its cleanup says no goodbye either
    await c.router.relay.close()
    srv.hub.close()


async def test_a_dead_nodes_room_moves_once_and_its_grace_deadline_fires_elsewhere(tmp_path, redis_url):
    a = await node(tmp_path, redis_url, "node-a", reconnect_grace=2.0)
    b = await node(tmp_path, redis_url, "node-b", reconnect_grace=2.0)
    c = await node(tmp_path, redis_url, "node-c", reconnect_grace=2.0)
    registry = cluster(a).registry
    assert registry.alive() == {"node-a", "node-b", "node-c"}
    registry.claim("agent-1", "node-b")  # the agent's room lives on node B
    agent = HeadlessAgent(a.url, "agent-token-1")
    kiosk = HeadlessKiosk(a.url, "kiosk-token-1", auto_media=False)
    gone = HeadlessKiosk(b.url, "kiosk-token-2", auto_media=False)
    try:
        await agent.connect(media=False)
        await kiosk.connect()
        first = await kiosk.request("jht")
        await kiosk.wait_state("connecting", 10)
        assert "agent-1" in cluster(b).router.served  # node A's routing reached node B's router
        assert "agent-1" not in cluster(a).router.served
        await gone.connect()
        second = await gone.request("jht")
        await until(lambda: agent.sessions() == [first, second], 10, "both on the agent's tiles")
        await gone.close()  # its grace period is armed on node B ...
        await until(lambda: registry.redis.hget("lapak:grace-node", f"session:{second}") == "node-b", 5, "grace on B")
        attempt = a.hub.state.session(first).attempt

        await crash(b)  # ... and node B dies with the timer
        died = time.monotonic()
        await until(lambda: registry.owner("agent-1") in ("node-a", "node-c"), 10, "the room taken")
        moved_after = time.monotonic() - died
        assert moved_after < 10
        assert cluster(a).watch.taken + cluster(c).watch.taken == ["agent-1"]  # taken once
        new = registry.owner("agent-1")
        assert "agent-1" in cluster(a if new == "node-a" else c).router.served
        # The same session, one new media attempt, told to its booth on node A.
        await until(lambda: kiosk.states[-1].get("attempt") == attempt + 1, 5, "the new attempt on the booth")
        assert a.hub.state.session(first).attempt == attempt + 1
        assert [s.get("attempt") for s in kiosk.states].count(attempt + 1) == 1
        # Node B's grace deadline fires on a live node: the booth that left is ended there.
        await until(lambda: a.hub.state.session(second).ended, 6, "the adopted grace fired")
        ended = a.hub.state.session(second)
        assert (ended.state, ended.reason) == ("abandoned", "member_disconnected")
        records = [srv.hub.storage.transitions(second) for srv in (a, b, c)]
        assert sum(1 for r in records if r and r[-1][1] == "abandoned") == 1  # stored once, by the adopter
        assert a.hub.state.session(first).state == "assigned"  # the first session goes on
    finally:
        await close_all(kiosk, agent)
        for srv in (a, b, c):
            await srv.runner.cleanup()


async def test_an_agent_whose_node_dies_is_away_at_once_and_its_member_waits_again(tmp_path, redis_url, caplog):
    """The console's socket and the room were on node B: a live node marks the agent away (its room told),
    and when the agent's grace ends there its member goes back to the queue. No pass of a watch fails."""
    a = await node(tmp_path, redis_url, "node-a", reconnect_grace=1.0)
    b = await node(tmp_path, redis_url, "node-b", reconnect_grace=1.0)
    agent = HeadlessAgent(b.url, "agent-token-1")
    kiosk = HeadlessKiosk(a.url, "kiosk-token-1", auto_media=False)
    try:
        await agent.connect(media=False)  # the console and the room on node B
        assert cluster(a).registry.owner("agent-1") == "node-b"
        await kiosk.connect()
        session_id = await kiosk.request("jht")
        await kiosk.wait_state("connecting", 10)
        await crash(b)
        await until(lambda: not a.hub.state.agent("agent-1").online, 10, "the agent away")
        await kiosk.wait_state("waiting", 10)  # the agent's grace ended on node A: back in the queue
        session = a.hub.state.session(session_id)
        assert (session.state, session.agent_id, session.reason) == ("queued", None, "agent_lost")
        failed = [r for r in caplog.records if r.name.startswith("signaling") and r.levelname == "ERROR"]
        assert failed == [], [r.getMessage() for r in failed]
    finally:
        await close_all(kiosk, agent)
        await a.runner.cleanup()
        await b.runner.cleanup()


def test_a_dead_nodes_rooms_are_taken_by_one_node_each_under_a_race(redis_url):
    """Many nodes take the rooms of one dead node at once, on threads: each room is taken exactly once."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    dead = NodeRegistry(client, "node-dead")
    rooms = [f"agent-{i}" for i in range(200)]
    for room in rooms:
        dead.claim(room, "node-dead")
    takers = 6
    barrier = threading.Barrier(takers)
    won: list[list[str]] = [[] for _ in range(takers)]

    def take(n: int) -> None:
        mine = NodeRegistry(redis.Redis.from_url(redis_url, decode_responses=True), f"node-{n}")
        barrier.wait()
        for room in rooms:
            if mine.take(room, "node-dead"):
                won[n].append(room)
        mine.redis.close()

    threads = [threading.Thread(target=take, args=(n,)) for n in range(takers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [room for w in won for room in w]
    assert sorted(taken) == sorted(rooms)  # every room taken, none twice
    owners = dead.rooms()
    assert all(owners[room] == f"node-{n}" for n, w in enumerate(won) for room in w)
    # A live node's room is never taken.
    dead.beat(5.0)
    dead.redis.hset("lapak:rooms", "agent-live", "node-dead")
    assert not NodeRegistry(client, "node-x").take("agent-live", "node-dead")
    client.close()


async def test_drain_moves_a_nodes_rooms_and_it_takes_no_new_ones(tmp_path, redis_url):
    a = await node(tmp_path, redis_url, "node-a")
    b = await node(tmp_path, redis_url, "node-b")
    registry = cluster(b).registry
    agent = HeadlessAgent(a.url, "agent-token-1")
    kiosk = HeadlessKiosk(b.url, "kiosk-token-1", auto_media=False)
    late = HeadlessAgent(a.url, "agent-token-2")
    try:
        await agent.connect(media=False)  # the agent's room is claimed by its node, A
        assert registry.owner("agent-1") == "node-a"
        await kiosk.connect()
        session_id = await kiosk.request("jht")
        await kiosk.wait_state("connecting", 10)
        attempt = b.hub.state.session(session_id).attempt
        assert await asyncio.to_thread(lapak, ["drain", "--redis", redis_url, "--node-id", "node-a", "--wait",
                                               "--timeout", "10"]) == 0
        assert registry.owner("agent-1") == "node-b"
        assert cluster(a).watch.handed == ["agent-1"]
        await until(lambda: "agent-1" not in cluster(a).router.served, 5, "node A's copy closed")
        await until(lambda: kiosk.states[-1].get("attempt") == attempt + 1, 5, "the booth told to offer again")
        async with aiohttp.ClientSession() as http:
            async with http.get(a.url + "/healthz") as r:
                assert r.status == 503 and (await r.json())["draining"] is True
            async with http.get(b.url + "/healthz") as r:
                assert r.status == 200
        await late.connect(media=False)  # a new agent on the draining node: the room goes elsewhere
        assert registry.owner("agent-2") == "node-b"
        assert lapak(["drain", "--redis", redis_url, "--node-id", "node-a", "--undo"]) == 0
        async with aiohttp.ClientSession() as http:
            async with http.get(a.url + "/healthz") as r:
                assert r.status == 200
    finally:
        await close_all(kiosk, agent, late)
        await a.runner.cleanup()
        await b.runner.cleanup()
