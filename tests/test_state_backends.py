"""The State interface, the same cases against both implementations: in memory and in a real Redis.

Each case runs on :class:`~signaling.state.memory.MemoryState` and on
:class:`~signaling.state.redis_state.RedisState` (a ``redis-server`` the
harness starts, tests/redis_engine.py). Records read from Redis are copies,
so every case writes back what it changed, as the hub does.
"""

from __future__ import annotations

import pytest

from redis_engine import redis_engine, redis_url  # noqa: F401
from signaling.core.session import Session
from signaling.core.vocabulary import AgentIdentity
from signaling.state.base import AgentRecord
from signaling.state.memory import MemoryState
from signaling.state.redis_state import RedisState, StateUnavailable
from signaling.state.codec import decode_identity, encode_identity


@pytest.fixture(params=["memory", "redis"])
def state(request, redis_engine):
    if request.param == "memory":
        yield MemoryState()
        return
    redis_engine.flush()
    st = RedisState(redis_engine.url)
    yield st
    st.close()


def session(n: int, service: str = "jht", queued_at: float | None = None, kiosk: str | None = None) -> Session:
    return Session(f"s{n}", kiosk or f"k{n}", "b", 1, service, state="queued", created_at=100.0 + n,
                   updated_at=100.0 + n, queued_at=queued_at)


def online_agent(state, agent_id: str, capacity: int = 6, skills=None) -> AgentRecord:
    agent = AgentRecord(AgentIdentity(agent_id, capacity=capacity, skills=skills), node="n1")
    state.put_agent(agent)
    return state.agent(agent_id)


def test_sessions_round_trip_and_the_open_one_per_booth(state):
    s = session(1, queued_at=5.0)
    s.note, s.attempt, s.talking = "catatan", 2, True
    state.put_session(s)
    got = state.session("s1")
    assert got == s and got is not None
    assert state.open_session_of("k1") == s
    got.state = "cancelled"
    state.put_session(got)
    assert state.open_session_of("k1") is None
    assert state.session("s1").state == "cancelled"
    assert [x.session_id for x in state.sessions()] == ["s1"]
    assert state.session("nope") is None
    state.put_session(session(2))
    assert [x.session_id if x else None for x in state.sessions_of(["s2", "nope", "s1"])] == ["s2", None, "s1"]
    assert state.sessions_of(["s1"]) == [state.session("s1")] and state.sessions_of([]) == []


def test_an_ended_session_written_again_does_not_hide_the_booths_new_one(state):
    """A rating stored on yesterday's session after today's started (put_session of an ended one)."""
    old = session(1, kiosk="k1")
    old.state = "closed"
    state.put_session(old)
    new = session(2, kiosk="k1")
    state.put_session(new)
    old.rating = 5
    state.put_session(old)
    assert state.open_session_of("k1") == new
    assert state.open_session_of("k2") is None
    new.state = "abandoned"
    state.put_session(new)
    assert state.open_session_of("k1") is None


def test_agents_round_trip(state):
    skills = frozenset({"jht", "jkk"})
    agent = AgentRecord(AgentIdentity("a1", name="Sari", capacity=4, skills=skills, username="sari"), node="n1")
    agent.tiles[2] = "s9"
    agent.focus = {"s9"}
    agent.availability = "away"
    agent.last_assigned_at = 12.5
    state.put_agent(agent)
    got = state.agent("a1")
    assert got.identity == agent.identity and got.node == "n1" and got.tiles == agent.tiles
    assert got.focus == {"s9"} and got.availability == "away" and got.last_assigned_at == 12.5
    got.node = None
    state.put_agent(got)
    assert not state.agent("a1").online
    assert [a.agent_id for a in state.agents()] == ["a1"]
    assert state.agent("nobody") is None
    assert decode_identity(encode_identity(agent.identity)) == agent.identity


def test_queue_is_oldest_first_across_services_with_positions(state):
    for n, service, at in ((1, "jht", 30.0), (2, "jkk", 10.0), (3, "jht", 20.0)):
        s = session(n, service, at)
        state.put_session(s)
        state.enqueue(s)
    assert [s.session_id for s in state.queued()] == ["s2", "s3", "s1"]
    assert [s.session_id for s in state.waiting("jht")] == ["s3", "s1"]
    assert state.queue_position(state.session("s1")) == 2
    state.dequeue("s3")
    assert state.queue_position(state.session("s1")) == 1
    assert state.queue_position(state.session("s3")) is None


def test_handling_times_and_estimates(state):
    assert state.mean_handling("jht") == 480
    assert state.estimate(3, "jht", 0) is None
    for seconds in (60.0, 120.0, 180.0):
        state.record_handling("jht", seconds)
    state.record_handling("jht", 0)  # ignored
    assert state.mean_handling("jht") == 120.0
    assert state.mean_handling("info") == 120.0  # too few of its own: every service's
    assert state.estimate(2, "jht", 4) == 60


def test_presence_help_and_graces(state):
    state.set_kiosk_node("k1", "n1")
    assert state.kiosk_online("k1") and state.online_kiosks() == ["k1"]
    state.set_kiosk_node("k1", None)
    assert not state.kiosk_online("k1")
    assert state.call_help("k1", 5.0) == 5.0
    assert state.call_help("k1", 9.0) == 5.0  # the first call stands
    assert state.help_since("k1") == 5.0
    state.answer_help("k1")
    assert state.help_since("k1") is None
    assert state.set_grace("session:s1", 70.0)
    assert not state.set_grace("session:s1", 80.0)
    assert state.grace("session:s1") == 70.0
    assert state.clear_grace("session:s1") and not state.clear_grace("session:s1")
    assert state.grace("session:s1") is None


def test_assign_takes_a_slot_once_and_never_beyond_capacity(state):
    online_agent(state, "a1", capacity=2)
    for n in (1, 2, 3):
        s = session(n, queued_at=float(n))
        state.put_session(s)
        state.enqueue(s)
    assert state.assign("s1", "a1", 50.0) == 1
    assert state.assign("s1", "a1", 51.0) is None  # not waiting any more: never twice
    assert state.assign("s2", "a1", 52.0) == 2
    assert state.assign("s3", "a1", 53.0) is None  # full
    agent = state.agent("a1")
    assert agent.tiles[:3] == ["s1", "s2", None] and agent.last_assigned_at == 52.0
    assert [s.session_id for s in state.queued()] == ["s3"]
    agent.tiles[0] = None  # s1 ends
    state.put_agent(agent)
    assert state.assign("s3", "a1", 54.0) == 1


def test_assign_refuses_an_away_or_offline_agent(state):
    agent = online_agent(state, "a1")
    s = session(1, queued_at=1.0)
    state.put_session(s)
    state.enqueue(s)
    agent.availability = "away"
    state.put_agent(agent)
    assert state.assign("s1", "a1", 1.0) is None
    agent = state.agent("a1")
    agent.availability, agent.node = "available", None
    state.put_agent(agent)
    assert state.assign("s1", "a1", 1.0) is None
    assert state.assign("s1", "nobody", 1.0) is None
    assert [s.session_id for s in state.queued()] == ["s1"]


def test_loads_are_the_agents_who_can_take_work_now_as_agents_says(state):
    """``loads`` (what dispatch reads) agrees with every agent's ``load()``, keeping only those who can take work."""
    online_agent(state, "a1", capacity=2)
    online_agent(state, "a2", capacity=3, skills=frozenset({"jkk"}))
    online_agent(state, "a3")  # goes away
    online_agent(state, "a4")  # goes offline
    online_agent(state, "a5", capacity=1)  # fills up
    for n, agent_id in ((1, "a1"), (2, "a5"), (3, "a2")):
        s = session(n, queued_at=float(n))
        state.put_session(s)
        state.enqueue(s)
        assert state.assign(s.session_id, agent_id, 10.0 + n)
    away, gone = state.agent("a3"), state.agent("a4")
    away.availability, gone.node = "away", None
    state.put_agent(away)
    state.put_agent(gone)
    expected = {a.agent_id: a.load() for a in state.agents() if a.load().available and a.load().free > 0}
    assert {load.agent_id: load for load in state.loads()} == expected
    assert sorted(expected) == ["a1", "a2"]
    assert expected["a1"].in_progress == 1 and expected["a1"].last_assigned_at == 11.0
    assert expected["a2"].skills == frozenset({"jkk"}) and expected["a2"].free == 2


def test_booths_reads_a_branch_as_the_single_reads_do(state):
    """``booths`` (a branch board's one read) agrees with kiosk_online, open_session_of and help_since."""
    state.set_kiosk_node("k1", "n1")
    state.set_kiosk_node("k2", "n1")
    s1, old = session(1, kiosk="k1"), session(2, kiosk="k2")
    state.put_session(s1)
    old.state = "closed"
    state.put_session(old)
    state.call_help("k2", 7.0)
    state.call_help("k3", 9.0)
    ids = ["k1", "k2", "k3", "k4"]
    assert state.booths(ids) == [(state.kiosk_online(k), state.open_session_of(k), state.help_since(k)) for k in ids]
    assert state.booths(ids) == [(True, s1, None), (True, None, 7.0), (False, None, 9.0), (False, None, None)]
    assert state.booths([]) == []
    assert state.kiosks_online(ids) == [state.kiosk_online(k) for k in ids] == [True, True, False, False]
    assert state.kiosks_online([]) == []


def test_two_nodes_writing_one_agent_keep_each_others_changes(redis_url):
    """Node A changes the focus, node B the availability, from records read before either wrote."""
    a, b = RedisState(redis_url), RedisState(redis_url)
    try:
        online_agent(a, "a1")
        s1 = session(1, queued_at=1.0)
        a.put_session(s1)
        a.enqueue(s1)
        seen_a, seen_b = a.agent("a1"), b.agent("a1")
        assert b.assign("s1", "a1", 2.0) == 1  # node B takes a slot meanwhile
        seen_a.focus = {"s1"}
        a.put_agent(seen_a)
        seen_b.availability = "away"
        b.put_agent(seen_b)
        final = a.agent("a1")
        assert final.focus == {"s1"} and final.availability == "away"
        assert final.tiles[0] == "s1", "a stale record wrote over the slot another node took"
        seen_b.tiles[0] = "s-stale"  # a stale tile write is refused, and the record corrected
        b.put_agent(seen_b)
        assert a.agent("a1").tiles[0] == "s1" and seen_b.tiles[0] == "s1"
    finally:
        a.close()
        b.close()


def test_an_unreachable_redis_is_named_with_its_address():
    with pytest.raises(StateUnavailable, match=r"Redis at redis://127\.0\.0\.1:1/0 is unreachable"):
        RedisState("redis://127.0.0.1:1/0")


def test_commit_room_numbers_each_read_of_the_room_higher_than_the_last(state):
    agent = online_agent(state, "a1")
    first = state.commit_room(agent)
    agent.focus = set()
    second = state.commit_room(agent)
    assert second > first >= 1
    other = online_agent(state, "a2")
    assert state.commit_room(other) >= 1  # each agent has its own numbers


def test_commit_room_reads_back_what_another_node_changed_meanwhile(redis_url):
    """Node A routes from a record read before node B put s1 on hold: what A routes is B's hold, numbered
    after B's routing, never A's stale talk set."""
    a, b = RedisState(redis_url), RedisState(redis_url)
    try:
        online_agent(a, "a1")
        for n in (1, 2):
            s = session(n, queued_at=float(n))
            a.put_session(s)
            a.enqueue(s)
            assert a.assign(s.session_id, "a1", 3.0) == n
        talking = a.agent("a1")
        talking.focus = {"s1"}
        a.commit_room(talking)
        seen_a, seen_b = a.agent("a1"), b.agent("a1")  # both read: talking to s1
        seen_b.focus = {"s2"}  # node B: s1 on hold, talk to s2
        routed_b = b.commit_room(seen_b)
        seen_a.availability = "away"  # node A changes something else, its focus still the stale {s1}
        routed_a = a.commit_room(seen_a)
        assert routed_a > routed_b
        assert seen_a.focus == {"s2"} and seen_a.availability == "away"  # what A routes is what is stored
        assert seen_a.tiles[:2] == ["s1", "s2"]
    finally:
        a.close()
        b.close()
