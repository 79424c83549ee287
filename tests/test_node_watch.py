"""The node watch finds a dead node's leftovers without scanning the whole state on every pass.

Each pass reads the set of nodes that ever beat (``lapak:nodes``), not every
booth's and agent's presence (thousands of entries a second); the tables are
scanned at a watch's first pass and again only while some node is dead
(signaling/nodes/watch.py). These tests drive :meth:`NodeWatch.tick` by hand
on a real Redis, with a host that records what it is asked to do.
"""

from __future__ import annotations

import redis

from redis_engine import redis_engine, redis_url  # noqa: F401
from signaling.nodes.registry import NodeRegistry
from signaling.nodes.watch import NodeWatch


class Host:
    """What the watch asks of a hub, written down."""

    def __init__(self) -> None:
        self.booths: list[str] = []
        self.agents: list[str] = []
        self.graces: list[str] = []

    async def room_moved(self, agent_id: str, reason: str) -> None:
        pass

    async def booth_node_lost(self, kiosk_id: str) -> None:
        self.booths.append(kiosk_id)

    async def agent_node_lost(self, agent_id: str) -> None:
        self.agents.append(agent_id)

    def adopt_grace(self, key: str) -> None:
        self.graces.append(key)

    async def set_accepting(self, accepting: bool) -> None:
        pass


class Router:
    """No rooms served here."""

    async def fence(self) -> list[str]:
        return []


async def test_a_node_that_joins_after_the_first_pass_and_dies_has_its_booths_released(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        a = NodeRegistry(client, "node-a")
        host = Host()
        watch = NodeWatch(a, Router(), host)
        a.beat(30)
        await watch.tick(0.0)  # the first pass: nobody else yet
        b = NodeRegistry(client, "node-b")
        b.beat(30)
        client.hset("lapak:kiosks", "kiosk-9", "node-b")
        client.hset("lapak:agent:node", "agent-3", "node-b")
        client.hset("lapak:grace-node", "kiosk:kiosk-9", "node-b")
        await watch.tick(1.0)
        assert host.booths == [] and host.agents == []  # node B is alive
        b.leave()  # gone (as if its heartbeat had lapsed)
        await watch.tick(2.0)
        assert (host.booths, host.agents, host.graces) == (["kiosk-9"], ["agent-3"], ["kiosk:kiosk-9"])
        assert client.hget("lapak:kiosks", "kiosk-9") is None  # offline
        assert client.hget("lapak:grace-node", "kiosk:kiosk-9") == "node-a"
        assert a.known() == {"node-a"}  # nothing names node B now: later passes do not look for it
        await watch.tick(3.0)
        assert host.booths == ["kiosk-9"]
    finally:
        client.close()


async def test_a_node_named_in_the_state_before_this_watch_started_is_found_dead(redis_url):
    """A node that never beat since this version (only named in presence) is found by the first pass's scan."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        client.hset("lapak:kiosks", "kiosk-4", "node-old")
        a = NodeRegistry(client, "node-a")
        host = Host()
        a.beat(30)
        await NodeWatch(a, Router(), host).tick(0.0)
        assert host.booths == ["kiosk-4"]
    finally:
        client.close()


async def test_a_stall_of_the_judges_own_is_not_taken_for_another_nodes_death(redis_url):
    """Two nodes on one stalled loop (or one paused Redis): B's heartbeat lapsed in the same stall as A's.

    A judges nobody until it has beaten again and B has had a period to beat; a real death afterwards is
    still found. The clock is the test's: a stall is a jump of it between two beats."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        clock = [0.0]
        a = NodeRegistry(client, "node-a")
        b = NodeRegistry(client, "node-b")
        taken: list[str] = []

        class Taker(Host):
            async def room_moved(self, agent_id: str, reason: str) -> None:
                taken.append(agent_id)

        watch = NodeWatch(a, Router(), Taker(), heartbeat=0.25, ttl=1.0, clock=lambda: clock[0])
        b.beat(30)
        b.claim("agent-1", "node-b")
        await watch.beat(0.0)
        await watch.tick(0.1)  # the first pass: B alive, its booths scanned
        b.leave()  # B's heartbeat lapsed during a 1.5 s stall both nodes shared
        clock[0] = 1.5
        await watch.tick(1.5)  # A's pass runs first after the stall
        assert taken == [] and a.owner("agent-1") == "node-b"
        await watch.beat(1.5)  # A beats: it notices its own stall and waits for the others to beat
        await watch.tick(1.6)
        assert taken == []
        b.beat(30)  # B beats again: it was alive all along
        clock[0] = 2.0
        await watch.beat(2.0)
        await watch.tick(2.05)
        assert taken == [] and a.owner("agent-1") == "node-b"
        b.leave()  # now B really dies, while A beats on time
        for t in (2.25, 2.5):
            clock[0] = t
            await watch.beat(t)
            await watch.tick(t + 0.01)
        assert taken == ["agent-1"] and a.owner("agent-1") == "node-a"
    finally:
        client.close()
