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

from redis_engine import redis_engine, redis_url  # noqa: F401
from signaling.core.session import Session
from signaling.hub import Hub
from signaling.state.redis_state import RedisState
from test_dispatch_nodes import make_hub

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
