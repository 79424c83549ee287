"""Session records across nodes: two nodes writing one session never undo each other's transitions.

A session is changed by its booth's node and its agent's node; the Redis state
stores it by compare-and-set on a version (docs/architecture.md, "Session
records across nodes"). Hubs on threads share one real Redis
(tests/redis_engine.py), each with its own event loop, RedisState and SQLite
records, as in tests/test_dispatch_nodes.py; no sockets, no media.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

from conftest import make_config
from redis_engine import redis_engine, redis_url  # noqa: F401
from server.storage import Storage
from signaling.core.session import Session
from signaling.hub import Hub
from signaling.state.redis_state import RedisState
from test_dispatch_nodes import NoRouter, make_hub, no_emit

ROUNDS = 300


def a_session(url: str, state: str = "connecting") -> str:
    store = RedisState(url)
    try:
        store.put_session(Session("s-1", "kiosk-1", "Jakarta Pusat", 1, "jht", state=state, agent_id="agent-1", tile=1,
                                  attempt=1))
    finally:
        store.close()
    return "s-1"


def moves(hub: Hub, session_id: str) -> Counter:
    return Counter((f, t) for f, t, _, _ in hub.storage.transitions(session_id))


def test_a_stale_write_of_another_field_keeps_the_other_nodes_move(tmp_path, redis_url):
    sid = a_session(redis_url)
    a, b = make_hub(tmp_path, redis_url, 1), make_hub(tmp_path, redis_url, 2)
    try:
        stale = a.state.session(sid)  # node A reads "connecting", attempt 1
        fresh = b.state.session(sid)
        b._move(fresh, "active", "media", "media connected")  # node B: the media connected
        stale.talking = True  # node A: the agent's talk set changed (as HubCore._route writes it)
        a.state.put_session(stale)
        stored = b.state.session(sid)
        assert (stored.state, stored.attempt, stored.talking) == ("active", 1, True)
        assert (stale.state, stale.talking) == ("active", True)  # A's object holds the merged record

        # Both nodes decide the same move from one reading: it is stored once.
        again = a.state.session(sid)
        late = b.state.session(sid)
        b._new_attempt(again, "node-b", "room moved")
        a._move(late, "connecting", "node-a", "room moved")
        assert (late.state, late.attempt) == ("connecting", 2)
        assert moves(a, sid) + moves(b, sid) == Counter({("connecting", "active"): 1, ("active", "connecting"): 1})
    finally:
        for hub in (a, b):
            hub.state.close()
            hub.storage.close()


def test_two_nodes_writing_one_session_at_once_lose_no_transition(tmp_path, redis_url):
    """Node 1 answers "media connected" and writes quality; node 2 starts new attempts and writes the talk set.

    Each writes on what it read, often stale. Every stored move must be one
    the shared record really made: as many ``active`` as ``connecting``
    moves (one more when it ends active), one attempt per new attempt.
    """
    sid = a_session(redis_url)
    hubs: dict[int, Hub] = {}
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    async def media_node(hub: Hub) -> None:
        for i in range(ROUNDS):
            session = hub.state.session(sid)
            if session.state == "connecting":
                hub._move(session, "active", "media", "media connected")
            else:
                session.network = {"level": "good", "round": i}
                hub.state.put_session(session)
            await asyncio.sleep(0)

    async def agent_node(hub: Hub) -> None:
        for _ in range(ROUNDS):
            session = hub.state.session(sid)
            if session.state == "active":
                hub._new_attempt(session, "node-2", "room moved")
            else:
                session.talking = not session.talking
                hub.state.put_session(session)
            await asyncio.sleep(0)

    def node(n: int, work) -> None:
        try:
            hubs[n] = hub = make_hub(tmp_path, redis_url, n)  # on its thread: SQLite wants it
            barrier.wait()
            asyncio.run(work(hub))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=node, args=(1, media_node)), threading.Thread(target=node, args=(2, agent_node))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert not failures, failures
        stored = hubs[1].state.session(sid)
        made = moves(hubs[1], sid) + moves(hubs[2], sid)
        actives, restarts = made[("connecting", "active")], made[("active", "connecting")]
        assert set(made) <= {("connecting", "active"), ("active", "connecting")}, made
        assert actives == restarts + (stored.state == "active"), (made, stored.state)
        assert stored.attempt == 1 + restarts, (stored.attempt, made)
        assert restarts > 10, made  # the nodes really raced
    finally:
        for hub in hubs.values():
            hub.state.close()
            hub.storage.close()


async def test_only_the_first_node_on_an_empty_state_restores_the_shared_records(tmp_path, redis_url, pg_url):
    """Nodes on one PostgreSQL: the records' open sessions are loaded once, and never over a live state."""
    records = Storage(pg_url)
    waiting = Session("s-old", "kiosk-1", "Jakarta Pusat", 1, "jht", created_at=100.0)
    records.save(waiting, None, "kiosk:kiosk-1", "session started")  # "requested" when the cluster stopped
    records.close()

    def node(n: int) -> Hub:
        config = make_config(tmp_path / f"node-{n}", kiosks=2, agents=0)
        return Hub(config, Storage(pg_url, clock=config.clock), NoRouter(), no_emit, state=RedisState(redis_url),
                   node=f"node-{n}")

    first, second = node(1), node(2)
    hubs = [first, second]
    try:
        await first.restore()
        await second.restore()  # started at the same time: finds the work claimed
        assert [s.session_id for s in second.state.queued()] == ["s-old"]
        steps = [(f, t) for f, t, _, _ in first.storage.transitions("s-old")]
        assert steps == [(None, "requested"), ("requested", "queued")]  # restored once, not twice

        live = second.state.session("s-old")
        second._move(live, "cancelled", "kiosk:kiosk-1", "member_cancelled")  # the live state moves on
        second.state.dequeue("s-old")
        first.close()
        hubs.append(again := node(1))  # node 1 restarted with the same id beside a live node
        await again.restore()
        assert again.state.session("s-old").state == "cancelled"
        assert again.state.queued() == []
        fresh = Session("s-live", "kiosk-2", "Jakarta Pusat", 2, "jht", created_at=200.0)
        second.state.put_session(fresh)
        second.storage.save(fresh, None, "kiosk:kiosk-2", "session started")
        second._move(fresh, "queued", "dispatcher")
        second.state.enqueue(fresh)
        again.state.redis.delete("lapak:restored")  # a live state from before the claim was recorded
        hubs.append(third := node(3))
        await third.restore()
        assert third.state.session("s-old").state == "cancelled"
        assert [(f, t) for f, t, _, _ in third.storage.transitions("s-live")] == [(None, "requested"), ("requested", "queued")]
        # Two nodes claiming an empty state at the same moment: one restores.
        claims = [RedisState(redis_url, prefix="empty:") for _ in range(2)]
        assert [c.claim_restore(f"node-{n}") for n, c in enumerate(claims)] == [True, False]
        for c in claims:
            c.close()
    finally:
        for hub in hubs:
            hub.close()
            hub.state.close()
            hub.storage.close()
