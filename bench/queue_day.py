"""Replay a branch day of arrivals through the real dispatcher: capacity 6 against capacity 1.

A discrete-time simulation (10 s steps) of one day, 08:00-16:00, with a
June-like month and a July-like surge (claims jumped after a rule change).
Members arrive per service (Poisson, a morning peak); the queues and the
assignment rule are Lapak's own (:class:`signaling.core.queue.Queues`,
:func:`signaling.core.dispatcher.choose_agent`). An agent serving ``n`` members
at once gives each ``1 / (n * attention)`` of the pace a single member gets
(capped at 1): members spend most of a session on self-service (forms,
documents), so ``attention`` is the share of a session the agent must talk.

Run: ``python -m bench.queue_day [--seed N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
from dataclasses import dataclass, field

from signaling.core.dispatcher import AgentLoad, choose_agent
from signaling.core.queue import Queues
from signaling.core.session import Session

OPEN, CLOSE = 8 * 3600, 16 * 3600
STEP = 10.0
#: Share of arrivals per service, and mean handling minutes when served alone.
MIX = {"jht": 0.58, "jkk": 0.10, "jkm": 0.07, "jp": 0.13, "info": 0.12}
HANDLING_MIN = {"jht": 14.0, "jkk": 12.0, "jkm": 12.0, "jp": 10.0, "info": 6.0}
#: Arrivals per hour at the branch cluster the agents serve.
MONTHS = {"June": 26.0, "July (surge)": 58.0}
#: The agents on shift: name and skills (None: every service).
AGENTS = [("agent-1", None), ("agent-2", None), ("agent-3", frozenset({"jht"})), ("agent-4", frozenset({"jkk", "jkm", "jp", "info"}))]
ATTENTION = 0.30


def arrival_rate(t: float, per_hour: float) -> float:
    """Arrivals per second at time-of-day ``t``: a morning peak around 09:30."""
    hour = t / 3600
    shape = 0.7 + 0.9 * math.exp(-((hour - 9.5) ** 2) / 2.0)
    return per_hour * shape / 1.25 / 3600


@dataclass
class SimAgent:
    agent_id: str
    skills: frozenset[str] | None
    capacity: int
    serving: dict[str, float] = field(default_factory=dict)  # session -> work left (s)
    last_assigned: float = 0.0
    busy_integral: float = 0.0


def simulate(per_hour: float, capacity: int, seed: int) -> dict:
    rng = random.Random(seed)  # arrivals and handling times: the same for every capacity
    work: dict[str, float] = {}
    queues = Queues()
    agents = [SimAgent(a, s, capacity) for a, s in AGENTS]
    sessions: dict[str, Session] = {}
    waits: list[float] = []
    last_assigned = float(OPEN)
    n = 0
    t = float(OPEN)
    while t < CLOSE or any(a.serving for a in agents):
        if t < CLOSE:
            for service, share in MIX.items():
                if rng.random() < arrival_rate(t, per_hour) * share * STEP:
                    n += 1
                    s = Session(f"s{n}", f"k{n}", "b", 1, service, queued_at=t)
                    sessions[s.session_id] = s
                    work[s.session_id] = rng.expovariate(1 / (HANDLING_MIN[service] * 60))
                    queues.add(s)
        for agent in agents:  # progress the sessions in hand
            k = len(agent.serving)
            pace = min(1.0, 1.0 / (k * ATTENTION)) if k else 0.0
            for sid in list(agent.serving):
                agent.serving[sid] -= STEP * pace
                if agent.serving[sid] <= 0:
                    del agent.serving[sid]
            if t < CLOSE:
                agent.busy_integral += len(agent.serving) * STEP
        for s in queues.oldest_first():  # the real dispatcher
            loads = [AgentLoad(a.agent_id, a.capacity, len(a.serving), a.last_assigned, True, a.skills) for a in agents]
            chosen = choose_agent(loads, s.service)
            if chosen is None:
                continue
            agent = next(a for a in agents if a.agent_id == chosen)
            agent.serving[s.session_id] = work[s.session_id]
            agent.last_assigned = t
            queues.remove(s.session_id)
            waits.append(t - (s.queued_at or t))
            last_assigned = t
        t += STEP
        if t > CLOSE + 6 * 3600:
            break
    day = CLOSE - OPEN
    waits_min = [w / 60 for w in waits]
    return {
        "arrivals": n,
        "served": len(waits),
        "mean_wait_min": round(statistics.fmean(waits_min), 1) if waits_min else 0.0,
        "p95_wait_min": round(sorted(waits_min)[int(0.95 * (len(waits_min) - 1))], 1) if waits_min else 0.0,
        "occupancy": round(sum(a.busy_integral for a in agents) / (day * sum(a.capacity for a in agents)), 2),
        "sessions_per_agent": round(sum(a.busy_integral for a in agents) / day / len(agents), 2),
        "last_served_at": f"{int(last_assigned // 3600):02d}:{int(last_assigned % 3600 // 60):02d}",
    }


def run(seed: int = 7) -> list[dict]:
    rows = []
    for month, per_hour in MONTHS.items():
        for capacity in (6, 1):
            rows.append({"month": month, "capacity": capacity, **simulate(per_hour, capacity, seed)})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rows = run(args.seed)
    if args.json:
        print(json.dumps(rows))
        return 0
    print(
        f"{'month':<14} {'capacity':>8} {'arrivals':>8} {'mean wait':>10} {'p95 wait':>9} "
        f"{'occupancy':>9} {'in progress/agent':>17} {'last served':>11}"
    )
    for r in rows:
        print(
            f"{r['month']:<14} {r['capacity']:>8} {r['arrivals']:>8} {r['mean_wait_min']:>8.1f} m "
            f"{r['p95_wait_min']:>7.1f} m {r['occupancy']:>9.2f} {r['sessions_per_agent']:>17.2f} {r['last_served_at']:>11}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
