"""The serving process's garbage collector, set for thousands of long-lived sockets.

A node holding 2,000 booths and 350 consoles tracks about half a million
objects (each socket's engine.io tasks, queues and timers). With CPython's
default thresholds (700, 10, 10) the objects of every event are collected
young while still alive, promoted, and soon trigger a full collection: every
few seconds, each walking all half million objects, 0.25–0.9 s with the node
at half a core. That pause, not the work, was the control plane's p95
(docs/performance.md, "Garbage collection").

:func:`settle`, once the service has started: collect once, freeze what
exists then (modules, the app, its engines: alive for the life of the
process, so no collection need walk them again), and raise the young
generation's threshold so that an event's objects have died by refcount
before a collection looks at them. Full collections still run, rarely; what
is frozen is never collected (nothing built before serving becomes garbage
in a cycle).
"""

from __future__ import annotations

import gc

#: (young, middle, old) thresholds: a young collection every 50,000 allocations rather than 700.
THRESHOLDS = (50_000, 20, 100)


def settle(thresholds: tuple[int, int, int] = THRESHOLDS) -> None:
    """Collect, freeze what is alive now, and set ``thresholds`` (call once, after start-up)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
