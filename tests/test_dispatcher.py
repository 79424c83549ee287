"""The dispatcher's rule and the queues, as pure logic; and the day simulation."""

from __future__ import annotations

import random

from bench.queue_day import run as simulate_days
from signaling.core.dispatcher import AgentLoad, choose_agent
from signaling.core.queue import Queues
from signaling.core.session import Session


def load(agent_id, in_progress, last=0.0, capacity=6, skills=None, available=True):
    return AgentLoad(agent_id, capacity, in_progress, last, available, frozenset(skills) if skills else None)


def test_most_free_slots_first_then_longest_idle():
    assert choose_agent([load("a", 3), load("b", 1), load("c", 2)], "jht") == "b"
    assert choose_agent([load("a", 2, last=50.0), load("b", 2, last=10.0)], "jht") == "b"


def test_skills_capacity_and_availability_are_respected():
    agents = [load("a", 0, skills={"jkk"}), load("b", 5), load("c", 0, available=False)]
    assert choose_agent(agents, "jht") == "b"
    assert choose_agent(agents, "jkk") == "a"
    assert choose_agent([load("a", 6), load("b", 1, capacity=1)], "jht") is None
    assert choose_agent([], "jht") is None


def test_random_arrivals_never_exceed_capacity_and_serve_oldest_first():
    rng = random.Random(4)
    for trial in range(50):
        capacities = {f"a{i}": rng.randint(1, 6) for i in range(rng.randint(1, 4))}
        skills = {a: (None if rng.random() < 0.5 else frozenset(rng.sample(["jht", "jkk", "info"], 2))) for a in capacities}
        busy = {a: 0 for a in capacities}
        queues = Queues()
        order = []
        for n in range(40):
            s = Session(f"s{n}", "k", "b", 1, rng.choice(["jht", "jkk", "info"]), queued_at=float(n))
            queues.add(s)
            if rng.random() < 0.3:  # someone finishes
                a = rng.choice(list(busy))
                busy[a] = max(0, busy[a] - 1)
            for w in queues.oldest_first():
                chosen = choose_agent([load(a, busy[a], capacity=c, skills=skills[a]) for a, c in capacities.items()], w.service)
                if chosen is None:
                    continue
                busy[chosen] += 1
                assert busy[chosen] <= capacities[chosen]
                assert skills[chosen] is None or w.service in skills[chosen]
                queues.remove(w.session_id)
                order.append(w)
        # Within a service, members were served in arrival order.
        for service in ("jht", "jkk", "info"):
            served = [s.queued_at for s in order if s.service == service]
            assert served == sorted(served)


def test_a_rare_service_is_not_passed_over_forever():
    queues = Queues()
    rare = Session("rare", "k", "b", 1, "jkm", queued_at=0.0)
    queues.add(rare)
    for n in range(1, 30):
        queues.add(Session(f"s{n}", "k", "b", 1, "jht", queued_at=float(n)))
    # One all-skilled agent with one free slot: the oldest (the rare service) goes first.
    first = next(s for s in queues.oldest_first() if choose_agent([load("a", 5)], s.service))
    assert first.session_id == "rare"


def test_positions_per_service_and_transfer_keeps_place():
    queues = Queues()
    a = Session("a", "k1", "b", 1, "jht", queued_at=10.0)
    b = Session("b", "k2", "b", 2, "jkk", queued_at=20.0)
    c = Session("c", "k3", "b", 3, "jht", queued_at=30.0)
    for s in (a, b, c):
        queues.add(s)
    assert [queues.position(s) for s in (a, b, c)] == [1, 1, 2]
    # A member transferred from JHT to JKK keeps the time they first queued: ahead of b.
    late = Session("t", "k4", "b", 4, "jkk", queued_at=5.0)
    queues.add(late)
    assert queues.position(late) == 1 and queues.position(b) == 2


def test_wait_estimate_follows_recent_handling_and_able_slots():
    queues = Queues()
    assert queues.estimate(3, "jht", 0) is None  # nobody can serve: no number to promise
    for seconds in (300, 600, 900):
        queues.record_handling("jht", seconds)
    assert queues.mean_handling("jht") == 600
    assert queues.estimate(1, "jht", 6) == 100
    assert queues.estimate(6, "jht", 6) == 600
    assert queues.estimate(6, "jht", 12) == 300


def test_day_simulation_shows_capacity_six_against_one():
    rows = {(r["month"], r["capacity"]): r for r in simulate_days(seed=3)}
    for month in ("June", "July (surge)"):
        six, one = rows[(month, 6)], rows[(month, 1)]
        assert six["arrivals"] == one["arrivals"] > 0
        assert six["served"] == six["arrivals"]
        assert six["mean_wait_min"] < one["mean_wait_min"]
        assert six["p95_wait_min"] <= one["p95_wait_min"]
        assert 0 < six["occupancy"] <= 1 and 0 < one["occupancy"] <= 1


def test_one_dispatch_pass_spreads_waiting_members_over_the_freest_agents(tmp_path):
    """The hub's pass reads the loads once and follows each assignment: three waiting, three free agents, one each."""
    import asyncio

    from conftest import make_config
    from server.storage import Storage
    from signaling.core.vocabulary import AgentIdentity, KioskIdentity
    from signaling.hub import Hub
    from signaling.state.base import AgentRecord
    from test_dispatch_nodes import NoRouter, no_emit

    async def run() -> dict[str, int]:
        config = make_config(tmp_path, kiosks=3, agents=0)
        storage = Storage(tmp_path / "lapak.sqlite3", clock=config.clock)
        hub = Hub(config, storage, NoRouter(), no_emit)
        try:
            for i in range(1, 4):
                await hub.kiosk_connected(KioskIdentity(f"kiosk-{i}", branch="b", booth=i))
                await hub.start_session(KioskIdentity(f"kiosk-{i}", branch="b", booth=i), "jht", "id", "test")
            assert len(hub.state.queued()) == 3  # nobody to take them yet
            for i in range(1, 4):
                hub.state.put_agent(AgentRecord(AgentIdentity(f"agent-{i}", capacity=6), node="local"))
            await hub.dispatch()  # one pass, three waiting
            return {a.agent_id: len(a.sessions) for a in hub.state.agents()}
        finally:
            storage.close()

    assert asyncio.run(run()) == {"agent-1": 1, "agent-2": 1, "agent-3": 1}


def test_a_queue_change_reads_the_queue_and_the_agents_once_and_tells_what_each_booth_would_be_told(tmp_path):
    """Every waiting booth's position and estimate from one read, equal to the per-booth answer.

    With a backlog, each change tells every waiting booth: a read per waiting
    booth there makes each change cost more the further the node falls behind."""
    import asyncio

    from conftest import make_config
    from server.storage import Storage
    from signaling.changes import Changes
    from signaling.core.vocabulary import AgentIdentity, KioskIdentity
    from signaling.hub import Hub
    from signaling.state.base import AgentRecord
    from signaling.views import QueueSnapshot
    from test_dispatch_nodes import NoRouter

    told: list[tuple[str, dict]] = []

    async def emit(event, data, *, to, namespace):
        told.append((to, data))

    async def run() -> None:
        config = make_config(tmp_path, kiosks=6, agents=0)
        storage = Storage(tmp_path / "lapak.sqlite3", clock=config.clock)
        hub = Hub(config, storage, NoRouter(), emit)
        try:
            for i in range(1, 7):
                kiosk = KioskIdentity(f"kiosk-{i}", branch="b", booth=i)
                await hub.kiosk_connected(kiosk)
                await hub.start_session(kiosk, ("jht", "jkk")[i % 2], "id", "test")
            away = AgentRecord(AgentIdentity("agent-1", capacity=2, skills=frozenset({"jkk"})), node="local")
            away.availability = "away"  # counted in no one's slots, takes nobody
            hub.state.put_agent(away)
            queued = hub.state.queued()
            assert len(queued) == 6
            # Online and available, but put in place without a dispatch: the queue stays as it is.
            hub.state.put_agent(AgentRecord(AgentIdentity("agent-2", capacity=3, skills=frozenset({"jkk"})), node="local"))
            hub.state.put_agent(AgentRecord(AgentIdentity("agent-3", capacity=6), node="local"))
            snapshot = QueueSnapshot(hub, hub.state.queued())
            for s in queued:
                assert snapshot.position(s) == hub.queue_position(s), s.session_id
            assert {hub.queue_position(s)[1] is not None for s in queued} == {True}  # slots 6 (jht) and 9 (jkk)
            reads: dict[str, int] = {}

            def counted(name: str):
                real = getattr(hub.state, name)

                def read(*args, **kwargs):
                    reads[name] = reads.get(name, 0) + 1
                    return real(*args, **kwargs)

                return read

            for name in ("agents", "loads", "mean_handling", "estimate", "booths"):
                setattr(hub.state, name, counted(name))
            hub.notifier._told = type(hub.notifier._told)()  # tell every booth afresh
            told.clear()
            await hub.notifier.tell(Changes(queue=True))
            # The agents' loads once, the handling times once per service (two here), no agent record; and
            # the waiting booths' branch board (each booth was told its place afresh) from one read of its booths.
            assert reads == {"loads": 1, "mean_handling": 2, "booths": 1}, reads
            # A branch's board shows its waiting booths' positions, and reads no agent for them.
            from signaling.views import branch_views

            booths = [KioskIdentity(f"kiosk-{i}", branch="b", booth=i) for i in range(1, 7)]
            hub.branch_kiosks = lambda branch: booths  # not provisioned in the accounts: listed here
            expected = {s.kiosk_id: hub.queue_position(s)[0] for s in queued}
            reads.clear()
            board = branch_views(hub, ["b"])["b"]
            assert {b["kiosk_id"]: b["position"] for b in board["booths"]} == expected
            assert "agents" not in reads and "loads" not in reads, reads
            # Boards told of one change read their booths together, however many branches.

            reads.clear()
            hub.branch_kiosks = lambda branch: booths[:3] if branch == "b" else booths[3:]
            assert [len(v["booths"]) for v in branch_views(hub, ["b", "c"]).values()] == [3, 3]
            assert reads.get("booths") == 1, reads
            positions = {to: (d["position"], d["eta_seconds"]) for to, d in told if "position" in d}
            assert positions == {f"kiosk:{s.kiosk_id}": hub.queue_position(s) for s in queued}
        finally:
            storage.close()

    asyncio.run(run())
