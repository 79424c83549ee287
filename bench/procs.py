"""The benchmark's view of processes: free ports, CPU seconds, memory, the machine's load."""

from __future__ import annotations

import contextlib
import socket
import sys
from pathlib import Path

import psutil

PYTHON = sys.executable
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def _trees(pids: list[int]) -> list[psutil.Process]:
    """These processes and all their descendants, each once."""
    found: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs = [proc] + proc.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            found.setdefault(p.pid, p)
    return list(found.values())


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and all their descendants."""
    total = 0.0
    for p in _trees(pids):
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of these processes and all their descendants."""
    total = 0
    for p in _trees(pids):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def machine_busy() -> tuple[float, float]:
    """(busy seconds, total seconds) of the whole machine so far."""
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    total = sum(t)
    return total - idle, total
